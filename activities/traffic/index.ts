import { Context, log } from '@temporalio/activity';
import { durationMs } from '../../config/duration';
import { activityInput, pairOnlyInput, pairSiteInput } from '../activity-input';
import { httpProbe } from '../http-probe';
import type { RunbookRegistry } from '../runbooks';
import type { ProviderContext, TrafficVerifyResult } from './provider';
import type { TrafficProviders } from './providers';

export type {
  TrafficCheck,
  TrafficDrainResult,
  TrafficMember,
  TrafficProvider,
  TrafficState,
  TrafficSwitchResult,
  TrafficVerifyResult,
} from './provider';
export type { TrafficFailureType } from './errors';

export interface TrafficActivityDeps {
  runbooks: RunbookRegistry;
  providers: TrafficProviders;
}

function providerContext(): ProviderContext {
  const ctx = Context.current();
  return { heartbeat: (details) => ctx.heartbeat(details), signal: ctx.cancellationSignal };
}

export function createTrafficActivities({ runbooks, providers }: TrafficActivityDeps) {
  return {
    /** Which site receives the pair's traffic now. Changes nothing. */
    async trafficCurrentTarget(raw: { pair: string }) {
      const input = activityInput('trafficCurrentTarget', pairOnlyInput, raw);
      const state = await providers.get(input.pair).currentTarget(providerContext());
      log.info(state.description, { pair: input.pair, sites: state.sites });
      return state;
    },

    /** Sends all the pair's traffic to `site`. Idempotent: a no-op, saying so, when it is already there. */
    async trafficSwitch(raw: { pair: string; site: string }) {
      const input = activityInput('trafficSwitch', pairSiteInput, raw);
      const result = await providers.get(input.pair).switchTo(input.site, providerContext());
      log.info(result.description, { pair: input.pair, site: input.site, changed: result.changed });
      return result;
    },

    /** Stops sending new traffic to `site` without sending it elsewhere. Idempotent; says so when it cannot. */
    async trafficDrain(raw: { pair: string; site: string }) {
      const input = activityInput('trafficDrain', pairSiteInput, raw);
      const result = await providers.get(input.pair).drain(input.site, providerContext());
      log.info(result.description, { pair: input.pair, site: input.site, changed: result.changed });
      return result;
    },

    /**
     * Checks once, changing nothing, that `site` receives all the traffic: the provider's view, then (when the
     * runbook's traffic section has `entryUrl`) a GET of the public entry point, which must answer 2xx and,
     * if its JSON names a `site`, name this one. The workflow polls it with its probe thresholds.
     */
    async trafficVerify(raw: { pair: string; site: string }): Promise<TrafficVerifyResult> {
      const input = activityInput('trafficVerify', pairSiteInput, raw);
      const { runbook } = runbooks.get(input.pair);
      const ctx = providerContext();
      const result = await providers.get(input.pair).verify(input.site, ctx);
      const entryUrl = runbook.traffic?.entryUrl;
      if (entryUrl) {
        const sites = [runbook.sites.primary.name, runbook.sites.standby.name];
        const probe = await httpProbe(entryUrl, durationMs(runbook.probes.timeout), ctx.signal, sites);
        const ok = probe.ok && (probe.site === undefined || probe.site === input.site);
        const sentence = !probe.ok
          ? `the entry point ${entryUrl} fails: ${probe.detail}.`
          : probe.site === undefined
            ? `the entry point ${entryUrl} answers ${probe.status}.`
            : `the entry point ${entryUrl} answers ${probe.status} from site ${probe.site}.`;
        result.checks.push({ name: 'entry-point', ok, sentence });
        if (result.ok && !ok) {
          result.ok = false;
          result.description = `traffic is not verified for ${input.site}: ${sentence}`;
        } else if (result.ok) {
          result.description = `${result.description} ${sentence[0]!.toUpperCase()}${sentence.slice(1)}`;
        }
      }
      if (result.ok) log.info(result.description, { pair: input.pair, site: input.site });
      else log.warn(result.description, { pair: input.pair, site: input.site });
      return result;
    },
  };
}

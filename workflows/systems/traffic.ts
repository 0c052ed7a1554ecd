import { ApplicationFailure, patched, sleep } from '@temporalio/workflow';
import type { TrafficVerifyResult } from '../../activities/traffic';
import type { Check } from '../checks/check';
import type { System } from '../definitions';
import { errorText, type PlanStep } from '../steps';
import {
  FENCE_WINDOW_PATCH,
  type Observation,
  type RunContext,
  type SystemContribution,
  type SystemPlan,
} from './system';

/** The traffic switch: all traffic to the new site once it is promoted, then verified through the entry point. */
export function trafficContribution(): SystemContribution {
  return {
    system: 'traffic',

    async observe(ctx, { perSystem }) {
      return perSystem ? observeTraffic(ctx) : [];
    },

    async assess(ctx: RunContext): Promise<Check[]> {
      try {
        const state = await ctx.call(
          'read',
          'trafficCurrentTarget',
          { pair: ctx.settings.pair },
          'where traffic goes',
        );
        const onFrom = state.sites.length === 1 && state.sites[0] === ctx.from;
        return [
          {
            name: 'traffic.target',
            ok: onFrom || !ctx.planned,
            sentence: onFrom
              ? `traffic goes to ${ctx.from}, as expected before the move: ${state.description}`
              : `traffic does not go to ${ctx.from} alone: ${state.description}`,
          },
        ];
      } catch (err) {
        return [
          {
            name: 'traffic.target',
            ok: false,
            sentence: `the traffic switch does not answer: ${String((err as Error).message)}.`,
          },
        ];
      }
    },

    async plan(ctx: RunContext): Promise<SystemPlan> {
      const pair = ctx.settings.pair;
      const steps: PlanStep[] = [
        ...(patched(FENCE_WINDOW_PATCH) ? [targetHealthStep(ctx)] : []),
        drainStep(ctx),
        {
          id: 'traffic.switch',
          phase: 'switch',
          system: 'traffic',
          title: `switch traffic to ${ctx.to}`,
          target: ctx.settings.traffic!.provider,
          run: async () =>
            (await ctx.call('long', 'trafficSwitch', { pair, site: ctx.to }, `switch traffic to ${ctx.to}`))
              .description,
        },
        {
          id: 'traffic.verify',
          phase: 'verify',
          system: 'traffic',
          title: `verify that ${ctx.to} serves the traffic through the public entry point`,
          target: ctx.settings.traffic!.provider,
          run: () => verifyWithin(ctx),
        },
      ];
      return { steps };
    },
  };
}

const PROVIDER_NAMES: Record<string, string> = {
  haproxy: 'HAProxy',
  'ovh-iplb': 'the OVH IP Load Balancer',
  'ovh-dns': 'OVH DNS',
  'ovh-cloud-lb': 'the OVH Public Cloud Load Balancer',
};

/**
 * What the traffic switch tells of the primary site, read once per round: the worker's GET of the public entry
 * point (the runbook's `traffic.entryUrl`) is the worker's view of the traffic system; the switch's own health check
 * of the site's servers (HAProxy's; the OVH providers have none the API shows) is the witness of both the traffic
 * system and the applications, a vantage that is not the worker's.
 */
async function observeTraffic(ctx: RunContext): Promise<Observation[]> {
  const site = ctx.from;
  const provider = PROVIDER_NAMES[ctx.settings.traffic!.provider] ?? ctx.settings.traffic!.provider;
  const healthCheck = `${provider} health check of ${site}`;
  const withApps = ctx.settings.apps.some((h) => h.site === site);
  const witnesses = (down: boolean | undefined, sentence: string): Observation[] =>
    (['traffic', ...(withApps ? ['apps'] : [])] as System[]).map((system) => ({
      system,
      vantage: healthCheck,
      kind: 'peer',
      down,
      sentence,
    }));
  let r: TrafficVerifyResult;
  try {
    r = await ctx.call(
      'read',
      'trafficVerify',
      { pair: ctx.settings.pair, site },
      `the entry point and ${site}'s servers as the traffic switch sees them`,
    );
  } catch (err) {
    const why = `the traffic switch does not answer (${errorText(err)})`;
    return [
      {
        system: 'traffic',
        vantage: 'worker → entry point',
        kind: 'worker',
        down: undefined,
        sentence: `${why}, so the worker cannot tell whether the entry point serves ${site}.`,
      },
      ...witnesses(undefined, `${why}, so its health check of ${site} cannot tell.`),
    ];
  }
  const entry = r.checks.find((c) => c.name === 'entry-point');
  const members = r.state.members.filter((m) => m.site === site);
  const checked = members.filter((m) => m.healthy !== undefined);
  const servers = members.map((m) => m.description).join(', ');
  return [
    {
      system: 'traffic',
      vantage: 'worker → entry point',
      kind: 'worker',
      down: entry ? !entry.ok : undefined,
      sentence: entry
        ? entry.sentence
        : 'the runbook gives no entry point (traffic.entryUrl), so the worker cannot tell whether it serves the site.',
    },
    ...witnesses(
      checked.length === 0 ? undefined : checked.every((m) => !m.healthy),
      checked.length === 0
        ? `${provider} runs no health check of ${site}'s servers, so it cannot tell (${servers || 'none'}).`
        : checked.every((m) => !m.healthy)
          ? `${provider}'s health check fails on ${site} (${servers}).`
          : `${provider}'s health check passes on ${site} (${servers}).`,
    ),
  ];
}

/**
 * Fencing starts by taking the old site out of the traffic switch, so its clients stop writing before its databases
 * are fenced; until the switch they get errors from the entry point. Undone by always sending the traffic back (the
 * switch is idempotent): a worker killed after the switch applied the drain, before the run saw its answer, must
 * not leave the old site without traffic. Runs started before the patch undid it only when they saw it change
 * something.
 */
function drainStep(ctx: RunContext): PlanStep {
  const pair = ctx.settings.pair;
  let drained = false;
  return {
    id: 'traffic.drain',
    phase: 'fence',
    system: 'traffic',
    title: `stop sending traffic to ${ctx.from}`,
    target: ctx.settings.traffic!.provider,
    compensation: `send the traffic back to ${ctx.from}`,
    run: async () => {
      const r = await ctx.call(
        'long',
        'trafficDrain',
        { pair, site: ctx.from },
        `drain traffic from ${ctx.from}`,
      );
      drained = r.changed;
      return r.description;
    },
    undo: async () => {
      if (!patched('drain-undo-always') && !drained)
        return `the drain of ${ctx.from} changed nothing; nothing to undo.`;
      const r = await ctx.call(
        'long',
        'trafficSwitch',
        { pair, site: ctx.from },
        `traffic back to ${ctx.from}`,
      );
      return r.description;
    },
  };
}

/**
 * Before the fence, the switch's view of the new site's servers: while the switch's health check fails on every one
 * of them (a freshly started app HAProxy has not seen up yet), it is read again with backoff from a few ms, up to
 * the runbook's traffic switch timeout; then the step fails, before anything is fenced. A switch without a health
 * check of them (HAProxy servers in maintenance, the OVH providers) cannot tell, and the step says so.
 */
function targetHealthStep(ctx: RunContext): PlanStep {
  const site = ctx.to;
  return {
    id: 'traffic.check-target',
    phase: 'warm-up',
    system: 'traffic',
    title: `check that the traffic switch sees ${site}'s servers healthy`,
    target: ctx.settings.traffic!.provider,
    run: async () => {
      const deadline = Date.now() + ctx.settings.timeouts.trafficSwitchMs;
      let pauseMs = 5;
      for (;;) {
        const state = await ctx.call(
          'read',
          'trafficCurrentTarget',
          { pair: ctx.settings.pair },
          `${site}'s servers as the traffic switch sees them`,
        );
        const members = state.members.filter((m) => m.site === site);
        const known = members.filter((m) => m.healthy !== undefined);
        const names = members.map((m) => m.description).join(', ');
        if (known.length === 0)
          return `the traffic switch runs no health check of ${site}'s servers now, so it cannot tell (${names || 'none'}).`;
        if (known.some((m) => m.healthy))
          return `the traffic switch sees ${site}'s servers healthy (${names}).`;
        if (Date.now() >= deadline)
          throw ApplicationFailure.nonRetryable(
            `the traffic switch's health check fails on every server of ${site} (${names}) after ${ctx.settings.timeouts.trafficSwitchMs / 1000} s; nothing was fenced`,
            'TrafficTargetUnhealthy',
          );
        await sleep(pauseMs);
        pauseMs = Math.min(pauseMs * 2, 1000);
      }
    },
  };
}

/**
 * Verifies the new site through the public entry point, again every probe interval while it does not pass (just
 * after a switch the entry point may still be draining a burst, or a DNS cache still be warm), for at most the
 * runbook's traffic switch timeout. Then a failure is TrafficNotVerified, for a human to look at.
 */
async function verifyWithin(ctx: RunContext): Promise<string> {
  const deadline = Date.now() + ctx.settings.timeouts.trafficSwitchMs;
  for (;;) {
    const r = await ctx.call(
      'read',
      'trafficVerify',
      { pair: ctx.settings.pair, site: ctx.to },
      `verify traffic on ${ctx.to}`,
    );
    if (r.ok) return r.description;
    if (Date.now() >= deadline)
      throw ApplicationFailure.nonRetryable(
        `${r.description} (still so after ${ctx.settings.timeouts.trafficSwitchMs / 1000} s)`,
        'TrafficNotVerified',
      );
    await sleep(ctx.settings.probes.intervalMs);
  }
}

import { ApplicationFailure, patched, sleep } from '@temporalio/workflow';
import type { Check } from '../checks/check';
import type { PlanStep } from '../steps';
import type { RunContext, SystemContribution, SystemPlan } from './system';

/** The traffic switch: all traffic to the new site once it is promoted, then verified through the entry point. */
export function trafficContribution(): SystemContribution {
  return {
    system: 'traffic',

    async observe() {
      return [];
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

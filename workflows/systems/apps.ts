import { patched } from '@temporalio/workflow';
import type { Check } from '../checks/check';
import type { PlanStep } from '../steps';
import {
  FENCE_WINDOW_PATCH,
  type Observation,
  type RunContext,
  type SystemContribution,
  type SystemPlan,
} from './system';

/**
 * The application hosts: the standby site's apps are started and must pass their health check `rise` times in
 * a row. Undone by stopping the ones that were not already healthy before the run. With the fence window, the
 * apps the assessment did not see healthy are started before the fence, and every app is probed once more inside.
 */
export function appsContribution(): SystemContribution {
  const healthyBefore = new Set<string>();
  const hosts = (ctx: RunContext, site: string) => ctx.settings.apps.filter((h) => h.site === site);
  const probe = (ctx: RunContext, host: string) =>
    ctx.call('read', 'appHealth', { pair: ctx.settings.pair, host }, `health of ${host}`);

  return {
    system: 'apps',

    async observe(ctx): Promise<Observation[]> {
      return Promise.all(
        hosts(ctx, ctx.from).map(async (h): Promise<Observation> => {
          const r = await probe(ctx, h.name);
          return {
            system: 'apps',
            vantage: `worker → app ${h.name}`,
            kind: 'worker',
            down: !r.ok,
            sentence: r.ok
              ? `${h.name} answers its health check.`
              : `${h.name} fails its health check (${r.detail}).`,
          };
        }),
      );
    },

    async assess(ctx): Promise<Check[]> {
      healthyBefore.clear();
      return Promise.all(
        hosts(ctx, ctx.to).map(async (h): Promise<Check> => {
          const r = await probe(ctx, h.name);
          if (r.ok) healthyBefore.add(h.name);
          return {
            name: `app-${h.name}.known`,
            ok: true,
            sentence: r.ok
              ? `standby app ${h.name} is already healthy.`
              : `standby app ${h.name} is not running yet (${r.detail}); it will be started.`,
          };
        }),
      );
    },

    async plan(ctx): Promise<SystemPlan> {
      const pair = ctx.settings.pair;
      const start = (host: string) =>
        ctx.call('apps', 'appStart', { pair, host }, `start ${host}`).then((r) => r.description);
      const startStep = (h: { name: string }, phase: PlanStep['phase']): PlanStep => ({
        id: `apps.start.${h.name}`,
        phase,
        system: 'apps',
        title: `start app ${h.name} and wait for its health check`,
        target: h.name,
        compensation: healthyBefore.has(h.name) ? undefined : `stop ${h.name} again`,
        run: () => start(h.name),
        undo: healthyBefore.has(h.name)
          ? undefined
          : async () =>
              (await ctx.call('apps', 'appStop', { pair, host: h.name }, `stop ${h.name}`)).description,
      });
      if (!patched(FENCE_WINDOW_PATCH))
        return { steps: hosts(ctx, ctx.to).map((h) => startStep(h, 'prepare')) };
      // Started (and healthy) before the fence; inside the window each app is only probed once more.
      const toStart = hosts(ctx, ctx.to).filter((h) => !healthyBefore.has(h.name));
      const recheck = hosts(ctx, ctx.to).map((h): PlanStep => ({
        id: `apps.check.${h.name}`,
        phase: 'prepare',
        system: 'apps',
        title: `probe app ${h.name} once more (started again if it fails)`,
        target: h.name,
        run: async () => {
          const r = await probe(ctx, h.name);
          if (r.ok) return `${h.name} still answers its health check.`;
          return `${h.name} failed its health check (${r.detail}), so it was started again: ${await start(h.name)}`;
        },
      }));
      return { steps: [...toStart.map((h) => startStep(h, 'warm-up')), ...recheck] };
    },
  };
}

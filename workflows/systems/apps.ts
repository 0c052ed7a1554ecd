import type { Check } from '../checks/check';
import type { PlanStep } from '../steps';
import type { Observation, RunContext, SystemContribution, SystemPlan } from './system';

/**
 * The application hosts: the standby site's apps are started and must pass their health check `rise` times in
 * a row. Undone by stopping the ones that were not already healthy before the run.
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
      const steps = hosts(ctx, ctx.to).map((h): PlanStep => ({
        id: `apps.start.${h.name}`,
        phase: 'prepare',
        system: 'apps',
        title: `start app ${h.name} and wait for its health check`,
        target: h.name,
        compensation: healthyBefore.has(h.name) ? undefined : `stop ${h.name} again`,
        run: async () =>
          (await ctx.call('apps', 'appStart', { pair, host: h.name }, `start ${h.name}`)).description,
        undo: healthyBefore.has(h.name)
          ? undefined
          : async () =>
              (await ctx.call('apps', 'appStop', { pair, host: h.name }, `stop ${h.name}`)).description,
      }));
      return { steps };
    },
  };
}

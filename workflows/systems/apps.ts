import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { AppConfigSettings, PairSettings } from '../../activities/pair-settings';
import type { Check } from '../checks/check';
import { errorText, type PlanStep } from '../steps';
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
  /** What each written configuration (template, DNS) of the standby's apps pointed at when assessed. */
  const configBefore = new Map<string, string | undefined>();
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
      configBefore.clear();
      const health = Promise.all(
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
      const written = writtenConfigs(ctx.settings, ctx.to);
      const configs = Promise.all(
        written.length > 0 && patched(APP_CONFIG_PATCH)
          ? written.map((h) => assessConfig(ctx, h, configBefore))
          : [],
      );
      return [...(await health), ...(await configs)];
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
      const config = configPlan(ctx, configBefore);
      const afterConfig = (h: { name: string }, step: PlanStep): PlanStep =>
        config.steps.some((c) => c.id === configStepId(h.name))
          ? { ...step, after: configStepId(h.name) }
          : step;
      if (!patched(FENCE_WINDOW_PATCH))
        return withConfig(
          config,
          hosts(ctx, ctx.to).map((h) => afterConfig(h, startStep(h, 'prepare'))),
        );
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
      return withConfig(config, [...toStart.map((h) => afterConfig(h, startStep(h, 'warm-up'))), ...recheck]);
    },
  };
}

/**
 * Runs whose standby apps' configuration follows the promotion (the runbook's `apps.hosts[].config`): a fixed
 * endpoint checked against the promoted server, a template or a DNS record brought to it before the app starts.
 */
export const APP_CONFIG_PATCH = 'app-config-follows-promotion';

type ConfiguredHost = PairSettings['apps'][number] & { config: AppConfigSettings };
type WrittenHost = PairSettings['apps'][number] & {
  config: Exclude<AppConfigSettings, { kind: 'fixed' }>;
};

const configStepId = (host: string) => `apps.config.${host}`;

/**
 * The apps of `site` whose runbook entry says how they find their database (the settings of the oldest workers, in
 * kept readiness histories, have no apps at all).
 */
const configuredHosts = (settings: PairSettings, site: string) =>
  (settings.apps ?? []).filter((h): h is ConfiguredHost => h.site === site && h.config !== undefined);

/** The apps of `site` whose configuration the orchestrator writes (a template or a DNS record). */
export const writtenConfigs = (settings: PairSettings, site: string) =>
  configuredHosts(settings, site).filter((h): h is WrittenHost => h.config.kind !== 'fixed');

const describeConfig = (c: WrittenHost['config']) =>
  c.kind === 'template' ? `file ${c.path}` : `DNS record ${c.record}`;

/** The configuration steps first, then the others; the notes say what the plan assumes of each app. */
function withConfig(config: SystemPlan, steps: PlanStep[]): SystemPlan {
  return { steps: [...config.steps, ...steps], ...(config.notes?.length ? { notes: config.notes } : {}) };
}

/** Reads a written configuration before the move: it must be readable (and its template render), or no go. */
async function assessConfig(
  ctx: RunContext,
  h: WrittenHost,
  before: Map<string, string | undefined>,
): Promise<Check> {
  const name = `app-${h.name}.config`;
  try {
    const r = await ctx.call(
      'read',
      'appConfigRead',
      { pair: ctx.settings.pair, host: h.name },
      `read ${h.name}'s configuration`,
    );
    before.set(h.name, r.pointsAt);
    return { name, ok: true, sentence: r.description };
  } catch (err) {
    return {
      name,
      ok: false,
      sentence: `the configuration of standby app ${h.name} (${describeConfig(h.config)}) cannot be read: ${errorText(err)}`,
    };
  }
}

/**
 * The standby apps' configuration and the promoted MySQL server: a fixed endpoint must reach it (or the plan is
 * refused), a template or a DNS record is brought to it before the app starts (in the warm-up with the fence
 * window: the promoted server stays read-only until its promotion, so the app's writes are refused until then).
 */
function configPlan(ctx: RunContext, before: Map<string, string | undefined>): SystemPlan {
  const configured = configuredHosts(ctx.settings, ctx.to);
  // Apps without a config: a fixed endpoint nothing checks, as before the setting; only said (no command).
  const unsaid = (ctx.settings.apps ?? []).filter((h) => h.site === ctx.to && h.config === undefined);
  const assumed = ctx.promoted?.mysql
    ? unsaid.map(
        (h) =>
          `the runbook does not say how ${h.name} finds its database: the plan assumes its fixed endpoint reaches ${ctx.promoted!.mysql}, the server promoted (apps.hosts[].config has it checked or followed).`,
      )
    : [];
  if (configured.length === 0 || !patched(APP_CONFIG_PATCH)) return { steps: [], notes: assumed };
  const promoted = ctx.promoted?.mysql;
  if (!promoted)
    throw ApplicationFailure.nonRetryable(
      'the apps cannot be configured: the plan has not chosen the MySQL server to promote',
      'InternalError',
    );
  const notes: string[] = [...assumed];
  const steps: PlanStep[] = [];
  const phase = patched(FENCE_WINDOW_PATCH) ? ('warm-up' as const) : ('prepare' as const);
  for (const h of configured) {
    if (h.config.kind === 'fixed') {
      notes.push(fixedEndpointNote(h.name, h.config.database, promoted));
      continue;
    }
    steps.push(configStep(ctx, { ...h, config: h.config }, promoted, before.get(h.name), phase));
    notes.push(
      `${h.name}'s ${describeConfig(h.config)} is pointed at ${promoted} ${phase === 'warm-up' ? 'in the warm-up, ' : ''}before the app starts: ${promoted} refuses writes until its promotion, and the app gets traffic only after the switch, so no write it acknowledges goes to a server that is not the final primary.${h.config.kind === 'ovh-dns' ? ' Resolvers may give the previous server until the TTL passes: that one is a read-only replica or the fenced old primary, so writes sent there are refused, not lost.' : ''}`,
    );
  }
  return { steps, notes };
}

/** A fixed endpoint: refused when it is known to reach another server than the promoted one. */
function fixedEndpointNote(host: string, database: string | undefined, promoted: string): string {
  if (database === undefined)
    return `${host}'s endpoint is fixed and the runbook does not say which server it reaches: the plan assumes it reaches ${promoted}, the server promoted.`;
  if (database === promoted) return `${host}'s fixed endpoint reaches ${database}, the server promoted.`;
  throw ApplicationFailure.nonRetryable(
    `${host}'s fixed endpoint reaches ${database} (its config.database), but the plan promotes ${promoted}: the app would write to a read-only replica. List ${database} first among its site's servers in the runbook (a planned move then promotes it), or give ${host} a template or ovh-dns config that follows the promotion.`,
    'AppEndpointMismatch',
  );
}

function configStep(
  ctx: RunContext,
  h: WrittenHost,
  promoted: string,
  before: string | undefined,
  phase: PlanStep['phase'],
): PlanStep {
  const pair = ctx.settings.pair;
  // A DNS change waits for its zone (as a traffic switch); a file's reload may restart the app (as a start).
  const preset = h.config.kind === 'ovh-dns' ? ('long' as const) : ('apps' as const);
  // A DNS record goes back to the server it pointed at; one that pointed at none the runbook knows stays.
  const undoable = h.config.kind === 'template' || before !== undefined;
  return {
    id: configStepId(h.name),
    phase,
    system: 'apps',
    title: `point ${h.name}'s ${describeConfig(h.config)} at ${promoted}`,
    target: h.name,
    compensation: !undoable
      ? undefined
      : h.config.kind === 'template'
        ? `put back what ${h.config.path} held before`
        : `point the record back at ${before}`,
    run: async () =>
      (
        await ctx.call(
          preset,
          'appConfigApply',
          { pair, host: h.name, server: promoted },
          `point ${h.name} at ${promoted}`,
        )
      ).description,
    undo: undoable
      ? async () =>
          (
            await ctx.call(
              preset,
              'appConfigRestore',
              { pair, host: h.name, ...(h.config.kind === 'ovh-dns' ? { server: before } : {}) },
              `put ${h.name}'s configuration back`,
            )
          ).description
      : undefined,
  };
}

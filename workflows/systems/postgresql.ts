import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { PgSalvageResult, PgServerStatus, RejoinResult } from '../../activities/postgresql';
import type { PairSettings } from '../../activities/pair-settings';
import { lsnDiff } from '../../common/pg-lsn';
import type { Check } from '../checks/check';
import type { DataLossEstimate } from '../definitions';
import type { PlanStep } from '../steps';
import type { Observation, RunContext, SystemContribution, SystemPlan } from './system';

type PgSettings = NonNullable<PairSettings['postgresql']>;

/** Unplanned runs since it salvage the dead primary's WAL onto the standby before promoting it. */
export const PG_WAL_SALVAGE_PATCH = 'postgresql-wal-salvage';
type PgServer = PgSettings['servers'][number];

/** The PostgreSQL server of `site` (the runbook has one per site). */
export const pgServerOf = (settings: PairSettings, site: string): PgServer =>
  settings.postgresql!.servers.find((s) => s.site === site)!;

/**
 * PostgreSQL streaming replication: the old primary is stopped (`pg_ctl stop -m fast` over SSH: a stopped server takes
 * no write, which default_transaction_read_only cannot promise), the standby replays everything it wrote (planned:
 * past its shutdown checkpoint, the last record a clean stop writes) and is promoted with pg_promote; planned, the old
 * primary then follows the new one as a standby (pg_rewind finds nothing to rewind after a clean switchover).
 */
export function postgresqlContribution(): SystemContribution {
  let statuses: PgServerStatus[] = [];
  const read = async (ctx: RunContext) => {
    statuses = await ctx.call(
      'read',
      'pgServerStatuses',
      { pair: ctx.settings.pair },
      'read every PostgreSQL server',
    );
    return statuses;
  };
  const statusOf = (name: string) => statuses.find((s) => s.server === name);

  return {
    system: 'postgresql',

    async observe(ctx): Promise<Observation[]> {
      await read(ctx);
      const primary = pgServerOf(ctx.settings, ctx.from);
      const standby = pgServerOf(ctx.settings, ctx.to);
      const p = statusOf(primary.name);
      const s = statusOf(standby.name);
      const receiver = s?.walReceiver;
      return [
        {
          system: 'postgresql',
          vantage: `worker → ${primary.name}`,
          kind: 'worker',
          down: !p?.reachable,
          sentence: p?.reachable
            ? `the worker reaches ${primary.name}.`
            : `the worker cannot reach ${primary.name} (${p?.error?.type ?? 'no answer'}).`,
        },
        {
          system: 'postgresql',
          vantage: `${standby.name} WAL receiver`,
          kind: 'peer',
          down: s?.reachable && s.inRecovery ? receiver?.status !== 'streaming' : undefined,
          sentence: !s?.reachable
            ? `${standby.name} does not answer, so it cannot tell.`
            : !s.inRecovery
              ? `${standby.name} is not a standby, so it cannot tell.`
              : receiver?.status === 'streaming'
                ? `${standby.name} still streams from its primary.`
                : `${standby.name} has lost its primary (WAL receiver ${receiver?.status ?? 'not running'}).`,
        },
      ];
    },

    async assess(ctx): Promise<Check[]> {
      return evaluatePgReadiness(ctx.settings, await read(ctx), ctx.from, ctx.to, ctx.planned);
    },

    async plan(ctx): Promise<SystemPlan> {
      const pair = ctx.settings.pair;
      const primary = pgServerOf(ctx.settings, ctx.from).name;
      const standby = pgServerOf(ctx.settings, ctx.to).name;
      const before = statusOf(primary);
      const wasRunning = !!before?.reachable && !before.inRecovery;
      let shutdownLsn: string | undefined;
      const steps: PlanStep[] = [
        {
          id: 'postgresql.fence',
          phase: 'fence',
          system: 'postgresql',
          title: `stop PostgreSQL primary ${primary} (pg_ctl stop -m fast)`,
          target: primary,
          compensation: ctx.planned && wasRunning ? `start ${primary} again as the primary` : undefined,
          run: async () => {
            const r = await ctx.call(
              ctx.planned ? 'change' : 'read',
              'pgStopServer',
              { pair, server: primary },
              `stop ${primary}`,
            );
            if (ctx.planned && !r.cleanShutdown)
              throw ApplicationFailure.nonRetryable(
                `${r.description} Without a clean stop its last WAL record is not known, so no switchover can promise zero loss: a human must look.`,
                'NotCleanlyStopped',
              );
            shutdownLsn = r.control.checkpointLsn;
            return r.description;
          },
          undo:
            ctx.planned && wasRunning
              ? async () =>
                  (await ctx.call('change', 'pgStartServer', { pair, server: primary }, `start ${primary}`))
                    .description
              : undefined,
        },
        {
          id: 'postgresql.catch-up',
          phase: 'prepare',
          system: 'postgresql',
          title: ctx.planned
            ? `let ${standby} replay past ${primary}'s shutdown checkpoint`
            : `let ${standby} replay everything it received`,
          target: standby,
          run: async () => {
            const r = await ctx.call(
              'catchUp',
              'pgCatchUp',
              {
                pair,
                server: standby,
                timeoutMs: ctx.settings.timeouts.replicaCatchUpMs,
                ...(ctx.planned && shutdownLsn ? { untilLsn: shutdownLsn } : {}),
              },
              `catch up ${standby}`,
            );
            if (!ctx.planned) ctx.reviseDataLoss(unplannedLoss(primary, standby, before, r.replayLsn));
            return r.description;
          },
        },
        {
          id: 'postgresql.promote',
          phase: 'promote',
          system: 'postgresql',
          title: `promote PostgreSQL standby ${standby} (pg_promote)`,
          target: standby,
          run: async () =>
            (await ctx.call('change', 'pgPromote', { pair, server: standby }, `promote ${standby}`))
              .description,
        },
      ];
      const salvage = !ctx.planned && patched(PG_WAL_SALVAGE_PATCH);
      if (salvage) steps.splice(2, 0, salvageStep(ctx, primary, standby));
      if (ctx.planned) steps.push(rejoinStep(ctx, primary, standby, 'verify'));
      if (ctx.planned)
        return {
          steps,
          dataLoss: {
            system: 'postgresql',
            count: 0,
            unit: 'bytes of WAL',
            sentence: `none: ${primary} is stopped cleanly first, and ${standby} is promoted only once it has replayed past ${primary}'s shutdown checkpoint, the last record it wrote.`,
          },
        };
      const loss = unplannedLoss(primary, standby, before, statusOf(standby)?.receiveLsn ?? undefined);
      if (salvage)
        loss.sentence += ` ${primary}'s WAL is salvaged over SSH before the promotion, which tells.`;
      return { steps, dataLoss: loss };
    },
  };
}

/**
 * Unplanned: what the dead primary's pg_wal holds beyond what the standby received is copied into the standby's
 * pg_wal and replayed, once the standby has replayed what it received. Nothing to undo: the standby only replays more
 * of the same primary's WAL, and stays a standby.
 */
function salvageStep(ctx: RunContext, primary: string, standby: string): PlanStep {
  return {
    id: 'postgresql.salvage',
    phase: 'prepare',
    system: 'postgresql',
    title: `salvage onto ${standby} what ${primary}'s WAL holds beyond it`,
    target: standby,
    after: 'postgresql.catch-up',
    run: async () => {
      const r = await ctx.call(
        'salvage',
        'pgSalvageWal',
        {
          pair: ctx.settings.pair,
          server: standby,
          from: primary,
          timeoutMs: ctx.settings.timeouts.salvageMs ?? 120_000,
        },
        `salvage ${primary}'s WAL onto ${standby}`,
      );
      ctx.reviseDataLoss(pgSalvageDataLoss(r));
      return r.description;
    },
  };
}

/** The PostgreSQL data loss once the WAL salvage has run: none, or what it could not take and why. */
export function pgSalvageDataLoss(r: PgSalvageResult): DataLossEstimate {
  const base = { system: 'postgresql' as const, unit: 'bytes of WAL' as const, recovered: r.salvagedBytes };
  if (!r.possible)
    return {
      ...base,
      sentence: `WAL salvage impossible: ${r.impossible}; what ${r.from} wrote beyond what ${r.server} received${r.receivedLsn ? ` (${r.receivedLsn})` : ''} is lost (how much is unknown).`,
    };
  if (r.timedOut && r.endLsn && r.replayLsn)
    return {
      ...base,
      count: Math.max(0, lsnDiff(r.endLsn, r.replayLsn)),
      sentence: `${r.salvagedBytes} byte(s) of WAL salvaged from ${r.from}, but the runbook's salvage timeout ended the wait: what ${r.from} wrote from ${r.replayLsn} to ${r.endLsn} is lost.`,
    };
  return {
    ...base,
    count: 0,
    sentence: `none: ${r.salvagedBytes} byte(s) of WAL salvaged from ${r.from}'s pg_wal onto ${r.server}, which has replayed everything ${r.from} wrote${r.endLsn ? ` (up to ${r.endLsn})` : ''}.`,
  };
}

/** What an unplanned promotion loses: the old primary's WAL past what the standby received, when both are known. */
function unplannedLoss(
  primary: string,
  standby: string,
  before: PgServerStatus | undefined,
  received: string | undefined,
): DataLossEstimate {
  const last = before?.reachable && !before.inRecovery ? before.currentLsn : undefined;
  const base = { system: 'postgresql' as const, unit: 'bytes of WAL' as const };
  if (!received)
    return { ...base, sentence: `unknown: ${standby} cannot say how much WAL it received from ${primary}.` };
  if (!last)
    return {
      ...base,
      sentence: `unknown: ${standby} has WAL up to ${received}; what ${primary} wrote after that is lost, and ${primary} cannot be read to say how much (the failback's pg_rewind says what it discards).`,
    };
  const gap = Math.max(0, lsnDiff(last, received));
  return {
    ...base,
    count: gap,
    sentence: `${gap} byte(s) of WAL: ${primary} was last seen at ${last}, ${standby} has WAL up to ${received}.`,
  };
}

/**
 * `server` (an old primary) becomes a streaming standby of `source`: pg_rewind (after a CHECKPOINT on the source), then
 * standby.signal and primary_conninfo. What pg_rewind discarded is told as a loss of the run.
 */
export function rejoinStep(
  ctx: RunContext,
  server: string,
  source: string,
  phase: PlanStep['phase'],
  onRewound?: (r: RejoinResult) => void,
): PlanStep {
  return {
    id: `postgresql.rejoin.${server}`,
    phase,
    system: 'postgresql',
    title: `make ${server} a streaming standby of ${source} (pg_rewind)`,
    target: server,
    run: async () => {
      const r = await ctx.call(
        'rebuild',
        'pgRejoinAsStandby',
        { pair: ctx.settings.pair, server, source },
        `make ${server} a standby of ${source}`,
      );
      onRewound?.(r);
      return r.description;
    },
  };
}

/**
 * Whether `to`'s server can take over from `from`'s: it answers and is a standby; planned (and in the readiness
 * check), also: `from`'s answers as the primary, the standby streams from it within maxLagBytes, and pg_rewind could
 * bring `from`'s back as a standby later.
 */
export function evaluatePgReadiness(
  settings: PairSettings,
  statuses: PgServerStatus[],
  from: string,
  to: string,
  planned: boolean,
): Check[] {
  const primary = pgServerOf(settings, from);
  const standby = pgServerOf(settings, to);
  const statusOf = (name: string) => statuses.find((s) => s.server === name);
  const checks = standbyChecks(standby, statusOf(standby.name));
  if (!planned) return checks;
  return [
    ...checks,
    ...plannedChecks(settings.postgresql!, primary, standby, statusOf(primary.name), statusOf(standby.name)),
  ];
}

function standbyChecks(standby: PgServer, s: PgServerStatus | undefined): Check[] {
  const name = `${standby.name}`;
  if (!s?.reachable)
    return [
      {
        name: `${name}.reachable`,
        ok: false,
        sentence: `${name} does not answer (${s?.error?.message ?? 'no answer'}).`,
      },
    ];
  return [
    { name: `${name}.reachable`, ok: true, sentence: `${name} answers (PostgreSQL ${s.version}).` },
    {
      name: `${name}.standby`,
      ok: !!s.inRecovery,
      sentence: s.inRecovery
        ? `${name} is a standby, to be promoted.`
        : `${name} is not a standby (not in recovery): it has been promoted already, or is not replicating.`,
    },
  ];
}

/** Planned: the primary answers, the standby streams from it within maxLagBytes, and pg_rewind could run on it later. */
function plannedChecks(
  settings: PgSettings,
  primary: PgServer,
  standby: PgServer,
  p: PgServerStatus | undefined,
  s: PgServerStatus | undefined,
): Check[] {
  if (!p?.reachable)
    return [
      {
        name: `${primary.name}.reachable`,
        ok: false,
        sentence: `${primary.name} does not answer (${p?.error?.message ?? 'no answer'}): a planned switchover stops it cleanly first.`,
      },
    ];
  const streaming =
    s?.walReceiver?.status === 'streaming' &&
    s.walReceiver.senderHost === primary.host &&
    s.walReceiver.senderPort === primary.port;
  const row = p.standbys?.find((r) => r.applicationName === standby.name);
  const lag =
    row?.replayLagBytes ?? (p.currentLsn && s?.replayLsn ? lsnDiff(p.currentLsn, s.replayLsn) : null);
  const rewindable = (p.walLogHints || p.dataChecksums) && p.fullPageWrites;
  return [
    {
      name: `${primary.name}.primary`,
      ok: p.inRecovery === false,
      sentence: p.inRecovery
        ? `${primary.name} is in recovery: it is not the primary.`
        : `${primary.name} is the primary (WAL at ${p.currentLsn}).`,
    },
    {
      name: `${standby.name}.streaming`,
      ok: streaming,
      sentence: streaming
        ? `${standby.name} streams from ${primary.name}.`
        : `${standby.name} does not stream from ${primary.name} (WAL receiver ${s?.walReceiver ? `${s.walReceiver.status} from ${s.walReceiver.senderHost}:${s.walReceiver.senderPort}` : 'not running'}).`,
    },
    {
      name: `${standby.name}.lag`,
      ok: lag !== null && lag <= settings.maxLagBytes,
      sentence:
        lag === null
          ? `${standby.name}'s lag cannot be read.`
          : `${standby.name} replays ${lag} byte(s) behind ${primary.name} (at most ${settings.maxLagBytes}).`,
    },
    {
      name: `${primary.name}.rewindable`,
      ok: rewindable === true,
      sentence: rewindable
        ? `${primary.name} can be rewound by pg_rewind at failback (${p.dataChecksums ? 'data checksums' : 'wal_log_hints'}, full_page_writes on; wal_keep_size ${p.walKeepSizeMb} MB).`
        : `${primary.name} could not be rewound by pg_rewind to follow again: it needs wal_log_hints = on or data checksums, and full_page_writes = on (pg_rewind refuses otherwise).`,
    },
  ];
}

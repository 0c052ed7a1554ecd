import { ActivityCancellationType, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { PairSettings } from '../../activities/pair-settings';
import { NON_RETRYABLE } from '../activity-options';
import type { Check } from '../checks/check';
import type { DataLossEstimate } from '../definitions';
import { errorText, type PlanStep } from '../steps';
import type { RunContext, SystemContribution, SystemPlan } from './system';

type ManagedDb = NonNullable<PairSettings['ovhDatabases']>[number];
type Answer = { approved: boolean; by: string; reason: string };

/** What no restore from backup can guarantee, said in every plan that has one. */
const CANNOT_GUARANTEE =
  'OVH has no cross-region replica and no promotion for managed databases: the restore is a fork of the off-site backup into a new service (new ID, new host name), which loses every write made after that backup (OVH gives this restore an RPO of about 5 minutes, or one WAL file), takes hours to days to be READY depending on the backup size, and has none of the old users or IP restrictions (the declared ones are recreated, with new passwords)';

/** What a failback does with the managed databases: nothing, said plainly. */
const NO_FAILBACK =
  'a failback does not move the managed database back: the service restored at failover keeps serving; going back means another restore from its own backups (a new service again, with the same losses) or a manual migration, which this run does not do';

/**
 * OVH managed databases (Public Cloud Databases for MySQL and PostgreSQL): at failover each is restored from its newest backup in
 * the standby's region, a step after the traffic switch that a human must approve on its own (it creates a new
 * billed service and cannot be undone), then its declared users are created (passwords written to the runbook's
 * passwordsDir, never into the history). It observes nothing for detection (OVH's in-region HA replaces failed nodes;
 * a lost site is judged by the other systems).
 */
export function ovhDatabaseContribution(): SystemContribution {
  const readiness = new Map<string, string>();
  const restored = new Map<string, string>();
  /** The human's answer to each restore, kept so that a retried step does not ask again. */
  const answers = new Map<string, Answer>();
  const dbs = (ctx: RunContext): ManagedDb[] => ctx.settings.ovhDatabases ?? [];
  const failback = (ctx: RunContext) => ctx.input.mode === 'full' || ctx.input.mode === 'reprotect-only';

  const estimate = (ctx: RunContext): DataLossEstimate => ({
    system: 'ovh-database',
    unit: 'transactions',
    sentence: failback(ctx)
      ? `${dbs(ctx)
          .map((db) => db.name)
          .join(', ')}: ${NO_FAILBACK}.`
      : `${dbs(ctx)
          .map(
            (db) =>
              restored.get(db.name) ?? readiness.get(db.name) ?? `${db.name}: restore point not known yet.`,
          )
          .join(' ')} ${CANNOT_GUARANTEE}.`,
  });

  return {
    system: 'ovh-database',

    async observe() {
      return [];
    },

    async assess(ctx): Promise<Check[]> {
      if (failback(ctx))
        return dbs(ctx).map((db) => ({
          name: `ovh-database.${db.name}`,
          ok: true,
          sentence: `${db.name}: ${NO_FAILBACK}.`,
        }));
      return Promise.all(
        dbs(ctx).map(async (db): Promise<Check> => {
          try {
            const r = await ctx.call(
              'read',
              'ovhDbReadiness',
              { pair: ctx.settings.pair, name: db.name },
              `can managed database ${db.name} be restored into ${db.drRegion}`,
            );
            if (r.restorePoint)
              readiness.set(
                db.name,
                `${db.name}: the newest backup in ${db.drRegion} was taken at ${r.restorePoint}; a restore started now starts from it.`,
              );
            return { name: `ovh-database.${db.name}.restorable`, ok: r.ok, sentence: r.sentence };
          } catch (err) {
            return {
              name: `ovh-database.${db.name}.restorable`,
              ok: false,
              sentence: `managed database ${db.name} cannot be checked: ${errorText(err)}.`,
            };
          }
        }),
      );
    },

    async plan(ctx): Promise<SystemPlan> {
      if (failback(ctx)) return { steps: [], dataLoss: estimate(ctx) };
      const steps = dbs(ctx).map((db) =>
        restoreStep(ctx, db, { restored, answers }, () => ctx.reviseDataLoss(estimate(ctx))),
      );
      return { steps, dataLoss: estimate(ctx) };
    },
  };
}

/**
 * Restore one managed database into the standby's region, once a human approves it; then create its users. In the
 * verify phase, after the traffic switch: a restore takes hours, and neither the write outage of the rest of the pair
 * nor its switch waits for it. Past the point of no return: never compensated; a lasting failure waits for an
 * operator's retry or abort.
 */
function restoreStep(
  ctx: RunContext,
  db: ManagedDb,
  { restored, answers }: { restored: Map<string, string>; answers: Map<string, Answer> },
  revise: () => void,
): PlanStep {
  const pair = ctx.settings.pair;
  return {
    id: `ovh-database.restore.${db.name}`,
    phase: 'verify',
    system: 'ovh-database',
    title: `restore managed database ${db.name} from its newest backup into ${db.drRegion} (a new service; approved on its own)`,
    target: `${db.engine} ${db.clusterId}`,
    run: async () => {
      const question = `restore managed database ${db.name} from its newest backup into ${db.drRegion}? This creates a new billed service with a new host name and cannot be undone; ${CANNOT_GUARANTEE}`;
      const answer =
        answers.get(db.name) ??
        (ctx.approve
          ? await ctx.approve(question)
          : { approved: false, by: 'nobody', reason: 'this run cannot ask for approval' });
      answers.set(db.name, answer);
      if (!answer.approved) {
        restored.set(db.name, `${db.name}: not restored (rejected by ${answer.by}: ${answer.reason}).`);
        revise();
        return `${db.name} was not restored: the restore was rejected by ${answer.by} (${answer.reason}); it stays in its old region, unreachable if that region is down.`;
      }
      const r = await restoreActivity(db)({ pair, name: db.name, runTag: workflowInfo().workflowId });
      restored.set(
        db.name,
        `${db.name}: restored as ${r.serviceId} at ${r.host}${r.port ? `:${r.port}` : ''} from the backup taken at ${r.restorePoint}; writes after it are lost.`,
      );
      revise();
      const access = await ctx.call(
        'change',
        'ovhDbRecreateAccess',
        { pair, name: db.name, serviceId: r.serviceId },
        `users of ${db.name}`,
      );
      return `${r.description} ${access.description}`;
    },
  };
}

/** The restore waits up to the runbook's readyTimeout for the fork, heartbeating; a dead worker costs 2 minutes. */
function restoreActivity(db: ManagedDb) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${Math.ceil(db.readyTimeoutMs / 1000) + 600}s`,
    heartbeatTimeout: '2m',
    retry: {
      initialInterval: '5s',
      backoffCoefficient: 2,
      maximumInterval: '5m',
      maximumAttempts: 5,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    summary: `restore ${db.name} into ${db.drRegion}`,
  }).ovhDbRestoreFromBackup;
}

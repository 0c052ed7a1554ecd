/**
 * The managed-database (restore from backup) part of the failover and failback workflows, on the time-skipping test
 * server with the activities replaced by an in-memory pair and an in-memory OVH managed database: the restore is a
 * step past the point of no return that only a human can approve (the runbook's automatic approval does not answer
 * it; no answer in time is a rejection); approved, it restores once per run even when retried, creates the users and
 * puts the restore point and the new endpoint in the report; rejected, the move goes on without it and says so;
 * readiness that fails refuses the move; a failback does not move the database back and says what would.
 */
import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../activities';
import type { OvhDbAccessResult, OvhDbReadiness, OvhDbRestoreResult } from '../activities/ovh-database';
import type { PairSettings } from '../activities/pair-settings';
import { failback, failover, readinessCheck } from '../workflows';
import {
  approveUpdate,
  pairMoveWorkflowId,
  rejectUpdate,
  retryUpdate,
  statusQuery,
  type FailbackInput,
  type FailoverInput,
} from '../workflows/definitions';
import { answer } from './helpers/answers';
import { failedOverState, FakePair, fakeSettings } from './helpers/fake-pair';
import { testWorkflowBundle } from './helpers/local-stack';
import { timeSkippingWorker } from './helpers/time-skipping';
import { recordHistory } from './helpers/histories';

const RESTORE_POINT = '2026-12-07T21:55:00.000Z';
const DB: NonNullable<PairSettings['ovhDatabases']>[number] = {
  name: 'app-db',
  engine: 'mysql',
  clusterId: '5f0c7c2e-1d3a-4b8e-9f6a-2c4d5e6f7a8b',
  drRegion: 'SBG',
  users: ['app'],
  ipRestrictions: ['198.51.100.0/24'],
  readyTimeoutMs: 3_600_000,
};

/** An in-memory managed database: its readiness, the forks made per run tag, and faults of the restore. */
class FakeManagedDb {
  readonly calls: string[] = [];
  readonly forks = new Map<string, string>();
  readiness: 'ok' | 'not-ok' | 'throws' = 'ok';
  /** How many next restore calls fail, and how. */
  restoreFailures = 0;

  activities(): Partial<Activities> {
    return {
      ovhDbReadiness: async ({ name }): Promise<OvhDbReadiness> => {
        this.calls.push(`ovhDbReadiness ${name}`);
        if (this.readiness === 'throws')
          throw ApplicationFailure.create({
            type: 'OvhUnavailable',
            message: 'no answer from eu.api.ovh.com',
            nonRetryable: true,
          });
        const ok = this.readiness === 'ok';
        return {
          name,
          status: 'READY',
          ok,
          checks: [
            {
              name: 'backup-regions',
              ok,
              sentence: ok ? 'its backups are copied to SBG.' : 'its backups are not copied to SBG.',
            },
          ],
          ...(ok ? { backupId: 'b-latest', restorePoint: RESTORE_POINT } : {}),
          sentence: ok
            ? `app-db is READY; a restore into SBG can start from ${RESTORE_POINT}.`
            : 'app-db: its backups are not copied to SBG.',
        };
      },
      ovhDbRestoreFromBackup: async ({ name, runTag }): Promise<OvhDbRestoreResult> => {
        this.calls.push(`ovhDbRestoreFromBackup ${name} ${runTag}`);
        const created = !this.forks.has(runTag);
        if (created) this.forks.set(runTag, `fork-${this.forks.size + 1}`);
        if (this.restoreFailures > 0) {
          this.restoreFailures--;
          throw ApplicationFailure.create({
            type: 'OvhDatabaseNotReady',
            message: 'still CREATING after 1h',
            nonRetryable: true,
          });
        }
        const serviceId = this.forks.get(runTag)!;
        return {
          name,
          created,
          serviceId,
          region: 'SBG',
          backupId: 'b-latest',
          restorePoint: RESTORE_POINT,
          host: `mysql-${serviceId}.database.cloud.ovh.net`,
          port: 20184,
          steps: [],
          description: `app-db restored into SBG as the new service ${serviceId} (host mysql-${serviceId}.database.cloud.ovh.net:20184) from the backup taken at ${RESTORE_POINT}.`,
        };
      },
      ovhDbRecreateAccess: async ({ name, serviceId }): Promise<OvhDbAccessResult> => {
        this.calls.push(`ovhDbRecreateAccess ${name} ${serviceId}`);
        return {
          name,
          serviceId,
          created: ['app'],
          present: [],
          passwordFiles: { app: `/var/lib/drctl/db-passwords/fake/app-db/${serviceId}/app` },
          ipRestrictions: { allowed: ['198.51.100.0/24'], missing: [] },
          steps: [],
          description: `created user(s) app on ${serviceId}.`,
        };
      },
    };
  }
}

let pair: FakePair;
let db: FakeManagedDb;

function delegatingActivities(): Partial<Activities> {
  const names = [
    ...Object.keys(new FakePair().activities()),
    ...Object.keys(new FakeManagedDb().activities()),
  ] as (keyof Activities)[];
  return Object.fromEntries(
    names.map((name) => [
      name,
      (...args: unknown[]) => {
        const fn = (db.activities()[name] ?? pair.activities()[name]) as (...a: unknown[]) => unknown;
        return fn(...args);
      },
    ]),
  ) as Partial<Activities>;
}

const ts = timeSkippingWorker(
  'ovh-db-wf',
  () => ({ workflowBundle: { codePath: testWorkflowBundle() } }),
  delegatingActivities(),
);

const withDb = (overrides: Partial<PairSettings> = {}) =>
  new FakePair(fakeSettings({ ovhDatabases: [DB], ...overrides }));

async function startFailover(overrides: Partial<FailoverInput> = {}) {
  const i: FailoverInput = {
    pair: 'fake',
    mode: 'planned',
    trigger: 'test',
    reason: 'test run',
    requestedBy: 'tester',
    ...overrides,
  };
  const workflowId = pairMoveWorkflowId(i.pair);
  await ts.env.client.workflow
    .getHandle(workflowId)
    .terminate('the next test starts')
    .catch(() => undefined);
  return ts.env.client.workflow.start(failover, { args: [i], taskQueue: ts.taskQueue, workflowId });
}

/** Waits (bounded) until the run asks a question of `kind` whose text matches. */
async function question(
  handle: Awaited<ReturnType<typeof startFailover>>,
  kind: 'approval' | 'operator',
  text: RegExp,
) {
  for (let i = 0; i < 400; i++) {
    const { pending } = await handle.query(statusQuery);
    if (pending?.kind === kind && text.test(pending.question)) return pending;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the run never asked a ${kind} question matching ${text}`);
}

const RESTORE_QUESTION =
  /^restore managed database app-db from its newest backup into SBG\? This creates a new billed service with a new host name and cannot be undone/;

describe('failover with an OVH managed database (time-skipping, in-memory pair and database)', () => {
  it('plans the restore after the traffic switch, saying what it cannot guarantee; approved, restores and reports the restore point and the new endpoint', async () => {
    pair = withDb();
    db = new FakeManagedDb();
    const handle = await startFailover();
    const pending = await question(handle, 'approval', RESTORE_QUESTION);
    // The runbook approves moves automatically, but not this: only a human may.
    expect(pending.question).toContain('takes hours to days to be READY');
    await answer(handle, approveUpdate, 'oncall', 'gra is lost: restore');
    const report = await handle.result();
    await recordHistory(handle, 'failover-ovh-database-restored');
    expect(report.outcome).toBe('completed');
    const step = report.steps.find((s) => s.id === 'ovh-database.restore.app-db');
    expect(step).toMatchObject({
      phase: 'verify',
      system: 'ovh-database',
      state: 'done',
      target: `mysql ${DB.clusterId}`,
    });
    expect(step?.sentence).toContain(`from the backup taken at ${RESTORE_POINT}`);
    expect(step?.sentence).toContain('mysql-fork-1.database.cloud.ovh.net:20184');
    expect(step?.sentence).toContain('created user(s) app on fork-1.');
    const plan = await handle.query('plan');
    expect(JSON.stringify(plan)).toContain('new host name');
    const loss = report.dataLoss.find((d) => d.system === 'ovh-database');
    expect(loss?.sentence).toContain(
      `app-db: restored as fork-1 at mysql-fork-1.database.cloud.ovh.net:20184 from the backup taken at ${RESTORE_POINT}`,
    );
    expect(loss?.sentence).toContain(
      'loses every write made after that backup (OVH gives this restore an RPO of about 5 minutes',
    );
    expect(db.calls).toEqual([
      'ovhDbReadiness app-db',
      `ovhDbRestoreFromBackup app-db ${pairMoveWorkflowId('fake')}`,
      'ovhDbRecreateAccess app-db fork-1',
    ]);
    // The restore comes after the traffic switch: neither the write outage nor the switch waited for it.
    const steps = report.steps.map((s) => s.id);
    expect(steps.indexOf('ovh-database.restore.app-db')).toBeGreaterThan(steps.indexOf('traffic.switch'));
    const switched = report.steps.find((s) => s.id === 'traffic.switch')!;
    expect(Date.parse(switched.endedAt!)).toBeLessThanOrEqual(Date.parse(step!.startedAt!));
    expect(report.fenceWindow?.steps.map((s) => s.id) ?? []).not.toContain('ovh-database.restore.app-db');
  });

  it('rejected: the move goes on without the restore and the report says the database was not restored', async () => {
    pair = withDb();
    db = new FakeManagedDb();
    const handle = await startFailover();
    await question(handle, 'approval', RESTORE_QUESTION);
    await answer(handle, rejectUpdate, 'oncall', 'gra comes back within the hour');
    const report = await handle.result();
    expect(report.outcome).toBe('completed');
    expect(report.steps.find((s) => s.id === 'ovh-database.restore.app-db')?.sentence).toBe(
      'app-db was not restored: the restore was rejected by oncall (gra comes back within the hour); it stays in its old region, unreachable if that region is down.',
    );
    expect(report.dataLoss.find((d) => d.system === 'ovh-database')?.sentence).toContain(
      'app-db: not restored (rejected by oncall',
    );
    expect(db.calls).toEqual(['ovhDbReadiness app-db']);
  });

  it('no answer within the approval timeout is a rejection, even with onTimeout: approve', async () => {
    pair = withDb({
      approval: { policy: 'auto', approvers: ['oncall'], timeoutMs: 1_800_000, onTimeout: 'approve' },
    });
    db = new FakeManagedDb();
    const handle = await startFailover();
    const report = await handle.result();
    expect(report.steps.find((s) => s.id === 'ovh-database.restore.app-db')?.sentence).toMatch(
      /^app-db was not restored: the restore was rejected by /,
    );
    expect(db.calls).toEqual(['ovhDbReadiness app-db']);
  });

  it('a restore that fails past the point of no return waits for retry; the retry uses the same fork (one per run)', async () => {
    pair = withDb();
    db = new FakeManagedDb();
    db.restoreFailures = 1;
    const handle = await startFailover();
    await question(handle, 'approval', RESTORE_QUESTION);
    await answer(handle, approveUpdate, 'oncall', 'restore');
    const failed = await question(
      handle,
      'operator',
      /failed past the point of no return: OvhDatabaseNotReady: still CREATING after 1h/,
    );
    expect(failed.question).toMatch(/^restore managed database app-db/);
    await answer(handle, retryUpdate, 'oncall', 'it is ready now');
    const report = await handle.result();
    expect(report.outcome).toBe('completed');
    expect(db.forks.size).toBe(1);
    expect(db.calls.filter((c) => c.startsWith('ovhDbRestoreFromBackup'))).toHaveLength(2);
    expect(report.steps.find((s) => s.id === 'ovh-database.restore.app-db')).toMatchObject({
      state: 'done',
      attempts: 2,
    });
  });

  it.each([
    ['not-ok', 'app-db: its backups are not copied to SBG.'],
    ['throws', 'managed database app-db cannot be checked: OvhUnavailable: no answer from eu.api.ovh.com.'],
  ] as const)('readiness %s: the move is refused before anything changes', async (readiness, sentence) => {
    pair = withDb();
    db = new FakeManagedDb();
    db.readiness = readiness;
    const handle = await startFailover();
    const report = await handle.result();
    expect(report.outcome).toBe('refused');
    expect(report.sentence).toContain(sentence);
    expect(pair.changes()).toEqual([]);
    expect(db.calls).toEqual(['ovhDbReadiness app-db']);
  });

  it('a failback does not move the managed database back, and its plan says what would', async () => {
    pair = withDb();
    pair.state = failedOverState();
    db = new FakeManagedDb();
    const i: FailbackInput = {
      pair: 'fake',
      mode: 'full',
      trigger: 'test',
      reason: 'gra is back',
      requestedBy: 'tester',
    };
    const workflowId = pairMoveWorkflowId(i.pair);
    await ts.env.client.workflow
      .getHandle(workflowId)
      .terminate('the next test starts')
      .catch(() => undefined);
    const handle = await ts.env.client.workflow.start(failback, {
      args: [i],
      taskQueue: ts.taskQueue,
      workflowId,
    });
    const report = await handle.result();
    expect(report.outcome).toBe('completed');
    expect(report.steps.filter((s) => s.system === 'ovh-database')).toEqual([]);
    expect(report.dataLoss.find((d) => d.system === 'ovh-database')?.sentence).toBe(
      'app-db: a failback does not move the managed database back: the service restored at failover keeps serving; going back means another restore from its own backups (a new service again, with the same losses) or a manual migration, which this run does not do.',
    );
    expect(db.calls).toEqual([]);
  });
});

describe('readiness check with an OVH managed database (time-skipping)', () => {
  const check = async () => {
    const workflowId = `readiness-ovh-db-${Math.random().toString(36).slice(2)}`;
    return ts.env.client.workflow.execute(readinessCheck, {
      args: [{ pair: 'fake', trigger: 'test' }],
      taskQueue: ts.taskQueue,
      workflowId,
    });
  };

  it('reports the restore point it could promise, and fails when the backups are not copied to the DR region', async () => {
    pair = withDb();
    db = new FakeManagedDb();
    const ready = await check();
    expect(ready.ovhDatabases).toEqual([
      expect.objectContaining({ name: 'app-db', ok: true, restorePoint: RESTORE_POINT }),
    ]);
    expect(ready.checks.find((c) => c.name === 'ovh-database.app-db.restorable')).toMatchObject({ ok: true });
    db.readiness = 'not-ok';
    const notReady = await check();
    expect(notReady.ready).toBe(false);
    expect(notReady.verdict).toContain('app-db: its backups are not copied to SBG.');
    db.readiness = 'throws';
    const unreadable = await check();
    expect(unreadable.checks.find((c) => c.name === 'ovh-database.app-db.restorable')).toMatchObject({
      ok: false,
      sentence: 'managed database app-db cannot be checked: no answer from eu.api.ovh.com.',
    });
  });

  it('is not asked of a pair without managed databases', async () => {
    pair = new FakePair();
    db = new FakeManagedDb();
    const report = await check();
    expect(report.ovhDatabases).toBeUndefined();
    expect(db.calls).toEqual([]);
  });
});

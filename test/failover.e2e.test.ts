/**
 * End-to-end failovers on real components (a scratch DR pair each: MariaDB trio, ES emulator, Perl apps over SSH,
 * HAProxy; the real worker as a process; the shared Temporal dev server), under continuous writes through the
 * public entry point. Every claim is checked on the systems themselves and on the writes the client saw
 * acknowledged, never on the workflow's report alone.
 */
import type { Client, Connection } from '@temporalio/client';
import mysql from 'mysql2/promise';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_DATABASE, MARIADB_ACCOUNTS } from '../dev/stack/services/mariadb';
import type { FrontendWriteLoad, WriteVerification } from '../dev/write-load';
import { waitUntil } from './helpers/apps-traffic';
import {
  acknowledgedBy,
  acknowledgedWrites,
  APPROVER,
  reportApprovingEachQuestion,
  historyText,
  leakedSecrets,
  reportWithin,
  runbookSecrets,
  startPairFailover,
  timer,
} from './helpers/failover-e2e';
import { temporalClient, testTaskQueue } from './helpers/local-stack';
import {
  startScratchDrPair,
  startWorkerProcess,
  type DrPairSnapshot,
  type ScratchDrPair,
  type WorkerProcess,
} from './helpers/scratch-dr-pair';
import type { FailoverReport, fenceOldSite } from '../workflows';
import { fenceWatchStatusQuery, fenceWatchWorkflowId } from '../workflows/definitions';
import { takeTurns } from './helpers/turns';

// Offers a write rate it asserts: never alongside another such load, which would starve it of CPU.
takeTurns('write-load', 'exclusive');

const SERVERS = ['db-gra-1', 'db-rbx-1', 'db-rbx-2'];

/** A scratch pair whose runbook approves automatically, its worker process and a client, for one describe block. */
function pairWithWorker(name: string, options: { appWorkers?: number } = {}) {
  const ctx = {
    pair: undefined as unknown as ScratchDrPair,
    worker: undefined as unknown as WorkerProcess,
    client: undefined as unknown as Client,
    connection: undefined as Connection | undefined,
    taskQueue: testTaskQueue(`e2e-${name}`),
    runs: [] as { workflowId: string; runId: string }[],
  };
  beforeAll(async () => {
    const done = timer(`${name}: scratch pair and worker up`);
    ctx.pair = await startScratchDrPair({
      ...options,
      edit: (runbook) => {
        runbook.approval = { ...runbook.approval!, policy: 'auto' };
      },
    });
    ctx.worker = await startWorkerProcess({ runbookPath: ctx.pair.runbookPath, taskQueue: ctx.taskQueue });
    ({ client: ctx.client, connection: ctx.connection } = await temporalClient());
    done();
  }, 180_000);
  afterAll(async () => {
    await ctx.worker?.stop();
    await ctx.pair?.close();
    await ctx.connection?.close();
  });
  return ctx;
}

/** The server the report says was promoted. */
const promotedServer = (report: FailoverReport) => report.steps.find((s) => s.id === 'mysql.promote')!.target;

/** The new primary is writable and replicates from nothing; each of `replicas` is read-only and replicates from it. */
function expectTopology(snapshot: DrPairSnapshot, primary: string, replicas: string[]) {
  expect(snapshot.mysql[primary]).toEqual({ reachable: true, readOnly: false, replicatesFrom: null });
  for (const replica of replicas)
    expect(snapshot.mysql[replica]).toEqual({
      reachable: true,
      readOnly: true,
      replicatesFrom: primary,
      ioRunning: 'Yes',
      sqlRunning: 'Yes',
    });
}

/**
 * Waits until the public entry point answers from `site`. Bounded: right after a burst of queued writes HAProxy
 * may still count the app's health checks that timed out in the burst, and answer with its own error page.
 */
async function expectFrontendServedBy(pair: ScratchDrPair, site: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await fetch(pair.frontendUrl('/health'), { signal: AbortSignal.timeout(2_000) });
    const text = await res.text();
    const answeredBy = /^\{/.test(text) ? (JSON.parse(text) as { site?: string }).site : undefined;
    if (res.ok && answeredBy === site) return;
    if (Date.now() > deadline)
      throw new Error(`the frontend does not answer from ${site}: ${res.status} ${text.slice(0, 200)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A client's write of one document to `index` of `site`: the HTTP status, and the error type when refused. */
async function writeTo(pair: ScratchDrPair, site: 'gra' | 'rbx', index: string) {
  const res = await fetch(`${pair.esUrl(site)}/${index}/_doc/after-failover`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ written: 'after the failover' }),
  });
  const body = (await res.json()) as { error?: { type?: string } };
  return { status: res.status, ...(body.error?.type ? { error: body.error.type } : {}) };
}

const LEADER_INDICES = ['orders', 'customers', 'logs-app-000001'];

async function indexStatuses(pair: ScratchDrPair): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  for (const index of LEADER_INDICES) statuses[index] = (await writeTo(pair, 'rbx', index)).status;
  return statuses;
}

/** gra's leader indices refuse writes: a write gets 403 cluster_block_exception, and each carries the block. */
async function expectGraIndicesFenced(pair: ScratchDrPair): Promise<void> {
  expect(await writeTo(pair, 'gra', 'orders')).toEqual({ status: 403, error: 'cluster_block_exception' });
  expect((await pair.snapshot()).elasticsearch.gra?.writeBlocked).toEqual([...LEADER_INDICES].sort());
}

/** Writes answered by `site`'s app (acknowledged or refused). */
const answeredBy = (load: FrontendWriteLoad, site: string) => load.records.filter((r) => r.server === site);

/** The write load's writes a server holds, by id: the acknowledged ones it does not lack, and the others it has. */
function writesOn(load: FrontendWriteLoad, verification: WriteVerification): Set<number> {
  const lost = new Set(verification.lost);
  return new Set([
    ...load.records.filter((r) => r.outcome === 'acknowledged' && !lost.has(r.seq)).map((r) => r.seq),
    ...verification.presentUnacknowledged,
  ]);
}

/** Orders one item directly on `server` with the application's account; its order id. */
async function orderAsApp(pair: ScratchDrPair, server: string): Promise<number> {
  const password = readFileSync(
    path.join(pair.dir, 'secrets', MARIADB_ACCOUNTS.app.secretFile),
    'utf8',
  ).trim();
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port: pair.cluster.instance(server).port,
    user: MARIADB_ACCOUNTS.app.user,
    password,
    database: APP_DATABASE,
  });
  try {
    const [result] = await conn.query<mysql.ResultSetHeader>(
      "INSERT INTO orders (item, quantity, site) VALUES ('ordered on the promoted server', 1, 'rbx')",
    );
    return result.insertId;
  } finally {
    await conn.end();
  }
}

/** Makes gra's Elasticsearch cluster refuse connections (for the worker and for rbx's followers). */
async function graElasticsearchDown(pair: ScratchDrPair): Promise<void> {
  const res = await fetch(`${pair.esUrl('rbx')}/_emulator/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ cluster: 'gra', down: true }),
  });
  expect(res.status).toBe(200);
}

const seconds = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'never');

/** How long writes were refused or left unanswered: from the first such answer to the last (0 when none). */
function writesUnavailableMs(load: FrontendWriteLoad): number {
  const times = load.records.filter((r) => r.outcome !== 'acknowledged').map((r) => r.at);
  return times.length > 0 ? Math.max(...times) - Math.min(...times) : 0;
}

async function expectNoSecretsInHistories(ctx: ReturnType<typeof pairWithWorker>) {
  const secrets = runbookSecrets(ctx.pair.runbooks.get(ctx.pair.pair)!);
  expect(secrets.length).toBe(4);
  expect(ctx.runs.length).toBeGreaterThan(0);
  for (const run of ctx.runs) expect(leakedSecrets(await historyText(ctx.client, run), secrets)).toEqual([]);
  expect(leakedSecrets(ctx.worker.output(), secrets)).toEqual([]);
}

describe('planned failover end to end, under 200+ writes/s through the frontend', () => {
  const ctx = pairWithWorker('planned');

  it('loses no acknowledged write; rbx serves, its database and indices take writes, gra is read-only', async () => {
    const done = timer('planned: failover under writes');
    const { pair } = ctx;
    // Room for every write to wait in HAProxy and the app while the pair moves: the offered rate stays the same.
    const load = pair.writeLoad({ ratePerSecond: 250, maxInFlight: 1000, requestTimeoutMs: 10_000 });
    load.start();
    await waitUntil('gra acknowledges writes', async () => acknowledgedBy(load, 'gra').length >= 100);
    const report = await reportWithin(
      await startPairFailover(ctx.client, pair.pair, 'planned', ctx.taskQueue, ctx.runs),
    );
    const finishedAt = Date.now();
    expect(report.outcome, report.sentence).toBe('completed');
    const primary = promotedServer(report);
    // Planned, every rbx replica ends equal: the runbook's first, the one rbx's app writes to, is promoted.
    expect(primary).toBe('db-rbx-1');
    await waitUntil(
      'rbx acknowledges writes through the frontend',
      async () => acknowledgedBy(load, 'rbx', finishedAt).length >= 50,
    );
    const summary = await load.stop();

    // The writer ran through the move (its rate is a bench figure, not a pass/fail one).
    expect(summary.acknowledged).toBeGreaterThanOrEqual(100);
    const verification = await load.verify(primary);
    expect(verification.lost).toEqual([]);
    expect(verification.acknowledged).toBe(summary.acknowledged);

    const after = await pair.snapshot();
    expectTopology(
      after,
      primary,
      SERVERS.filter((s) => s !== primary),
    );
    expect(after.mysql['db-gra-1']?.readOnly).toBe(true);
    expect(after.apps).toEqual({
      gra: { health: 'ok', dbReadOnly: true },
      rbx: { health: 'ok', dbReadOnly: false },
    });
    expect(after.traffic).toEqual({ reachable: true, servers: { 'app-gra': 'drain', 'app-rbx': 'ready' } });
    await expectFrontendServedBy(pair, 'rbx');
    expect(after.elasticsearch.rbx?.indices).toEqual({
      orders: 'open',
      customers: 'open',
      'logs-app-000001': 'open',
    });
    expect(await indexStatuses(pair)).toEqual({ orders: 201, customers: 201, 'logs-app-000001': 201 });
    // The old site's indices keep the fence a completed failover leaves: a failback replaces them by followers.
    await expectGraIndicesFenced(pair);

    expect(report.steps.every((s) => s.state === 'done' && s.attempts === 1)).toBe(true);
    expect(report.measuredLoss).toEqual([
      {
        system: 'mysql',
        from: 'db-gra-1',
        to: primary,
        count: 0,
        sentence: `none: ${primary} holds every transaction db-gra-1 committed.`,
      },
    ]);
    console.log(
      `[e2e] planned RTO ${(report.rto.fromStartMs / 1000).toFixed(1)} s (run); writes refused for ${seconds(writesUnavailableMs(load))} (first refusal to last, client side); lost ${verification.lost.length} of ${summary.acknowledged} acknowledged writes (offered ${summary.offeredRatePerSecond}/s; ${summary.failed} refused, ${summary.unknown} unknown); promoted ${primary}`,
    );
    done();
  }, 120_000);

  it('no secret of the runbook appears in the run history', () => expectNoSecretsInHistories(ctx));
});

describe('unplanned failover end to end, after the primary site is killed', () => {
  const ctx = pairWithWorker('unplanned');

  it('loses no acknowledged write; the standby serves and takes writes; the report gives the measured RTO, and the loss as unknown', async () => {
    const done = timer('unplanned: failover after the primary site died');
    const { pair } = ctx;
    const load = pair.writeLoad({ ratePerSecond: 250, maxInFlight: 1000, requestTimeoutMs: 10_000 });
    load.start();
    await acknowledgedWrites(load, 'gra', 100);
    await pair.killPrimarySite();
    const killedAt = Date.now();
    // The alert: the replicas have lost their source (what the run's detection then confirms on its own).
    await waitUntil('the replicas lose db-gra-1', async () => {
      const { mysql } = await pair.snapshot();
      return ['db-rbx-1', 'db-rbx-2'].every((s) => mysql[s]?.ioRunning === 'Connecting');
    });
    // Going on without fencing the dead db-gra-1 is a human's decision, whatever the runbook's policy.
    const report = await reportApprovingEachQuestion(
      await startPairFailover(ctx.client, pair.pair, 'unplanned', ctx.taskQueue, ctx.runs),
      'gra is gone',
    );
    expect(report.outcome).toBe('completed');
    expect(report.steps.find((s) => s.id === 'es.fence')?.state).toBe('failed');
    // The move is approved by the policy; going on without each fence of the dead site only by a human.
    expect(report.approvals.map((a) => [a.how, a.by])).toEqual([
      ['auto', 'policy'],
      ['approver', APPROVER],
      ['approver', APPROVER],
    ]);
    expect(report.decisions.map((d) => d.sentence)).toContainEqual(
      expect.stringContaining(`a watcher, workflow ${fenceWatchWorkflowId(pair.pair)}, fences each`),
    );
    const finishedAt = Date.now();
    const primary = promotedServer(report);
    await waitUntil(
      'rbx answers writes through the frontend',
      async () => answeredBy(load, 'rbx').length >= 50,
    );
    // The most advanced replica is promoted: db-rbx-1, the runbook's first, unless db-rbx-2 had received more.
    // rbx's app writes to db-rbx-1 only (its app.env names it): it takes writes when db-rbx-1 is promoted; else
    // it refuses them (its database is a read-only replica of db-rbx-2), and the promoted server takes the app
    // account's writes directly, which rbx's app then serves.
    let orderedDirectly: number | undefined;
    if (primary === 'db-rbx-1') await acknowledgedWrites(load, 'rbx', 50, finishedAt);
    else {
      await waitUntil('rbx refuses writes: its database is read-only', async () =>
        answeredBy(load, 'rbx').some((r) => r.error === 'database is read-only'),
      );
      orderedDirectly = await orderAsApp(pair, primary);
    }
    const summary = await load.stop();
    const firstAnswer = Math.min(...answeredBy(load, 'rbx').map((r) => r.at));
    const firstAcknowledged = Math.min(...acknowledgedBy(load, 'rbx').map((r) => r.at));
    expect(acknowledgedBy(load, 'rbx').length > 0).toBe(primary === 'db-rbx-1');
    if (orderedDirectly !== undefined) {
      const id = orderedDirectly;
      await waitUntil(`rbx serves order ${id}, written on ${primary}`, async () => {
        const res = await fetch(pair.frontendUrl(`/orders/${id}`));
        return res.status === 200 && ((await res.json()) as { site?: string }).site === 'rbx';
      });
    }

    // No acknowledged write is lost: each write gra acknowledged had reached the replicas before mysqld died.
    const verification = await load.verify(primary);
    const ackedByGra = acknowledgedBy(load, 'gra').length;
    expect(ackedByGra).toBeGreaterThanOrEqual(100);
    expect(verification.lost).toEqual([]);
    expect(verification.acknowledged).toBe(summary.acknowledged);
    // db-gra-1 was seen down by every vantage in detection: the report says the loss is unknown, and why, without
    // waiting for a connect to it; nor was its fence tried.
    expect(report.measuredLoss).toHaveLength(1);
    expect(report.measuredLoss![0]).toMatchObject({ system: 'mysql', from: 'db-gra-1', to: primary });
    expect(report.measuredLoss![0]!.count).toBeUndefined();
    expect(report.measuredLoss![0]!.sentence).toBe(
      'unknown: every vantage saw db-gra-1 down in every detection round, so it was not read.',
    );
    expect(report.steps.find((s) => s.id === 'mysql.fence')?.lastError).toMatch(/^SeenDown: not tried: /);

    const after = await pair.snapshot();
    expectTopology(
      after,
      primary,
      SERVERS.filter((s) => s !== primary && s !== 'db-gra-1'),
    );
    expect(after.mysql['db-gra-1']).toEqual({ reachable: false });
    expect(after.traffic).toEqual({ reachable: true, servers: { 'app-gra': 'drain', 'app-rbx': 'ready' } });
    await expectFrontendServedBy(pair, 'rbx');
    expect(after.apps.rbx).toEqual({ health: 'ok', dbReadOnly: primary !== 'db-rbx-1' });
    expect(await indexStatuses(pair)).toEqual({ orders: 201, customers: 201, 'logs-app-000001': 201 });
    expect(report.detection.length).toBe(2);
    expect(report.steps.find((s) => s.id === 'mysql.fence')?.state).toBe('failed');

    console.log(
      `[e2e] unplanned RTO ${(report.rto.fromStartMs / 1000).toFixed(1)} s (run, with a human's approval); from the kill: ${seconds(firstAnswer - killedAt)} to the first write answered by rbx, ${seconds(firstAcknowledged - killedAt)} to the first acknowledged; lost ${verification.lost.length} of ${ackedByGra} writes acknowledged by gra (client count, checked on ${primary}); ${summary.failed} refused, ${summary.unknown} unknown`,
    );
    done();
  }, 120_000);

  it("gra coming back is fenced by the failover's watcher: db-gra-1 read-only, its indices refusing writes", async () => {
    const done = timer('unplanned: the watcher fences gra once it is back');
    const { pair } = ctx;
    const watcher = ctx.client.workflow.getHandle<typeof fenceOldSite>(fenceWatchWorkflowId(pair.pair));
    // It has tried both while gra was down.
    await waitUntil('the watcher has tried to fence gra', async () => {
      const { pending } = await watcher.query(fenceWatchStatusQuery);
      return pending.length === 2 && pending.every((p) => p.lastError !== undefined);
    });
    expect((await watcher.query(fenceWatchStatusQuery)).pending).toEqual([
      { system: 'mysql', target: 'db-gra-1', lastError: expect.stringMatching(/^MysqlUnreachable: /) },
      {
        system: 'elasticsearch',
        target: 'the leader indices of ES gra',
        lastError: expect.stringMatching(/^EsUnreachable: /),
      },
    ]);
    await pair.revivePrimarySite();
    const revivedAt = Date.now();
    const watch = await within(watcher.result(), 60_000, 'the watcher did not end');
    ctx.runs.push({ workflowId: watcher.workflowId, runId: (await watcher.describe()).runId });
    expect(watch.outcome).toBe('fenced');
    // In the order they were fenced: gra's ES emulator may answer a round before its MariaDB has restarted.
    expect(watch.fenced.map((f) => f.system).sort()).toEqual(['elasticsearch', 'mysql']);
    expect(watch.sentence).toMatch(
      /^every system of gra the failover could not fence is fenced: .*db-gra-1 at /,
    );
    const after = await pair.snapshot();
    expect(after.mysql['db-gra-1']).toEqual({ reachable: true, readOnly: true, replicatesFrom: null });
    await expectGraIndicesFenced(pair);
    console.log(
      `[e2e] the watcher fenced gra ${((Date.now() - revivedAt) / 1000).toFixed(1)} s after it came back (rounds: ${watch.rounds})`,
    );
    done();
  }, 90_000);

  it('no secret of the runbook appears in the run history', () => expectNoSecretsInHistories(ctx));
});

describe('unplanned failover end to end, the replicas behind and the old primary still readable (no salvage)', () => {
  // One app worker: its first write checks the schema (a transaction of its own), long before the replicas stop.
  const ctx = pairWithWorker('measured-loss', { appWorkers: 1 });

  it('the report measures what the writer lost: the transactions db-gra-1 committed that the new primary lacks', async () => {
    const done = timer('measured loss: unplanned failover with the replicas behind');
    const { pair } = ctx;
    const load = pair.writeLoad({ ratePerSecond: 50 });
    load.start();
    await acknowledgedWrites(load, 'gra', 50);
    // The replicas stop receiving (db-rbx-2 first, so db-rbx-1 is never behind it), gra goes on acknowledging
    // writes; then gra's Elasticsearch dies, which alone makes the site fail over. db-gra-1 still answers: the run
    // fences it, and no binlog salvage is configured.
    for (const replica of ['db-rbx-2', 'db-rbx-1']) await pair.cluster.sql(replica, 'STOP SLAVE IO_THREAD');
    const cutAt = Date.now();
    await acknowledgedWrites(load, 'gra', 20, cutAt);
    await graElasticsearchDown(pair);
    const report = await reportApprovingEachQuestion(
      await startPairFailover(ctx.client, pair.pair, 'unplanned', ctx.taskQueue, ctx.runs),
      "gra's Elasticsearch is gone",
    );
    expect(report.outcome, report.sentence).toBe('completed');
    expect(report.steps.find((s) => s.id === 'mysql.fence')?.state).toBe('done');
    expect(report.steps.some((s) => s.id === 'mysql.salvage')).toBe(false);
    const primary = promotedServer(report);
    await load.stop();

    // What the writer saw, by id: the writes db-gra-1 holds and the new primary lacks.
    const onNew = await load.verify(primary);
    const onOld = await load.verify('db-gra-1');
    const onNewIds = writesOn(load, onNew);
    const onlyOnOld = [...writesOn(load, onOld)].filter((seq) => !onNewIds.has(seq));
    // The writer lost what gra acknowledged after the replicas stopped, and each of those is on db-gra-1.
    expect(onNew.lost.length).toBeGreaterThanOrEqual(20);
    expect(onNew.lost.filter((seq) => !onlyOnOld.includes(seq))).toEqual([]);
    const [loss] = report.measuredLoss!;
    expect(report.measuredLoss).toHaveLength(1);
    expect(loss).toEqual({
      system: 'mysql',
      from: 'db-gra-1',
      to: primary,
      count: onlyOnOld.length,
      gtids: expect.stringMatching(/^0-\d+-\d+ to 0-\d+-\d+$/),
      sentence: `${onlyOnOld.length} transaction(s) that db-gra-1 committed are not on ${primary}: ${loss!.gtids}.`,
    });
    expect(report.decisions.map((d) => d.sentence)).toContainEqual(
      expect.stringMatching(
        /^measured MySQL data loss: \d+ transaction\(s\) .*\(the plan's estimate: the primary answers; /,
      ),
    );
    const after = await pair.snapshot();
    expect(after.mysql['db-gra-1']).toEqual({ reachable: true, readOnly: true, replicatesFrom: null });
    console.log(
      `[e2e] measured loss: ${loss!.sentence} The writer lost ${onNew.lost.length} acknowledged writes; ${onlyOnOld.length} of its writes are only on db-gra-1.`,
    );
    done();
  }, 120_000);

  it('no secret of the runbook appears in the run history', () => expectNoSecretsInHistories(ctx));
});

/** `promise`, or a failure saying `what` once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

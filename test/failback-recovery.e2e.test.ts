/**
 * End-to-end failbacks that need a human, survive a crash or finish an aborted one, on real components (a scratch DR pair: MariaDB trio,
 * ES emulator, Perl apps over SSH, HAProxy; the real worker as a process, restarted from a prebuilt bundle; the
 * shared Temporal dev server). One pair serves every case; each case starts from the pair as the runbook
 * describes it (gra primary) and leaves it so.
 *
 * The scratch runbook has no `ssh`/`salvage` section for its MySQL servers, so the unplanned failover here does
 * not salvage the dead primary's binlog: what no replica received stays on the old primary only, which is what
 * the failback must find.
 */
import type { Client, Connection } from '@temporalio/client';
import { readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFailback } from '../client/failback';
import { startReadinessCheck } from '../client/readiness';
import { sleep } from '../dev/stack/daemon';
import type { FrontendWriteLoad } from '../dev/write-load';
import { abortUpdate, discardUpdate, statusQuery } from '../workflows/definitions';
import type { ReadinessReport } from '../workflows/readiness';
import { waitUntil } from './helpers/apps-traffic';
import {
  activitiesScheduled,
  activityResults,
  APPROVER,
  approve,
  approveEachFence,
  pendingDecision,
  phasesEntered,
  reject,
  reportWithin,
  startPairFailover,
  takeSocketOnceDrained,
  timer,
  waitForStatus,
} from './helpers/failover-e2e';
import { answer } from './helpers/answers';
import { freeze } from './helpers/worker-kill';
import { temporalClient, testTaskQueue } from './helpers/local-stack';
import {
  startScratchDrPair,
  startWorkerProcess,
  type DrPairSnapshot,
  type ScratchDrPair,
  type WorkerProcess,
} from './helpers/scratch-dr-pair';

const RBX_REPLICAS = ['db-rbx-1', 'db-rbx-2'];

const acknowledgedBy = (load: FrontendWriteLoad, site: string, since = 0) =>
  load.records.filter((r) => r.outcome === 'acknowledged' && r.server === site && r.at >= since);

/** How long writes were refused or left unanswered after `since`: first such answer to the last (0 when none). */
function writesUnavailableMs(load: FrontendWriteLoad, since: number): number {
  const times = load.records.filter((r) => r.outcome !== 'acknowledged' && r.at >= since).map((r) => r.at);
  return times.length > 0 ? Math.max(...times) - Math.min(...times) : 0;
}

const seconds = (ms: number | undefined) => `${((ms ?? NaN) / 1000).toFixed(1)} s`;

/** The pair as the runbook describes it: db-gra-1 primary, rbx replicating from it, rbx's indices following gra's. */
function expectForwardPair(after: DrPairSnapshot, before: DrPairSnapshot) {
  expect(after.mysql).toEqual(before.mysql);
  expect(after.mysql['db-gra-1']).toEqual({ reachable: true, readOnly: false, replicatesFrom: null });
  for (const replica of RBX_REPLICAS) expect(after.mysql[replica]?.replicatesFrom).toBe('db-gra-1');
  expect(after.elasticsearch.rbx?.indices).toEqual({
    orders: 'follower active',
    customers: 'follower active',
    'logs-app-000001': 'follower active',
  });
  expect(after.elasticsearch.gra?.indices).toEqual(before.elasticsearch.gra?.indices);
  expect(after.elasticsearch.rbx?.autoFollowPatterns).toEqual(before.elasticsearch.rbx?.autoFollowPatterns);
  expect(after.elasticsearch.gra?.autoFollowPatterns ?? {}).toEqual(
    before.elasticsearch.gra?.autoFollowPatterns ?? {},
  );
  expect(after.traffic).toEqual(before.traffic);
}

describe('failback end to end: errant transactions, diverged indices, an aborted switch back finished, a worker killed mid-reprotect', () => {
  let pair: ScratchDrPair;
  let worker: WorkerProcess;
  let client: Client;
  let connection: Connection | undefined;
  const taskQueue = testTaskQueue('e2e-failback-recovery');
  const runs: { workflowId: string; runId: string }[] = [];

  /** The worker as operators run it, on the run's workflow bundle: a restart takes about a second. */
  async function startWorker(): Promise<WorkerProcess> {
    return startWorkerProcess({ runbookPath: pair.runbookPath, taskQueue });
  }

  beforeAll(async () => {
    const done = timer('failback recovery: scratch pair and worker up');
    pair = await startScratchDrPair({
      edit: (runbook) => {
        runbook.approval = { ...runbook.approval!, policy: 'auto' };
        // An activity whose worker died is given to the next worker when its timeout passes: keep them short.
        runbook.timeouts = { ...runbook.timeouts, activity: '5s', heartbeat: '5s' };
      },
    });
    worker = await startWorker();
    ({ client, connection } = await temporalClient());
    done();
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    await pair?.close();
    await connection?.close();
  });

  const failback = async (options: { holdBeforeFence?: boolean } = {}) => {
    const handle = await startFailback(
      client,
      {
        pair: pair.pair,
        mode: 'full',
        trigger: 'test',
        reason: 'end-to-end test',
        requestedBy: APPROVER,
        ...options,
      },
      { taskQueue },
    );
    const run = { workflowId: handle.workflowId, runId: (await handle.describe()).runId };
    runs.push(run);
    return { handle, run };
  };

  /** gra's orders index: `open` (a regular index), `closed`, or `follower`. */
  async function graOrdersState(): Promise<string> {
    const info = await es('gra', 'GET', '/orders/_ccr/info');
    if (((info.body.follower_indices as unknown[] | undefined) ?? []).length > 0) return 'follower';
    const res = await fetch(`${pair.esUrl('gra')}/_cat/indices/orders?format=json&h=status`);
    const [row] = (await res.json()) as { status?: string }[];
    return row?.status === 'close' ? 'closed' : 'open';
  }

  async function readiness(): Promise<ReadinessReport> {
    const handle = await startReadinessCheck(client, pair.pair, 'test', taskQueue);
    return (await handle.result()) as ReadinessReport;
  }

  const es = async (site: 'gra' | 'rbx', method: string, p: string, body?: unknown) => {
    const res = await fetch(`${pair.esUrl(site)}${p}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /**
   * Slows gra's CCR restores (`ccr.indices.recovery.max_bytes_per_sec`, which the restore of a put-follow obeys) so
   * that re-following rbx's orders takes about `seconds`: esFollowIndices waits for that restore, so a worker killed
   * once orders is closed or following is killed inside the activity, not just after it. Without it the restore
   * took milliseconds and, on a busy machine, the kill sometimes came after the activity had ended.
   */
  async function slowGraRestores(seconds: number): Promise<string> {
    const { body } = await es('rbx', 'GET', '/orders/_search?size=10000');
    const hits = (body.hits as { hits: { _source: unknown }[] }).hits;
    const bytes = hits.reduce((n, h) => n + Buffer.byteLength(JSON.stringify(h._source)), 0);
    const rate = `${Math.max(1, Math.floor(bytes / seconds))}b`;
    const res = await es('gra', 'PUT', '/_cluster/settings', {
      persistent: { 'ccr.indices.recovery.max_bytes_per_sec': rate },
    });
    expect(res.status).toBe(200);
    return rate;
  }

  it('unplanned failover, then failback after gra restarts: the transactions no replica received are listed, wait for discard, and the pair ends as before', async () => {
    const done = timer('failback recovery: unplanned failover, errant transactions discarded, failback');
    const before = await pair.snapshot();
    const load = pair.writeLoad({ ratePerSecond: 100, maxInFlight: 1000, requestTimeoutMs: 10_000 });
    load.start();
    await waitUntil('gra acknowledges writes', async () => acknowledgedBy(load, 'gra').length >= 50);
    // The replicas stop receiving (a lagging or cut replication link) while gra goes on acknowledging writes,
    // then the site dies: what gra acknowledged since then exists on gra only.
    // db-rbx-1 stops last, so it holds at least what db-rbx-2 holds: it is the one promoted (rbx's app writes to it).
    for (const replica of [...RBX_REPLICAS].reverse())
      await pair.cluster.sql(replica, 'STOP SLAVE IO_THREAD');
    const cutAt = Date.now();
    await waitUntil(
      'gra acknowledges writes no replica receives',
      async () => acknowledgedBy(load, 'gra', cutAt).length >= 30,
    );
    await pair.killPrimarySite();
    const killedAt = Date.now();
    for (const replica of RBX_REPLICAS) await pair.cluster.sql(replica, 'START SLAVE IO_THREAD');
    await waitUntil('the replicas lose db-gra-1', async () => {
      const { mysql } = await pair.snapshot();
      return RBX_REPLICAS.every((s) => mysql[s]?.ioRunning === 'Connecting');
    });
    const unplanned = await startPairFailover(client, pair.pair, 'unplanned', taskQueue, runs);
    // The gra site is dead, so neither db-gra-1 nor its indices can be fenced: going on without each fence waits for
    // a human, whatever the policy.
    await approveEachFence(unplanned);
    const failover = await reportWithin(unplanned);
    expect(failover.outcome).toBe('completed');
    expect(failover.steps.find((s) => s.id === 'mysql.promote')?.target).toBe('db-rbx-1');
    const failedOverAt = Date.now();
    await waitUntil(
      'rbx acknowledges writes',
      async () => acknowledgedBy(load, 'rbx', failedOverAt).length >= 50,
    );

    await pair.revivePrimarySite();
    // The writes gra acknowledged that the new primary lacks: gra took them after the replicas' last receipt.
    const missingOnRbx = (await load.verify('db-rbx-1')).lost.filter((seq) =>
      acknowledgedBy(load, 'gra').some((r) => r.seq === seq),
    );
    expect(missingOnRbx.length).toBeGreaterThanOrEqual(1);
    const failbackStart = Date.now();
    const { handle, run } = await failback();
    const pending = await pendingDecision(handle, 'operator', 60_000);
    expect(pending.answers).toEqual(['discard', 'abort']);
    // The question lists them (up to 20 GTIDs, all of db-gra-1's server id 1) and counts them.
    const listed = /db-gra-1 has (\d+) transaction\(s\) that db-rbx-1 lacks: ([0-9, -]+)(, …)?\./.exec(
      pending.question,
    );
    expect(listed, pending.question).not.toBeNull();
    const errantCount = Number(listed![1]);
    const gtids = listed![2]!.split(', ');
    expect(new Set(gtids).size).toBe(Math.min(errantCount, 20));
    expect(gtids.every((g) => /^0-1-\d+$/.test(g))).toBe(true);
    // Each acknowledged write gra holds alone is one of its errant transactions (unacknowledged ones may add more).
    expect(errantCount).toBeGreaterThanOrEqual(missingOnRbx.length);
    // Nothing is rebuilt or switched while the decision waits: db-gra-1 still holds those writes, fenced.
    await sleep(1_000);
    expect((await load.verify('db-gra-1')).lost.filter((seq) => missingOnRbx.includes(seq))).toEqual([]);
    const waiting = await pair.snapshot();
    expect(waiting.mysql['db-gra-1']).toMatchObject({
      reachable: true,
      readOnly: true,
      replicatesFrom: null,
    });
    expect(waiting.traffic.servers).toEqual({ 'app-gra': 'drain', 'app-rbx': 'ready' });
    expect((await activityResults(client, run)).map((r) => r.type)).not.toContain('mysqlRebuildReplica');

    await answer(handle, discardUpdate, APPROVER, 'the lost orders are re-entered by hand');
    const report = await reportWithin(handle, 120_000);
    expect(report.outcome).toBe('completed');
    expect(report.operatorDecisions).toMatchObject([{ action: 'discard', by: APPROVER }]);
    expect(report.dataLoss).toEqual(
      expect.arrayContaining([expect.objectContaining({ system: 'mysql', count: errantCount })]),
    );
    const rebuilt = (await activityResults(client, run)).filter((r) => r.type === 'mysqlRebuildReplica');
    expect(rebuilt).toMatchObject([
      {
        type: 'mysqlRebuildReplica',
        result: expect.objectContaining({ server: 'db-gra-1', alreadyClean: false }),
      },
    ]);
    const failedBackAt = Date.now();
    await waitUntil(
      'gra acknowledges writes again',
      async () => acknowledgedBy(load, 'gra', failedBackAt).length >= 50,
    );
    const summary = await load.stop();
    // Lost over both moves: exactly what gra acknowledged and no replica received, discarded by the operator.
    const verification = await load.verify('db-gra-1');
    expect([...verification.lost].sort((a, b) => a - b)).toEqual([...missingOnRbx].sort((a, b) => a - b));
    expect(verification.lost.every((seq) => load.records.find((r) => r.seq === seq)!.at < killedAt)).toBe(
      true,
    );

    expectForwardPair(await pair.snapshot(), before);
    const ready = await readiness();
    expect(ready.ready).toBe(true);
    expect(ready.verdict).toMatch(/^ready/);
    console.log(
      `[e2e] failback after an unplanned failover: RTO ${seconds(report.rto.fromStartMs)} (run, the operator's discard decision included), ${seconds(report.rto.fromApprovalMs)} from the switch-back approval; db-gra-1 held ${errantCount} errant transaction(s), discarded; lost ${verification.lost.length} of ${summary.acknowledged} acknowledged writes over both moves (all acknowledged by gra after its replicas stopped receiving); writes refused for ${seconds(writesUnavailableMs(load, failbackStart))} during the failback (client side); unplanned failover RTO ${seconds(failover.rto.fromStartMs)}`,
    );
    done();
  }, 300_000);

  it('writes gra took in an index after a planned failover are counted and kept until approved: rejected, they stay; approved, the failback completes', async () => {
    const done = timer('failback recovery: diverged index rejected, then approved');
    const before = await pair.snapshot();
    const failover = await reportWithin(
      await startPairFailover(client, pair.pair, 'planned', taskQueue, runs),
    );
    expect(failover.outcome).toBe('completed');
    // The failover left gra's indices refusing writes; someone lifts the block on orders by hand, and a stale client
    // still writes to it.
    expect((await es('gra', 'PUT', '/orders/_doc/late-0', { written: 'refused' })).status).toBe(403);
    expect((await es('gra', 'PUT', '/orders/_settings', { 'index.blocks.write': null })).status).toBe(200);
    const diverged = ['late-1', 'late-2', 'late-3'];
    for (const id of diverged)
      expect(
        (await es('gra', 'PUT', `/orders/_doc/${id}`, { written: 'on gra after the failover' })).status,
      ).toBe(201);
    const holds = async () =>
      (
        await Promise.all(diverged.map(async (id) => (await es('gra', 'GET', `/orders/_doc/${id}`)).status))
      ).every((s) => s === 200);

    const first = await failback();
    const asked = await pendingDecision(first.handle, 'approval', 60_000);
    // Some of their ids, in the order the count reads them (by shard, then by document within the shard).
    const sample =
      /gra\/orders holds 3 document\(s\) that rbx lacks or holds otherwise \(e\.g\. ([^)]*)\)/.exec(
        asked.question,
      );
    expect(sample, asked.question).not.toBeNull();
    expect(sample![1]!.split(', ').sort()).toEqual(diverged);
    // Counted, not replaced: the index still holds them and is no follower; nothing followed yet.
    expect(await holds()).toBe(true);
    expect((await pair.snapshot()).elasticsearch.gra?.indices?.orders).toBe('open');
    expect(await activitiesScheduled(client, first.run)).not.toContain('esFollowIndices');
    await reject(first.handle, 'copy them aside first');
    const rejected = await reportWithin(first.handle);
    expect(rejected.outcome).toBe('rejected');
    expect(rejected.sentence).toMatch(/not approved \(copy them aside first\).*rbx still serves/);
    expect(await holds()).toBe(true);
    // Rejected at the first count: nothing was write-blocked either.
    expect(await activitiesScheduled(client, first.run)).not.toContain('esFenceWrites');
    const afterReject = await pair.snapshot();
    expect(afterReject.elasticsearch.gra?.indices?.orders).toBe('open');
    expect(afterReject.traffic.servers).toEqual({ 'app-gra': 'drain', 'app-rbx': 'ready' });
    expect(afterReject.mysql['db-rbx-1']).toMatchObject({ readOnly: false, replicatesFrom: null });

    const second = await failback();
    const askedAgain = await pendingDecision(second.handle, 'approval', 60_000);
    expect(askedAgain.question).toMatch(/gra\/orders holds 3 document\(s\)/);
    expect(await holds()).toBe(true);
    // The stale client writes once more while the question waits: the recount under the write block finds it, and
    // it is asked again with the new count; meanwhile gra's orders refuses writes.
    expect(
      (await es('gra', 'PUT', '/orders/_doc/late-4', { written: 'while the question waited' })).status,
    ).toBe(201);
    await approve(second.handle, 'copied aside');
    const recounted = await waitForStatus(
      second.handle,
      'the question with the recount',
      (s) => s.pending?.kind === 'approval' && /under the write block/.test(s.pending.question),
      60_000,
    );
    expect(recounted.pending!.question).toMatch(
      /gra\/orders holds 4 document\(s\) that rbx lacks or holds otherwise \(e\.g\. [^;]*; 3 at the earlier count\) \(counted under the write block\).*more than the 3 document\(s\) approved before the write block/,
    );
    const refused = await es('gra', 'PUT', '/orders/_doc/late-5', { written: 'under the write block' });
    expect(refused.status, JSON.stringify(refused.body)).toBe(403);
    expect(await activitiesScheduled(client, second.run)).not.toContain('esFollowIndices');
    await approve(second.handle, 'late-4 copied aside too');
    const report = await reportWithin(second.handle, 120_000);
    expect(report.outcome).toBe('completed');
    expect(report.dataLoss).toEqual(
      expect.arrayContaining([expect.objectContaining({ system: 'elasticsearch', count: 4 })]),
    );
    expect(
      report.approvals.filter((a) => a.how === 'approver').map((a) => [a.approved, a.by, a.reason]),
    ).toEqual([
      [true, APPROVER, 'copied aside'],
      [true, APPROVER, 'late-4 copied aside too'],
    ]);
    const counts = (await activityResults(client, second.run)).filter(
      (r) => r.type === 'esDivergence' && r.result.site === 'gra',
    );
    expect(counts.map((r) => [r.result.total, r.result.underWriteBlock ?? false])).toEqual([
      [3, false],
      [4, true],
    ]);
    // Replaced by a follower of rbx's orders, which never had them.
    for (const id of [...diverged, 'late-4', 'late-5'])
      expect((await es('gra', 'GET', `/orders/_doc/${id}`)).status).toBe(404);
    expectForwardPair(await pair.snapshot(), before);
    console.log(
      `[e2e] failback with a diverged index: ${diverged.length} documents counted and kept until approved, one more written while asked found by the recount under the write block and asked again; RTO ${seconds(report.rto.fromStartMs)} (second run, the approval wait included)`,
    );
    done();
  }, 240_000);

  it("a switch back aborted past the point of no return is finished by the next failback: HAProxy serves gra and gra's indices take writes", async () => {
    const done = timer('failback recovery: switch back aborted past the point of no return, then finished');
    const before = await pair.snapshot();
    const failover = await reportWithin(
      await startPairFailover(client, pair.pair, 'planned', taskQueue, runs),
    );
    expect(failover.outcome).toBe('completed');

    // HAProxy's runtime API socket goes away (as after a misconfigured reload) once rbx is drained: the switch to
    // gra fails past the point of no return, and the operator aborts. The switch back's window runs inside one
    // workflow task, so it holds before its fence, the candidate db-gra-1 is frozen meanwhile (its catch-up waits),
    // and the socket goes once HAProxy shows rbx drained.
    const socket = pair.haproxySocket;
    const moved = `${socket}.away`;
    const first = await failback({ holdBeforeFence: true });
    await waitForStatus(
      first.handle,
      'the switch back holding before its fence',
      (s) => s.pending?.kind === 'approval' && /is warm/.test(s.pending.question),
      90_000,
    );
    const candidate = pair.cluster.pid('db-gra-1')!;
    await freeze(candidate);
    try {
      await approve(first.handle, 'switch back now, with a fault injected');
      await takeSocketOnceDrained(socket, moved, 'app-rbx');
    } finally {
      process.kill(candidate, 'SIGCONT');
    }
    let aborted;
    try {
      const pending = await pendingDecision(first.handle, 'operator', 90_000);
      expect(pending.question).toMatch(
        /^switch traffic to gra failed past the point of no return: TrafficProviderUnreachable: /,
      );
      expect((await first.handle.query(statusQuery)).pastPointOfNoReturn).toBe(true);
      await answer(first.handle, abortUpdate, APPROVER, 'HAProxy needs a look');
      aborted = await reportWithin(first.handle);
    } finally {
      renameSync(moved, socket);
    }
    expect(aborted.outcome).toBe('aborted');
    const half = await pair.snapshot();
    expect(half.mysql['db-gra-1']).toMatchObject({ reachable: true, readOnly: false, replicatesFrom: null });
    expect(half.traffic.servers).toEqual({ 'app-gra': 'drain', 'app-rbx': 'drain' });

    const second = await failback();
    const report = await reportWithin(second.handle, 120_000);
    expect(report.outcome, report.sentence).toBe('completed');
    expect(report.decisions.map((d) => d.sentence)).toEqual(
      expect.arrayContaining([expect.stringMatching(/half failed back.*traffic does not go to gra alone/)]),
    );
    expect(report.steps.filter((s) => s.system === 'traffic').map((s) => [s.id, s.state])).toEqual([
      ['traffic.switch', 'done'],
      ['traffic.verify', 'done'],
    ]);
    const after = await pair.snapshot();
    expect(after.traffic.servers).toEqual({ 'app-gra': 'ready', 'app-rbx': 'drain' });
    const served = (await (await fetch(pair.frontendUrl('/health'))).json()) as { site?: string };
    expect(served.site).toBe('gra');
    const written = await es('gra', 'PUT', '/orders/_doc/after-finished-failback?refresh=true', {
      written: 'on gra once the failback finished',
    });
    expect(written.status, JSON.stringify(written.body)).toBe(201);
    expect((await es('gra', 'DELETE', '/orders/_doc/after-finished-failback?refresh=true')).status).toBe(200);
    expectForwardPair(after, before);
    expect((await readiness()).ready).toBe(true);
    console.log(
      `[e2e] failback resumed after a switch back aborted past the point of no return: completed in ${seconds(report.rto.fromStartMs)}`,
    );
    done();
  }, 300_000);

  it('a failback whose worker is SIGKILLed twice mid-reprotect completes after restarts, each step applied once', async () => {
    const done = timer('failback recovery: worker killed mid-reprotect');
    const before = await pair.snapshot();
    const haproxyLog = path.join(path.dirname(pair.haproxySocket), 'haproxy.log');
    const haproxyEvents = (line: RegExp) =>
      readFileSync(haproxyLog, 'utf8')
        .split('\n')
        .filter((l) => line.test(l)).length;
    const load = pair.writeLoad({ ratePerSecond: 100, maxInFlight: 1000, requestTimeoutMs: 10_000 });
    load.start();
    await waitUntil('gra acknowledges writes', async () => acknowledgedBy(load, 'gra').length >= 50);
    const failover = await reportWithin(
      await startPairFailover(client, pair.pair, 'planned', taskQueue, runs),
    );
    expect(failover.outcome).toBe('completed');
    const failedOverAt = Date.now();
    await waitUntil(
      'rbx acknowledges writes',
      async () => acknowledgedBy(load, 'rbx', failedOverAt).length >= 50,
    );
    const toGra = haproxyEvents(/^Server app\/app-gra is UP \(leaving forced drain\)/);
    const rbxDrained = haproxyEvents(/^Server app\/app-rbx enters drain state/);

    const restoreRate = await slowGraRestores(3);
    const failbackStart = Date.now();
    const { handle, run } = await failback();
    let ended = false;
    const finished = reportWithin(handle, 240_000).finally(() => (ended = true));
    // After a planned failover db-gra-1 already replicates from db-rbx-1: the reprotect's changes are on gra's ES
    // cluster. The worker is killed once as the auto-follow patterns are handed to it (done, half done or not
    // started), once in the middle of replacing gra's indices: gra's orders, the first, already changed.
    const killAt = [
      { activity: 'esMirrorAutoFollowPatterns', when: async () => true },
      { activity: 'esFollowIndices', when: async () => (await graOrdersState()) !== 'open' },
    ];
    const killedIn: { activity: string; phases: string[]; orders: string }[] = [];
    const restartsMs: number[] = [];
    while (!ended && killedIn.length < killAt.length) {
      const { activity, when } = killAt[killedIn.length]!;
      if (!(await activitiesScheduled(client, run)).includes(activity) || !(await when())) {
        await sleep(5);
        continue;
      }
      worker.kill('SIGKILL');
      expect(await worker.stopped).toMatchObject({ signal: 'SIGKILL' });
      // Without a worker the run cannot move on: the phases seen now are those at the kill.
      killedIn.push({ activity, phases: await phasesEntered(client, run), orders: await graOrdersState() });
      const restart = Date.now();
      worker = await startWorker();
      restartsMs.push(Date.now() - restart);
    }
    const report = await finished;
    await es('gra', 'PUT', '/_cluster/settings', {
      persistent: { 'ccr.indices.recovery.max_bytes_per_sec': null },
    });
    const summary = await load.stop();
    console.log(
      `[e2e] failback recovery: gra restores at ${restoreRate}/s; worker killed in ${JSON.stringify(killedIn)}`,
    );
    expect(killedIn.map((k) => [k.activity, k.phases.at(-1)])).toEqual([
      ['esMirrorAutoFollowPatterns', 'reprotect'],
      ['esFollowIndices', 'reprotect'],
    ]);

    expect(report.outcome).toBe('completed');
    expect(report.steps.map((s) => [s.id, s.state, s.attempts])).toEqual(
      report.steps.map((s) => [s.id, 'done', 1]),
    );
    // Each reprotect change completed once: an attempt lost with its worker leaves no result, and a retry finds
    // what it did done.
    const results = await activityResults(client, run);
    const completed = (type: string, where: (r: Record<string, unknown>) => boolean) =>
      results.filter((r) => r.type === type && where(r.result));
    expect(completed('mysqlRepoint', (r) => r.server === 'db-gra-1')).toHaveLength(1);
    const mirror = completed('esMirrorAutoFollowPatterns', (r) => r.site === 'gra');
    expect(mirror).toHaveLength(1);
    const mirrored = mirror[0]!.result.patterns as { name: string; outcome: string }[];
    expect(mirrored.map((p) => p.name)).toEqual(['logs-from-gra']);
    expect(['created', 'already-there']).toContain(mirrored[0]!.outcome);
    const graFollow = completed('esFollowIndices', (r) => r.site === 'gra');
    expect(graFollow).toHaveLength(1);
    const followed = graFollow[0]!.result.indices as { index: string; outcome: string }[];
    expect(followed.map((i) => i.index).sort()).toEqual(['customers', 'logs-app-000001', 'orders']);
    // The attempt killed mid-way (it waits for the slowed restore) left orders closed or following: the retry
    // replaces a closed one, and keeps a follower as it is (following already, or once its restore has ended).
    const ordersAtKill = killedIn[1]!.orders;
    expect(['closed', 'follower']).toContain(ordersAtKill);
    expect(graFollow[0]!.attempt).toBeGreaterThan(1);
    const ordersOutcome = followed.find((i) => i.index === 'orders')?.outcome;
    console.log(
      `[e2e] failback recovery: orders was ${ordersAtKill} at the kill; the retry (attempt ${graFollow[0]!.attempt}) says ${ordersOutcome}`,
    );
    if (ordersAtKill === 'follower') expect(['already-following', 'resumed']).toContain(ordersOutcome);
    else expect(ordersOutcome).toBe('replaced');
    expect(followed.every((i) => ['replaced', 'already-following', 'resumed'].includes(i.outcome))).toBe(
      true,
    );
    expect(results.filter((r) => r.type === 'mysqlRebuildReplica')).toEqual([]);
    // The systems moved once: one switch to gra in HAProxy's log, no write lost.
    expect(haproxyEvents(/^Server app\/app-gra is UP \(leaving forced drain\)/) - toGra).toBe(1);
    expect(haproxyEvents(/^Server app\/app-rbx enters drain state/) - rbxDrained).toBe(1);
    const verification = await load.verify('db-gra-1');
    expect(verification.lost).toEqual([]);
    expectForwardPair(await pair.snapshot(), before);
    expect((await readiness()).ready).toBe(true);
    console.log(
      `[e2e] failback with the worker SIGKILLed twice mid-reprotect: RTO ${seconds(report.rto.fromStartMs)} (run, two worker restarts included), ${seconds(report.rto.fromApprovalMs)} from the switch-back approval; writes refused for ${seconds(writesUnavailableMs(load, failbackStart))} (client side); lost ${verification.lost.length} of ${summary.acknowledged} acknowledged writes over both moves; worker restarts took ${restartsMs.map((ms) => seconds(ms)).join(' and ')}; completed by attempt ${mirror[0]!.attempt} (esMirrorAutoFollowPatterns gra: ${mirrored.map((p) => `${p.name} ${p.outcome}`).join(', ')}) and ${graFollow[0]!.attempt} (esFollowIndices gra: ${followed.map((i) => `${i.index} ${i.outcome}`).join(', ')})`,
    );
    done();
  }, 300_000);
});

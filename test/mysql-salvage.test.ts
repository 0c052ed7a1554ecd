import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client, Connection } from '@temporalio/client';
import { freePort, sleep } from '../dev/stack/daemon';
import { sshPaths, sshServer, sshUser } from '../dev/stack/services/sshd';
import { failover, type FailoverReport } from '../workflows';
import { pairMoveWorkflowId } from '../workflows/definitions';
import { reportApprovingEachQuestion } from './helpers/failover-e2e';
import { withEnv } from './helpers/env';
import { keepDownCommand } from './helpers/mariadb-keep-down';
import { temporalClient } from './helpers/local-stack';
import { startScratchPair, type ScratchPair } from './helpers/scratch-cluster';
import { startWorkerProcess, type WorkerProcess } from './helpers/worker-process';
import { takeTurns } from './helpers/turns';
import { TEST_APPROVER_LINE } from './helpers/approver';

// Offers a write rate it asserts: never alongside another such load, which would starve it of CPU.
takeTurns('write-load', 'exclusive');

const GRA = 'db-gra-1';
const RBX1 = 'db-rbx-1';
const RBX2 = 'db-rbx-2';

/**
 * Unplanned failover of a scratch MariaDB trio after its primary's mysqld is SIGKILLed while both replicas had
 * stopped receiving a second earlier, under a client write load: the orchestrator's worker (a process of its own,
 * as operators run it, on the stack's Temporal server) salvages the dead primary's binlog over SSH (an sshd of this
 * test's own, host key pinned) before promoting. Counts are the client's: what it was told was committed.
 */
describe('salvage of a dead primary binlog during an unplanned failover (scratch trio, real SSH and worker)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'salvage-'));
  const sshEnv = { DR_STACK_DIR: path.join(dir, 'sshd'), DR_STACK_PORT_SSH: '' };
  let sshd: ReturnType<typeof sshServer> | undefined;
  let ssh: ReturnType<typeof sshPaths>;
  let temporal: { client: Client; connection: Connection };
  let s: ScratchPair | undefined;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    sshEnv.DR_STACK_PORT_SSH = String(await freePort());
    await withEnv(sshEnv, async () => {
      sshd = sshServer(() => undefined);
      await sshd.up();
      ssh = sshPaths();
    });
    temporal = await temporalClient();
  }, 240_000);

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop(5_000);
    await s?.destroy();
    s = undefined;
  });

  afterAll(async () => {
    await temporal?.connection.close();
    if (sshd) await withEnv(sshEnv, () => sshd!.down());
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh trio whose runbook lets db-gra-1's binlog be salvaged over SSH at `sshPort`. */
  async function trio(sshPort = Number(sshEnv.DR_STACK_PORT_SSH)) {
    s = await startScratchPair({
      maxLagSeconds: 60,
      servers: (cluster) => ({
        [GRA]: {
          ssh: {
            host: '127.0.0.1',
            port: sshPort,
            user: sshUser(),
            privateKey: `file:${ssh.clientKey}`,
            hostKey: `file:${ssh.hostKeyPub}`,
          },
          salvage: {
            binlogIndex: path.join(cluster.dirs(GRA).data, 'mariadb-bin.index'),
            keepDown: keepDownCommand(cluster, GRA),
          },
        },
      }),
      runbook: {
        approval: { policy: 'auto', approvers: [TEST_APPROVER_LINE] },
        probes: { interval: '1s', timeout: '1s', fall: 2, rise: 1 },
        timeouts: { replicaCatchUp: '30s', salvage: '90s', heartbeat: '3s', activity: '20s' },
      },
    });
    return s;
  }

  async function worker(pair: ScratchPair, taskQueue: string): Promise<WorkerProcess> {
    const w = await startWorkerProcess({
      runbookPath: pair.runbookFile,
      taskQueue,
      runDir: dir,
    });
    workers.push(w);
    return w;
  }

  function startFailover(pair: ScratchPair, taskQueue: string) {
    return temporal.client.workflow.start(failover, {
      args: [
        {
          pair: pair.pair,
          mode: 'unplanned',
          trigger: 'test',
          reason: 'primary killed',
          requestedBy: 'test',
        },
      ],
      taskQueue,
      workflowId: pairMoveWorkflowId(pair.pair),
    });
  }

  /** Writes at `rate`/s; both replicas stop receiving `behindMs` before the primary is SIGKILLed. */
  /** Waits (10 s at most) until `ahead` has received a transaction more than `behind` (MariaDB's Gtid_IO_Pos). */
  async function waitForReceivedAhead(pair: ScratchPair, ahead: string, behind: string): Promise<void> {
    const received = async (name: string) => {
      const status = await pair.act('mysqlServerStatus', { pair: pair.pair, server: name });
      return Number(/-(\d+)$/.exec(status.replication?.retrievedGtid ?? '')?.[1] ?? 0);
    };
    const deadline = Date.now() + 10_000;
    while ((await received(ahead)) <= (await received(behind))) {
      if (Date.now() > deadline) throw new Error(`${ahead} did not receive more than ${behind} within 10 s`);
      await sleep(20);
    }
  }

  async function killPrimaryBehindReplicas(pair: ScratchPair, rate: number, behindMs: number) {
    const load = pair.writeLoad(rate);
    await load.prepare();
    load.start();
    await load.waitForAcknowledged(100);
    // db-rbx-1 first, then db-rbx-2 once it has received more: a little ahead (whatever the machine's load), it is
    // the candidate, and db-rbx-1 lacks nothing db-rbx-2 has not.
    await pair.cluster.sql(RBX1, 'STOP SLAVE IO_THREAD');
    await load.waitForAcknowledged(5);
    await waitForReceivedAhead(pair, RBX2, RBX1);
    await pair.cluster.sql(RBX2, 'STOP SLAVE IO_THREAD');
    const acknowledgedAtCut = load.acknowledgedCount();
    await sleep(behindMs);
    await pair.cluster.kill(GRA, 'SIGKILL');
    const behind = load.acknowledgedCount() - acknowledgedAtCut;
    return { load, behind };
  }

  const mysqlLoss = (report: FailoverReport) => report.dataLoss.find((d) => d.system === 'mysql');

  it('loses no acknowledged write: the dead primary binlog is salvaged before the promotion and the old primary rejoins without errant transactions', async () => {
    const pair = await trio();
    const taskQueue = `salvage-${randomUUID().slice(0, 8)}`;
    await worker(pair, taskQueue);
    const { load, behind } = await killPrimaryBehindReplicas(pair, 250, 1000);
    expect(behind).toBeGreaterThan(0); // acknowledged writes the replicas lack when the primary dies
    const report = await reportApprovingEachQuestion(
      await startFailover(pair, taskQueue),
      'gra is gone',
      180_000,
    );
    expect(report.outcome).toBe('completed');
    const promoted = report.steps.find((st) => st.id === 'mysql.promote')!.target;
    expect(promoted).toBe(RBX2);

    await load.waitForAcknowledged(100, 30_000);
    const summary = await load.stop();
    const onNew = await load.verify(RBX2);
    await pair.act('mysqlCatchUp', { pair: pair.pair, server: RBX1, untilServer: RBX2 });
    const onOther = await load.verify(RBX1);
    expect(onNew.lost).toEqual([]);
    expect(onOther.lost).toEqual([]);

    const loss = mysqlLoss(report)!;
    expect(loss.count).toBe(0);
    expect(loss.recovered).toBeGreaterThanOrEqual(behind);
    expect(loss.sentence).toMatch(
      new RegExp(`^none: ${loss.recovered} transaction\\(s\\) salvaged from ${GRA}'s binlog onto ${RBX2}`),
    );

    // The old primary comes back read-only: it has nothing the new primary lacks, and follows it.
    await pair.cluster.start(GRA, { readOnly: true });
    const errant = await pair.act('mysqlFindErrantTransactions', {
      pair: pair.pair,
      server: GRA,
      reference: RBX2,
    });
    expect(errant.count).toBe(0);
    const rejoined = await pair.act('mysqlRepoint', { pair: pair.pair, server: GRA, source: RBX2 });
    expect(rejoined).toMatchObject({ ioRunning: 'Yes', sqlRunning: 'Yes' });
    const writable = (await pair.act('mysqlServerStatuses', { pair: pair.pair })).filter(
      (x) => x.reachable && !x.readOnly,
    );
    expect(writable.map((x) => x.server)).toEqual([RBX2]);

    console.log(
      `salvage: ${behind} writes acknowledged in the 1 s between the replicas' cut and the SIGKILL ` +
        `(${summary.achievedRatePerSecond} writes/s over the whole run, outage included); ` +
        `${onNew.acknowledged} acknowledged, ${onNew.lost.length} lost; ${loss.recovered} transaction(s) salvaged ` +
        `(${report.steps.find((st) => st.id === 'mysql.salvage')?.durationMs} ms); RTO ${report.rto.fromStartMs} ms; ` +
        `old primary errant transactions: ${errant.count}`,
    );
  }, 240_000);

  it('fails over without salvage when the old primary host does not answer over SSH, and says why', async () => {
    const closedPort = await freePort();
    const pair = await trio(closedPort);
    const taskQueue = `salvage-${randomUUID().slice(0, 8)}`;
    await worker(pair, taskQueue);
    const { load } = await killPrimaryBehindReplicas(pair, 250, 1000);
    const report = await reportApprovingEachQuestion(
      await startFailover(pair, taskQueue),
      'gra is gone',
      180_000,
    );
    expect(report.outcome).toBe('completed');
    await load.waitForAcknowledged(50, 30_000);
    const summary = await load.stop();
    const onNew = await load.verify(RBX2);
    const loss = mysqlLoss(report)!;
    expect(loss.sentence).toMatch(
      new RegExp(
        `^salvage impossible: ${GRA} \\(${sshUser()}@127\\.0\\.0\\.1:${closedPort}\\): cannot connect: ECONNREFUSED; `,
      ),
    );
    expect(loss.recovered).toBe(0);
    expect(onNew.lost.length).toBeGreaterThan(0);
    console.log(
      `no salvage (SSH refused): ${summary.achievedRatePerSecond} writes/s; ${onNew.lost.length} of ${onNew.acknowledged} ` +
        `acknowledged write(s) lost; the report says: ${loss.sentence}`,
    );
  }, 240_000);

  it('a worker SIGKILLed mid-salvage: another worker resumes it and no transaction is applied twice', async () => {
    const pair = await trio();
    const taskQueue = `salvage-${randomUUID().slice(0, 8)}`;
    const first = await worker(pair, taskQueue);
    // Ten seconds behind: thousands of transactions to salvage, so the apply is under way long enough to kill it.
    const { load, behind } = await killPrimaryBehindReplicas(pair, 250, 10_000);
    const [[startSeq] = []] = await pair.cluster.sql(RBX2, 'SELECT @@global.gtid_binlog_pos');
    const seqOf = (pos: string | undefined) => Number(/0-\d+-(\d+)/.exec(pos ?? '')?.[1] ?? 0);
    const handle = await startFailover(pair, taskQueue);
    const ended = reportApprovingEachQuestion(handle, 'gra is gone', 240_000);

    // Kill the worker once db-rbx-2 has applied part of what is salvaged.
    const deadline = Date.now() + 120_000;
    let atKill: number;
    for (;;) {
      const [[pos] = []] = await pair.cluster.sql(RBX2, 'SELECT @@global.gtid_binlog_pos');
      atKill = seqOf(pos);
      if (atKill >= seqOf(startSeq) + 100) break;
      if (Date.now() > deadline) throw new Error(`the salvage never started applying (db-rbx-2 at ${pos})`);
      await sleep(50);
    }
    first.kill('SIGKILL');
    await first.stopped;
    await worker(pair, taskQueue);
    const report = await ended;
    expect(report.outcome).toBe('completed');
    const salvageStep = report.steps.find((st) => st.id === 'mysql.salvage')!;

    await load.waitForAcknowledged(50, 30_000);
    await load.stop();
    const onNew = await load.verify(RBX2);
    expect(onNew.lost).toEqual([]);
    // Each write once: a transaction applied twice would be a second row of the same seq (or a GTID refused).
    const [[rows, distinct] = []] = await pair.cluster.sql(
      RBX2,
      `SELECT COUNT(*), COUNT(DISTINCT seq) FROM app.write_load WHERE run_id='${load.runId}'`,
    );
    expect(rows).toBe(distinct);
    // The second attempt started where the first stopped: it applied only the rest.
    const totals = /^(\d+) transaction\(s\) salvaged .* \((\d+) by this attempt\)/.exec(
      salvageStep.sentence ?? '',
    );
    expect(totals, salvageStep.sentence).not.toBeNull();
    const [total, resumed] = [Number(totals![1]), Number(totals![2])];
    expect(resumed).toBeLessThan(total);
    expect(total).toBeGreaterThanOrEqual(behind);
    console.log(
      `worker SIGKILLed mid-salvage at ${atKill - seqOf(startSeq)} applied: the next attempt applied the other ${resumed} ` +
        `of ${total}; ${onNew.acknowledged} acknowledged, ${onNew.lost.length} lost, ${rows} rows for ${distinct} writes`,
    );
  }, 300_000);
});

/**
 * End-to-end detection of a primary whose MySQL alone dies (a scratch DR pair: MariaDB trio, ES emulator, Perl apps
 * over SSH, HAProxy; the real worker as a process, running this checkout's code; the shared Temporal dev server):
 * only mysqld of db-gra-1 is SIGKILLed, its host, gra's Elasticsearch, the apps and HAProxy stay up, under writes
 * through the public entry point, the replicas a second behind. Each system is judged by its own witnesses, so
 * Elasticsearch being up does not clear MySQL: the failover proceeds, salvages what only db-gra-1's binlog held, and
 * no acknowledged write is lost.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { sleep } from '../dev/stack/daemon';
import { fenceWatchWorkflowId } from '../workflows/definitions';
import { waitUntil } from './helpers/apps-traffic';
import {
  acknowledgedBy,
  acknowledgedWrites,
  reportApprovingEachQuestion,
  startPairFailover,
  timer,
} from './helpers/failover-e2e';
import { takeTurns } from './helpers/turns';
import { pairWithWorker } from './helpers/pair-with-worker';

const REPLICAS = ['db-rbx-1', 'db-rbx-2'];

// Runs a write load: never alongside a file that asserts a write rate, which it would starve of CPU.
takeTurns('write-load', 'exclusive');

describe('unplanned failover end to end: only mysqld of the primary dies', () => {
  const t = pairWithWorker('e2e-detection', {
    salvagePrimary: true,
    timed: 'detection: scratch pair and worker up',
  });

  afterAll(async () => {
    // The watcher the failover started for db-gra-1, which never comes back here, ends with the test.
    if (t.pair)
      await t.client?.workflow
        .getHandle(fenceWatchWorkflowId(t.pair.pair))
        .terminate('the test is over')
        .catch(() => undefined);
  });

  it('fails over although Elasticsearch is up, names MySQL and its witnesses, salvages the binlog, loses no acknowledged write', async () => {
    const done = timer('detection: failover after mysqld alone was killed');
    const load = t.pair.writeLoad({ ratePerSecond: 100, maxInFlight: 1000, requestTimeoutMs: 10_000 });
    load.start();
    await acknowledgedWrites(load, 'gra', 100);
    /** The sequence number of db-gra-1's last transaction (one writer, one replication domain). */
    const graBinlogSeq = async () => {
      const [[pos]] = (await t.pair.cluster.sql('db-gra-1', 'SELECT @@global.gtid_binlog_pos')) as [[string]];
      return Number(pos.split('-').at(-1));
    };

    // The replicas a second behind when mysqld dies (what binlog salvage is for): their IO threads stop receiving,
    // gra acknowledges writes that only its binlog holds, mysqld is SIGKILLed, and the IO threads then try again.
    // What only gra holds is counted on gra itself: every transaction it committed after both IO threads had
    // stopped (a write acknowledged just after the stop may have been committed, and shipped, just before it).
    for (const replica of REPLICAS) await t.pair.cluster.sql(replica, 'STOP SLAVE IO_THREAD');
    const seqAtCut = await graBinlogSeq();
    await sleep(1_000);
    const seqBeforeKill = await graBinlogSeq();
    await t.pair.cluster.kill('db-gra-1');
    const onlyOnGra = seqBeforeKill - seqAtCut;
    for (const replica of REPLICAS) await t.pair.cluster.sql(replica, 'START SLAVE IO_THREAD');
    // The alert: the replicas have lost their source (what the run's detection then confirms on its own).
    await waitUntil('the replicas lose db-gra-1', async () => {
      const { mysql } = await t.pair.snapshot();
      return REPLICAS.every((s) => mysql[s]?.ioRunning === 'Connecting');
    });
    // Only MySQL: gra's Elasticsearch still leads rbx's followers, HAProxy and the apps' hosts answer.
    const before = await t.pair.snapshot();
    expect(before.elasticsearch.gra?.reachable).toBe(true);
    expect(before.elasticsearch.rbx?.indices?.orders).toBe('follower active');
    expect(before.traffic.reachable).toBe(true);
    expect(before.apps.rbx?.health).toBe('ok');

    const handle = await startPairFailover(t.client, t.pair.pair, 'unplanned', t.taskQueue, t.runs);
    const report = await reportApprovingEachQuestion(handle, 'mysqld of db-gra-1 is dead');
    expect(report.outcome, report.sentence).toBe('completed');

    const verdict = report.decisions.find((d) => d.sentence.startsWith('primary site down'))!.sentence;
    expect(verdict).toMatch(/^primary site down: mysql( and [a-z]+|, [a-z, ]+)? down for the worker/);
    expect(verdict).toMatch(
      /mysql down: the worker cannot reach db-gra-1 \([A-Za-z]+\); db-rbx-1 has lost its source \(IO thread Connecting[^)]*\); db-rbx-2 has lost its source \(IO thread Connecting[^)]*\)\./,
    );
    expect(verdict).toContain('elasticsearch up: the worker reaches ES gra');
    const firstRound = report.detection[0]!;
    expect(firstRound.filter((o) => o.system === 'mysql').map((o) => [o.vantage, o.kind, o.down])).toEqual([
      ['worker → db-gra-1', 'worker', true],
      ['db-rbx-1 IO thread', 'peer', true],
      ['db-rbx-2 IO thread', 'peer', true],
    ]);
    expect(firstRound.filter((o) => o.system === 'elasticsearch').map((o) => o.down)).toEqual([false, false]);

    const salvage = report.steps.find((s) => s.id === 'mysql.salvage');
    expect(salvage).toMatchObject({ state: 'done' });
    const mysqlLoss = report.dataLoss.find((d) => d.system === 'mysql')!;
    const primary = report.steps.find((s) => s.id === 'mysql.promote')!.target;
    expect(mysqlLoss.sentence).toMatch(
      new RegExp(`^none: \\d+ transaction\\(s\\) salvaged from db-gra-1's binlog onto ${primary}`),
    );
    expect(mysqlLoss.count).toBe(0);
    expect(onlyOnGra).toBeGreaterThan(0);
    expect(mysqlLoss.recovered).toBeGreaterThanOrEqual(onlyOnGra);
    // Measured at the end: db-gra-1's mysqld is dead (every vantage saw it down), so it is not read to be compared
    // with the new primary.
    expect(report.measuredLoss?.map((l) => [l.from, l.to, l.count])).toEqual([
      ['db-gra-1', primary, undefined],
    ]);
    expect(report.measuredLoss?.[0]?.sentence).toBe(
      'unknown: every vantage saw db-gra-1 down in every detection round, so it was not read.',
    );

    const finishedAt = Date.now();
    await waitUntil(
      'rbx answers writes through the frontend',
      async () => load.records.filter((r) => r.server === 'rbx' && r.at >= finishedAt).length >= 20,
    );
    const summary = await load.stop();
    const verification = await load.verify(primary);
    expect(verification.lost).toEqual([]);
    expect(verification.acknowledged).toBe(summary.acknowledged);
    expect(acknowledgedBy(load, 'gra').length).toBeGreaterThanOrEqual(100);

    const after = await t.pair.snapshot();
    expect(after.mysql['db-gra-1']).toEqual({ reachable: false });
    expect(after.mysql[primary]).toEqual({ reachable: true, readOnly: false, replicatesFrom: null });
    expect(after.traffic).toEqual({ reachable: true, servers: { 'app-gra': 'drain', 'app-rbx': 'ready' } });
    console.log(
      `[e2e] mysqld alone killed, replicas 1 s behind (at least ${onlyOnGra} transactions only on gra): ${report.outcome} in ${(report.rto.fromStartMs / 1000).toFixed(1)} s; ${mysqlLoss.sentence.replace(/\.$/, '')}; ${summary.acknowledged} writes acknowledged, ${verification.lost.length} lost`,
    );
    done();
  }, 180_000);
});

/**
 * A failover survives its orchestrator's crashes: on a scratch DR pair, the worker process is SIGKILLed at every
 * phase boundary of a planned failover and started again, and its Temporal dev server (one of the test's own, on
 * free ports: restarting the shared one would disturb the tests running alongside) is restarted once mid-run (it
 * keeps its SQLite file). The run must still end correctly, and no step's effect may be applied twice:
 * checked on the report's step attempts, on what each activity says it changed, and on the systems themselves.
 * A light write load runs through the frontend all along: every write it saw acknowledged is on the new primary.
 */
import { Client, Connection } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, sleep } from '../dev/stack/daemon';
import { appctl } from '../dev/stack/services/perl-app';
import { temporalServer } from '../dev/stack/services/temporal-server';
import {
  acknowledgedWrites,
  activityResults,
  expectEveryAcknowledgedWriteOn,
  LIGHT_WRITE_LOAD,
  phasesEntered,
  historyText,
  leakedSecrets,
  runbookSecrets,
  reportWithin,
  startPairFailover,
  timer,
} from './helpers/failover-e2e';
import { COMPLETED_RUN_PHASES } from '../workflows/definitions';
import { withEnv } from './helpers/env';
import { testTaskQueue } from './helpers/local-stack';
import {
  startScratchDrPair,
  startWorkerProcess,
  type ScratchDrPair,
  type WorkerProcess,
} from './helpers/scratch-dr-pair';

/** The phase boundary at which the Temporal server is restarted too. */
const TEMPORAL_RESTART_AT = 'promote';

describe('failover end to end: the worker killed at every phase boundary, Temporal restarted once', () => {
  let pair: ScratchDrPair;
  let worker: WorkerProcess;
  let client: Client;
  let connection: Connection;
  const taskQueue = testTaskQueue('e2e-durability');
  const runs: { workflowId: string; runId: string }[] = [];
  const workerOutput: string[] = [];

  beforeAll(async () => {
    const done = timer('durability: scratch pair and worker up');
    pair = await startScratchDrPair({
      edit: (runbook) => {
        runbook.approval = { ...runbook.approval!, policy: 'auto' };
        // A step whose worker died is given to another worker when its timeout passes: keep them short.
        runbook.timeouts = { ...runbook.timeouts, activity: '5s', heartbeat: '5s' };
      },
    });
    temporalEnv = {
      DR_STACK_DIR: pair.dir,
      DR_STACK_PORT_TEMPORAL: String(await freePort()),
      DR_STACK_PORT_TEMPORAL_UI: String(await freePort()),
      DR_STACK_PORT_TEMPORAL_METRICS: String(await freePort()),
    };
    await withEnv(temporalEnv, () => temporalServer(() => undefined).up());
    worker = await startWorker();
    connection = await Connection.connect({ address: temporalAddress() });
    client = new Client({ connection, namespace: 'default' });
    done();
  }, 180_000);

  let temporalEnv: Record<string, string>;
  const temporalAddress = () => `127.0.0.1:${temporalEnv.DR_STACK_PORT_TEMPORAL}`;

  /** The worker as operators run it, loading the run's workflow bundle: a restart takes about a second. */
  async function startWorker(): Promise<WorkerProcess> {
    return startWorkerProcess({
      runbookPath: pair.runbookPath,
      taskQueue,
      env: { TEMPORAL_ADDRESS: temporalAddress() },
    });
  }

  afterAll(async () => {
    await worker?.stop();
    await connection?.close();
    if (temporalEnv) await withEnv(temporalEnv, () => temporalServer(() => undefined).down());
    await pair?.close();
  });

  /** SIGKILLs the worker and starts another, as a supervisor would. */
  async function killAndRestartWorker(): Promise<void> {
    worker.kill('SIGKILL');
    expect(await worker.stopped).toMatchObject({ signal: 'SIGKILL' });
    workerOutput.push(worker.output());
    worker = await startWorker();
  }

  /** The test's dev server, stopped and started again on its SQLite file. */
  async function restartTemporal(): Promise<void> {
    await withEnv(temporalEnv, async () => {
      const server = temporalServer(() => undefined);
      await server.down();
      await server.up();
    });
  }

  it('ends correctly, each step applied once', async () => {
    const done = timer('durability: failover with a crash at every phase boundary');
    const rbxDir = path.join(pair.dir, 'rbx');
    const appLog = path.join(rbxDir, 'perl-app', 'rbx', 'app.log');
    const appStarts = () => readFileSync(appLog, 'utf8').match(/Listening at/g)?.length ?? 0;
    // The standby app is stopped, so the run has to start it: a second start would show in its log.
    await appctl('stop', 'rbx', rbxDir);
    const startsBefore = appStarts();
    const haproxyLog = path.join(path.dirname(pair.haproxySocket), 'haproxy.log');
    const haproxyEvents = (line: RegExp) =>
      readFileSync(haproxyLog, 'utf8')
        .split('\n')
        .filter((l) => line.test(l)).length;
    const switchesBefore = haproxyEvents(/^Server app\/app-rbx is UP \(leaving forced drain\)/);
    const drainsBefore = haproxyEvents(/^Server app\/app-gra enters drain state/);
    // Writes through the frontend all along: none that was acknowledged may be lost to a crash.
    const load = pair.writeLoad(LIGHT_WRITE_LOAD);
    load.start();
    await acknowledgedWrites(load, 'gra', 20);

    const t0 = Date.now();
    const handle = await startPairFailover(client, pair.pair, 'planned', taskQueue, runs);
    let ended = false;
    const finished = reportWithin(handle, 240_000).finally(() => (ended = true));
    // Phases are read from the run's history (the DrPhase upserts), which the server serves without a worker,
    // so no boundary is missed while a new worker takes over (a query would wait for it).
    const boundaries: string[] = [];
    while (!ended) {
      const phases = await phasesEntered(client, runs[0]!);
      if (phases.length === boundaries.length) {
        await sleep(25);
        continue;
      }
      const entered = phases.slice(boundaries.length);
      boundaries.push(...entered);
      const phase = entered.at(-1)!;
      console.log(
        `[e2e] durability: entered ${entered.join(', ')} at ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      if (phase === TEMPORAL_RESTART_AT) {
        worker.kill('SIGKILL');
        await worker.stopped;
        workerOutput.push(worker.output());
        const restarted = timer('durability: Temporal server restart');
        await restartTemporal();
        restarted();
        worker = await startWorker();
      } else {
        await killAndRestartWorker();
      }
    }
    const report = await finished;
    const finishedAt = Date.now();
    workerOutput.push(worker.output());
    console.log(`[e2e] durability: worker killed on entering ${boundaries.join(', ')}`);

    expect(report.outcome).toBe('completed');
    // Every phase boundary was seen (plan, approve and fence are entered in one workflow task: one kill).
    expect(boundaries.filter((b, i) => b !== boundaries[i - 1])).toEqual(COMPLETED_RUN_PHASES);
    expect(report.steps.map((s) => [s.id, s.state, s.attempts])).toEqual(
      report.steps.map((s) => [s.id, 'done', 1]),
    );
    expect(report.measuredLoss).toEqual([
      {
        system: 'mysql',
        from: 'db-gra-1',
        to: 'db-rbx-1',
        count: 0,
        sentence: 'none: db-rbx-1 holds every transaction db-gra-1 committed.',
      },
    ]);
    // rbx takes the writes now, and every write acknowledged before, during and after the move is on db-rbx-1.
    await acknowledgedWrites(load, 'rbx', 20, finishedAt);
    await expectEveryAcknowledgedWriteOn(load, 'db-rbx-1', 40);

    // Each step's activity completed once (an attempt lost with its worker leaves no result), and at most one
    // attempt did the change: a retry finds it done.
    const results = await activityResults(client, runs[0]!);
    const completions = (type: string) => results.filter((r) => r.type === type);
    for (const type of ['mysqlFence', 'mysqlPromote', 'appStart', 'esPromoteFollowers', 'trafficSwitch'])
      expect([type, completions(type).length]).toEqual([type, 1]);
    // The catch-up runs twice: in the warm-up, and the final one to the fenced position inside the window.
    expect(completions('mysqlCatchUp')).toHaveLength(2);
    expect(completions('esPromoteFollowers')[0]!.result).toMatchObject({ total: 3 });

    // The systems: each moved once. The app started once; HAProxy's log shows one switch to rbx.
    expect(appStarts()).toBe(startsBefore + 1);
    expect(haproxyEvents(/^Server app\/app-rbx is UP \(leaving forced drain\)/) - switchesBefore).toBe(1);
    expect(haproxyEvents(/^Server app\/app-gra enters drain state/) - drainsBefore).toBe(1);
    const after = await pair.snapshot();
    expect(after.mysql).toEqual({
      'db-gra-1': {
        reachable: true,
        readOnly: true,
        replicatesFrom: 'db-rbx-1',
        ioRunning: 'Yes',
        sqlRunning: 'Yes',
      },
      'db-rbx-1': { reachable: true, readOnly: false, replicatesFrom: null },
      'db-rbx-2': {
        reachable: true,
        readOnly: true,
        replicatesFrom: 'db-rbx-1',
        ioRunning: 'Yes',
        sqlRunning: 'Yes',
      },
    });
    expect(after.traffic).toEqual({ reachable: true, servers: { 'app-gra': 'drain', 'app-rbx': 'ready' } });
    expect(after.apps.rbx).toEqual({ health: 'ok', dbReadOnly: false });
    expect(after.elasticsearch.rbx?.indices).toEqual({
      orders: 'open',
      customers: 'open',
      'logs-app-000001': 'open',
    });
    done();
  }, 300_000);

  it('no secret of the runbook appears in the history of the run or in any worker log', async () => {
    const secrets = runbookSecrets(pair.runbooks.get(pair.pair)!);
    expect(runs).toHaveLength(1);
    for (const run of runs) expect(leakedSecrets(await historyText(client, run), secrets)).toEqual([]);
    expect(leakedSecrets(workerOutput.join('\n'), secrets)).toEqual([]);
  });
});

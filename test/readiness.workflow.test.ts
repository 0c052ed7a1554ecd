import type { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { Client as EsClient } from '@elastic/elasticsearch';
import { readFileSync, writeFileSync } from 'node:fs';
import { haproxyPaths } from '../dev/stack/services/haproxy';
import { stackPort } from '../dev/stack/settings';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityClients } from '../activities';
import { startReadinessCheck } from '../client/readiness';
import { createOrchestratorWorker } from '../worker/create-worker';
import { DrMode, DrPair, DrPhase, DrTrigger } from '../workflows/definitions';
import type { ReadinessReport } from '../workflows/readiness';
import {
  LOCAL_PAIR,
  localRunbooks,
  quietRuntime,
  restoreLocalPair,
  stackSql,
  temporalClient,
  testTaskQueue,
  workerConnection,
} from './helpers/local-stack';
import { recordHistory } from './helpers/histories';
import { takeTurns } from './helpers/turns';

// Changes the shared local pair: alone while it runs.
takeTurns('local-pair', 'exclusive');

/**
 * The readiness workflow on the real Temporal dev server, run by a real worker (in this process,
 * on its own task queue) against the real MariaDB pair.
 * DR_RECORD_HISTORIES=1 keeps the histories of its runs for test/replay.test.ts (test/helpers/histories.ts).
 */
describe('readinessCheck workflow on the real dev server', () => {
  let client: Client;
  let clientConnection: Connection;
  let nativeConnection: NativeConnection;
  let clients: ActivityClients;
  let run: Promise<void>;
  let stopWorker: () => void;
  const taskQueue = testTaskQueue('readiness');

  beforeAll(async () => {
    quietRuntime();
    await restoreLocalPair();
    ({ client, connection: clientConnection } = await temporalClient());
    nativeConnection = await workerConnection();
    const created = await createOrchestratorWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      runbooks: localRunbooks(),
    });
    clients = created.clients;
    run = created.worker.run();
    stopWorker = () => created.worker.shutdown();
  });

  afterAll(async () => {
    stopWorker?.();
    await run;
    await clients?.close();
    await nativeConnection?.close();
    await clientConnection?.close();
    await restoreLocalPair();
  });

  it('returns a ready report and is findable by its search attributes', async () => {
    const handle = await startReadinessCheck(client, LOCAL_PAIR, 'test', taskQueue);
    const report = (await handle.result()) as ReadinessReport;
    expect(report.ready).toBe(true);
    expect(report.verdict).toMatch(/^ready: standby rbx could take over/);
    expect(report.mysql.map((s) => s.server)).toEqual(['db-gra-1', 'db-rbx-1', 'db-rbx-2']);
    expect(report.elasticsearch?.health).toMatchObject({ site: 'rbx', reachable: true });
    expect(report.elasticsearch?.followers?.indices.map((i) => [i.index, i.state])).toEqual([
      ['orders', 'active'],
      ['customers', 'active'],
    ]);
    expect(report.traffic).toMatchObject({ provider: 'haproxy', site: 'gra' });
    expect(report.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'es-rbx.health',
        'es-rbx.orders',
        'es-rbx.customers',
        'traffic.target',
        'traffic.state-saved',
      ]),
    );
    expect(report.decisions.at(-1)).toEqual({ phase: 'report', sentence: report.verdict });

    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(DrPair)).toBe(LOCAL_PAIR);
    expect(description.typedSearchAttributes.get(DrTrigger)).toBe('test');
    expect(description.typedSearchAttributes.get(DrMode)).toBe('readiness');
    expect(description.typedSearchAttributes.get(DrPhase)).toBe('report');
    expect(await description.staticSummary()).toBe(`Readiness check of DR pair ${LOCAL_PAIR}`);

    // The search attributes are indexed: the run can be found the way the UI finds it.
    const query = `DrPair = '${LOCAL_PAIR}' AND DrMode = 'readiness' AND WorkflowId = '${handle.workflowId}'`;
    let found: string[] = [];
    for (let i = 0; i < 50 && found.length === 0; i++) {
      found = [];
      for await (const wf of client.workflow.list({ query })) found.push(wf.workflowId);
      if (found.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(found).toEqual([handle.workflowId]);
    await recordHistory(handle, 'readiness-ready');
  });

  it('reports stopped replication as not ready, naming the replica and the threads', async () => {
    await stackSql('db-rbx-1', 'STOP SLAVE');
    try {
      const handle = await startReadinessCheck(client, LOCAL_PAIR, 'test', taskQueue);
      const report = (await handle.result()) as ReadinessReport;
      expect(report.ready).toBe(false);
      expect(report.verdict).toMatch(
        /^not ready: \d+ of \d+ checks fail, first: replica db-rbx-1 is not replicating/,
      );
      expect(report.decisions.map((d) => d.sentence)).toContain(
        'not ready: replica db-rbx-1 is not replicating: IO thread No, SQL thread No.',
      );
      await recordHistory(handle, 'readiness-replication-stopped');
    } finally {
      await restoreLocalPair();
    }
  });

  it('reports a paused follower index as not ready, naming it', async () => {
    const rbx = new EsClient({ node: `http://127.0.0.1:${stackPort('ES_RBX')}` });
    await rbx.ccr.pauseFollow({ index: 'orders' });
    try {
      const report = (await (
        await startReadinessCheck(client, LOCAL_PAIR, 'test', taskQueue)
      ).result()) as ReadinessReport;
      expect(report.ready).toBe(false);
      expect(report.checks.filter((c) => !c.ok)).toEqual([
        {
          name: 'es-rbx.orders',
          ok: false,
          sentence: "follower index orders on rbx is paused: it does not receive the leader's writes.",
        },
      ]);
    } finally {
      await rbx.ccr.resumeFollow({ index: 'orders' });
      await rbx.close();
    }
  });

  it('reports an Elasticsearch cluster that does not answer as a failed check, not an error', async () => {
    const admin = `http://127.0.0.1:${stackPort('ES_GRA')}/_emulator/faults`;
    const fault = (down: boolean) =>
      fetch(admin, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ cluster: 'rbx', down }),
      });
    expect((await fault(true)).ok).toBe(true);
    try {
      const report = (await (
        await startReadinessCheck(client, LOCAL_PAIR, 'test', taskQueue)
      ).result()) as ReadinessReport;
      expect(report.ready).toBe(false);
      expect(report.elasticsearch?.health).toMatchObject({ reachable: false, status: 'unreachable' });
      expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['es-rbx.health']);
      expect(report.verdict).toMatch(
        /^not ready: 1 of \d+ checks fail, first: Elasticsearch rbx does not answer: EsUnreachable/,
      );
    } finally {
      expect((await fault(false)).ok).toBe(true);
    }
  });

  it('reports HAProxy server states a restart would not keep (the state file is not the live states) as not ready', async () => {
    const stateFile = haproxyPaths().stateFile;
    const saved = readFileSync(stateFile, 'utf8');
    // What the file would hold had traffic been switched to rbx and never saved since.
    writeFileSync(stateFile, saved.replace(/^(\d+ app \d+ app-gra .*?) 0 (\d+ \d+ \d+ .*)$/m, '$1 1 $2'));
    try {
      const report = (await (
        await startReadinessCheck(client, LOCAL_PAIR, 'test', taskQueue)
      ).result()) as ReadinessReport;
      expect(report.ready).toBe(false);
      expect(report.checks.filter((c) => !c.ok)).toEqual([
        {
          name: 'traffic.state-saved',
          ok: false,
          sentence: `HAProxy at ${haproxyPaths().socket}'s saved server states (${stateFile}) are not its live ones (app-gra maint there, ready live): a reload would apply the saved ones.`,
        },
      ]);
    } finally {
      writeFileSync(stateFile, saved);
    }
  });

  it('fails with a clear non-retryable error for an unknown pair', async () => {
    const handle = await startReadinessCheck(client, 'no-such-pair', 'test', taskQueue);
    await expect(handle.result()).rejects.toMatchObject({
      cause: {
        cause: {
          type: 'UnknownPair',
          message: expect.stringMatching(/unknown DR pair "no-such-pair" \(this worker serves: local\)/),
        },
      },
    });
  });
});

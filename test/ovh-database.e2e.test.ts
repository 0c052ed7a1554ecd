/**
 * End to end: a scratch DR pair whose runbook also declares an OVH managed MySQL service (on an OVH API emulator of
 * this test, on its own port), a worker process trusting the emulator's CA, and a planned failover through the client
 * operators use. The restore step asks its own approval; approved, the managed database is forked from its newest
 * backup in SBG into a new service, its users are created with their passwords only in 0600 files, and the report
 * gives the restore point and the new endpoint. No password or credential is in the run's history.
 */
import type { Client, Connection } from '@temporalio/client';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEED_IDS } from '../dev/ovh-emulator/seed';
import {
  historyText,
  leakedSecrets,
  reportApprovingEachQuestion,
  runbookSecrets,
  startPairFailover,
  timer,
} from './helpers/failover-e2e';
import { temporalClient, testTaskQueue } from './helpers/local-stack';
import { FAST_TIMING, startTestEmulator, type TestEmulator } from './helpers/ovh';
import {
  startScratchDrPair,
  startWorkerProcess,
  type ScratchDrPair,
  type WorkerProcess,
} from './helpers/scratch-dr-pair';

const IDS = DEFAULT_SEED_IDS.cloudDb;

describe('planned failover of a scratch pair with an OVH managed MySQL restored from backup', () => {
  let t: TestEmulator;
  let pair: ScratchDrPair;
  let worker: WorkerProcess;
  let client: Client;
  let connection: Connection | undefined;
  const taskQueue = testTaskQueue('e2e-ovh-db');
  const runs: { workflowId: string; runId: string }[] = [];

  beforeAll(async () => {
    const done = timer('ovh-db: emulator, scratch pair and worker up');
    // A fork takes 1.5 s to be READY here: the restore waits and heartbeats.
    t = await startTestEmulator({
      timing: { ...FAST_TIMING, cloudDbCreateMs: 1_500 },
      recordResponses: true,
    });
    const credential = (file: string) => `file:${path.join(t.dir, 'credentials', file)}`;
    pair = await startScratchDrPair({
      edit: (runbook) => {
        runbook.ovhDatabases = {
          ovh: {
            host: t.emulator.host,
            port: t.emulator.port,
            applicationKey: credential('application-key'),
            applicationSecret: credential('application-secret'),
            consumerKey: credential('consumer-key'),
          },
          passwordsDir: path.join(t.dir, 'db-passwords'),
          services: [
            {
              name: 'shop-db',
              engine: 'mysql',
              serviceName: IDS.serviceName,
              clusterId: IDS.clusterId,
              drRegion: IDS.backupRegion,
              users: ['shop'],
              ipRestrictions: [{ ip: '198.51.100.0/24', description: 'rbx apps' }],
              readyTimeout: '2m',
            },
          ],
        };
      },
    });
    worker = await startWorkerProcess({
      runbookPath: pair.runbookPath,
      taskQueue,
      env: { NODE_EXTRA_CA_CERTS: t.emulator.caCertPath },
    });
    ({ client, connection } = await temporalClient());
    done();
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    await pair?.close();
    await connection?.close();
    await t?.stop();
  });

  it('forks the managed database into SBG once its own approval is given, and reports the restore point and the new endpoint', async () => {
    const handle = await startPairFailover(client, pair.pair, 'planned', taskQueue, runs);
    const report = await reportApprovingEachQuestion(
      handle,
      'e2e: restore the managed database too',
      120_000,
    );
    expect(report.outcome).toBe('completed');

    const project = t.emulator.cloudDb(IDS.serviceName)!;
    const forks = project.services.filter((s) => s.forkedFrom === IDS.clusterId);
    expect(forks).toHaveLength(1);
    const fork = forks[0]!;
    expect(fork.service).toMatchObject({ region: 'SBG', status: 'READY' });
    const latest = project.services[0]!.backups.find((b) => b.id === IDS.backups.latest)!;
    const host = fork.service.endpoints[0]!.domain;
    expect(host).not.toBe(IDS.host);

    const step = report.steps.find((s) => s.id === 'ovh-database.restore.shop-db');
    expect(step).toMatchObject({ state: 'done', phase: 'verify' });
    expect(step!.sentence).toContain(
      `shop-db restored into SBG as the new service ${fork.service.id} (host ${host}:${IDS.port}) from the backup taken at ${latest.createdAt}`,
    );
    expect(step!.sentence).toContain(`created user(s) shop on ${fork.service.id}`);
    expect(report.dataLoss.find((d) => d.system === 'ovh-database')?.sentence).toContain(
      `shop-db: restored as ${fork.service.id} at ${host}:${IDS.port} from the backup taken at ${latest.createdAt}`,
    );
    // Two human approvals, both signed by the approver: the move's, then the restore's own.
    expect(report.approvals.map((a) => [a.approved, a.how, a.signed])).toEqual([
      [true, 'approver', true],
      [true, 'approver', true],
    ]);
    const passwordFile = path.join(t.dir, 'db-passwords', pair.pair, 'shop-db', fork.service.id, 'shop');
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    const password = readFileSync(passwordFile, 'utf8').trim();
    expect(password.length).toBeGreaterThan(8);
    const history = (await Promise.all(runs.map((r) => historyText(client, r)))).join('\n');
    expect(history).not.toContain(password);
    const loaded = pair.runbooks.get(pair.pair)!;
    expect(leakedSecrets(history, runbookSecrets(loaded))).toEqual([]);
  }, 180_000);
});

/**
 * The OVH managed-database activities against the OVH API emulator (in-process, a fork CREATING for 100 ms), through
 * the real node-ovh client: readiness names the newest backup in the DR region as the restore point; a restore forks
 * the service from it into the DR region, waits for READY (heartbeating) and reports the new endpoint; a retry of the
 * same run finds its fork instead of forking twice; a fork slower than readyTimeout fails typed and the retry waits
 * for the same one; users are created with their passwords written to 0600 files, never returned; faults
 * (unreachable, slow, 5xx, refused credentials, a service the API does not know) fail typed; no secret is in any
 * failure or log line.
 */
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createOvhDatabaseActivities } from '../activities/ovh-database';
import { OvhDatabaseClients } from '../activities/ovh-database/client';
import { RunbookRegistry } from '../activities/runbooks';
import { parseRunbook, type LoadedRunbook } from '../config/load';
import { DEFAULT_SEED_IDS } from '../dev/ovh-emulator/seed';
import {
  activityEnv,
  FAST_TIMING,
  failureOf,
  failureText,
  LogCapture,
  secretsOf,
  startTestEmulator,
  type TestEmulator,
} from './helpers/ovh';
import { waitUntil } from './helpers/wait';

const IDS = DEFAULT_SEED_IDS.cloudDb;
const RUNBOOKS = path.resolve(__dirname, '..', 'config', 'runbooks');
const capture = new LogCapture();
const texts: string[] = [];

/** The local runbook with an ovhDatabases section for the emulator's seeded MySQL service. */
function dbRunbook(
  t: TestEmulator,
  service: Record<string, unknown> = {},
  ovh: Record<string, unknown> = {},
): LoadedRunbook {
  const doc = parse(readFileSync(path.join(RUNBOOKS, 'local.yaml'), 'utf8')) as Record<string, unknown>;
  doc.ovhDatabases = {
    ovh: {
      host: t.emulator.host,
      port: t.emulator.port,
      applicationKey: 'file:credentials/application-key',
      applicationSecret: 'file:credentials/application-secret',
      consumerKey: 'file:credentials/consumer-key',
      ...ovh,
    },
    passwordsDir: 'db-passwords',
    services: [
      {
        name: 'app-db',
        engine: 'mysql',
        serviceName: IDS.serviceName,
        clusterId: IDS.clusterId,
        drRegion: IDS.backupRegion,
        users: ['app', 'reporting'],
        ipRestrictions: [{ ip: '198.51.100.0/24', description: 'rbx app servers' }],
        ...service,
      },
    ],
  };
  return parseRunbook(stringify(doc), path.join(t.dir, 'runbook.yaml'));
}

function activitiesOf(loaded: LoadedRunbook, requestTimeoutMs?: number) {
  const clients = new OvhDatabaseClients(
    new RunbookRegistry(new Map([[loaded.runbook.pair, loaded]])),
    requestTimeoutMs ? { requestTimeoutMs } : {},
  );
  return createOvhDatabaseActivities({ clients }, { pollMs: 20 });
}

/** Runs an activity in a mock activity context, keeping its heartbeats. */
async function run<I, O>(fn: (input: I) => Promise<O>, input: I): Promise<{ result: O; beats: unknown[] }> {
  const env = activityEnv(capture);
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  const result = await env.run<[I], O, (input: I) => Promise<O>>(fn, input);
  return { result, beats };
}

async function failed(promise: Promise<unknown>) {
  const failure = await failureOf(promise);
  texts.push(failureText(failure));
  return failure;
}

const PAIR = 'local';
const forks = (t: TestEmulator) =>
  t.emulator.cloudDb(IDS.serviceName)!.services.filter((s) => s.forkedFrom === IDS.clusterId);

describe('OVH managed database activities (seed: MySQL app in GRA, backups copied to SBG, newest 5 min old)', () => {
  let t: TestEmulator;

  beforeAll(async () => {
    capture.start();
    t = await startTestEmulator({ recordResponses: true });
  });
  afterEach(() => {
    t.emulator.reset();
    t.emulator.setTiming(FAST_TIMING);
  });
  afterAll(async () => {
    await t?.stop();
    capture.stop();
    const everything = [...texts, ...capture.lines, ...t.emulatorLog].join('\n');
    for (const secret of secretsOf(t.credential)) expect(everything).not.toContain(secret);
  });

  it('readiness: passes, naming the newest backup in SBG and its time as the restore point; changes nothing', async () => {
    const a = activitiesOf(dbRunbook(t));
    const { result } = await run(a.ovhDbReadiness, { pair: PAIR, name: 'app-db' });
    const latest = t.emulator
      .cloudDb(IDS.serviceName)!
      .services[0]!.backups.find((b) => b.id === IDS.backups.latest)!;
    expect(result).toMatchObject({
      ok: true,
      status: 'READY',
      backupId: IDS.backups.latest,
      restorePoint: latest.createdAt,
    });
    expect(result.checks.map((c) => [c.name, c.ok])).toEqual([
      ['backup-regions', true],
      ['backup-in-region', true],
    ]);
    expect(result.sentence).toContain(`A restore into SBG can start from ${latest.createdAt}`);
    expect(forks(t)).toEqual([]);
  });

  it('readiness: fails for a region the backups are not copied to, and for a newest backup older than maxBackupAge', async () => {
    const bhs = await run(activitiesOf(dbRunbook(t, { drRegion: 'BHS' })).ovhDbReadiness, {
      pair: PAIR,
      name: 'app-db',
    });
    expect(bhs.result.ok).toBe(false);
    expect(bhs.result.checks.find((c) => c.name === 'backup-regions')?.sentence).toBe(
      'its backups are not copied to BHS (backup regions: GRA, SBG): a restore there is impossible.',
    );
    expect(bhs.result.restorePoint).toBeUndefined();
    const old = await run(activitiesOf(dbRunbook(t, { maxBackupAge: '1m' })).ovhDbReadiness, {
      pair: PAIR,
      name: 'app-db',
    });
    expect(old.result.ok).toBe(false);
    expect(old.result.checks[1]!.sentence).toContain('older than maxBackupAge 1m');
  });

  it('restore: forks the newest SBG backup into SBG, waits for READY heartbeating, reports the new endpoint and the restore point', async () => {
    const a = activitiesOf(dbRunbook(t));
    const { result, beats } = await run(a.ovhDbRestoreFromBackup, {
      pair: PAIR,
      name: 'app-db',
      runTag: 'run-1',
    });
    const [fork] = forks(t);
    expect(fork).toBeDefined();
    const latest = t.emulator
      .cloudDb(IDS.serviceName)!
      .services[0]!.backups.find((b) => b.id === IDS.backups.latest)!;
    expect(result).toMatchObject({
      created: true,
      serviceId: fork!.service.id,
      region: 'SBG',
      backupId: IDS.backups.latest,
      restorePoint: latest.createdAt,
      host: fork!.service.endpoints[0]!.domain,
      port: IDS.port,
    });
    expect(result.serviceId).not.toBe(IDS.clusterId);
    expect(result.host).not.toBe(IDS.host);
    expect(fork!.service).toMatchObject({
      region: 'SBG',
      status: 'READY',
      plan: 'business',
      nodeNumber: 2,
      ipRestrictions: [{ ip: '198.51.100.0/24', description: 'rbx app servers' }],
    });
    expect(fork!.service.description).toBe(
      `drctl local/app-db run-1 from backup ${IDS.backups.latest} (${latest.createdAt})`,
    );
    expect(beats).toContainEqual({ serviceId: result.serviceId, status: 'CREATING' });
    expect(beats.at(-1)).toEqual({ serviceId: result.serviceId, status: 'READY' });
    expect(result.description).toContain(`from the backup taken at ${latest.createdAt}`);
    // The primary's service is untouched.
    expect(t.emulator.cloudDb(IDS.serviceName)!.services[0]!.service).toMatchObject({
      id: IDS.clusterId,
      region: 'GRA',
      status: 'READY',
    });
  });

  it('restore: a retry of the same run finds its fork instead of forking twice; another run forks its own', async () => {
    const a = activitiesOf(dbRunbook(t));
    const first = await run(a.ovhDbRestoreFromBackup, { pair: PAIR, name: 'app-db', runTag: 'run-1' });
    const again = await run(a.ovhDbRestoreFromBackup, { pair: PAIR, name: 'app-db', runTag: 'run-1' });
    expect(again.result).toMatchObject({
      created: false,
      serviceId: first.result.serviceId,
      backupId: IDS.backups.latest,
    });
    expect(again.result.steps[0]).toBe(
      `found this run's fork ${first.result.serviceId} (READY) from backup ${IDS.backups.latest}`,
    );
    expect(forks(t)).toHaveLength(1);
    const other = await run(a.ovhDbRestoreFromBackup, { pair: PAIR, name: 'app-db', runTag: 'run-2' });
    expect(other.result.serviceId).not.toBe(first.result.serviceId);
    expect(forks(t)).toHaveLength(2);
  });

  it('restore: a fork not READY within readyTimeout is OvhDatabaseNotReady (not retried); the retry waits for the same fork', async () => {
    t.emulator.setTiming({ cloudDbCreateMs: 2_500 });
    const slow = activitiesOf(dbRunbook(t, { readyTimeout: '1s' }));
    const failure = await failed(
      run(slow.ovhDbRestoreFromBackup, { pair: PAIR, name: 'app-db', runTag: 'slow' }),
    );
    expect(failure).toMatchObject({ type: 'OvhDatabaseNotReady', nonRetryable: true });
    const [fork] = forks(t);
    expect(failure.message).toContain(
      `the service ${fork!.service.id} forked into SBG is still CREATING after 1s`,
    );
    const patient = activitiesOf(dbRunbook(t, { readyTimeout: '30s' }));
    const { result } = await run(patient.ovhDbRestoreFromBackup, {
      pair: PAIR,
      name: 'app-db',
      runTag: 'slow',
    });
    expect(result).toMatchObject({ created: false, serviceId: fork!.service.id });
    expect(forks(t)).toHaveLength(1);
  });

  it('restore: a fork whose reply is lost (the client gives up, the API made it) is found by the retry, not made twice', async () => {
    t.emulator.addFault({
      type: 'slow',
      delayMs: 600,
      method: 'POST',
      path: '/cloud/project/*/database/mysql',
      count: 1,
    });
    const hasty = activitiesOf(dbRunbook(t), 200);
    const failure = await failed(
      run(hasty.ovhDbRestoreFromBackup, { pair: PAIR, name: 'app-db', runTag: 'lost' }),
    );
    expect(failure).toMatchObject({ type: 'OvhUnavailable', nonRetryable: false });
    await waitUntil('the delayed fork to be made', () => forks(t).length === 1, 5_000, 10);
    const { result } = await run(activitiesOf(dbRunbook(t)).ovhDbRestoreFromBackup, {
      pair: PAIR,
      name: 'app-db',
      runTag: 'lost',
    });
    expect(result).toMatchObject({ created: false, serviceId: forks(t)[0]!.service.id });
    expect(forks(t)).toHaveLength(1);
  });

  it('recreate access: creates the declared users, passwords only in 0600 files; a second call creates nothing', async () => {
    const a = activitiesOf(dbRunbook(t));
    const restored = await run(a.ovhDbRestoreFromBackup, { pair: PAIR, name: 'app-db', runTag: 'run-1' });
    const { result } = await run(a.ovhDbRecreateAccess, {
      pair: PAIR,
      name: 'app-db',
      serviceId: restored.result.serviceId,
    });
    expect(result.created).toEqual(['app', 'reporting']);
    expect(result.ipRestrictions).toEqual({ allowed: ['198.51.100.0/24'], missing: [] });
    const replies = t.emulator.responses.filter((r) => r.method === 'POST' && r.path.endsWith('/user'));
    expect(replies).toHaveLength(2);
    for (const user of ['app', 'reporting']) {
      const file = result.passwordFiles[user]!;
      expect(file).toBe(path.join(t.dir, 'db-passwords', PAIR, 'app-db', restored.result.serviceId, user));
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const password = readFileSync(file, 'utf8').trim();
      const reply = replies.find((r) => (r.body as { username: string }).username === user)!;
      expect(password).toBe((reply.body as { password: string }).password);
      expect(JSON.stringify(result)).not.toContain(password);
      expect(capture.lines.join('\n')).not.toContain(password);
    }
    const again = await run(a.ovhDbRecreateAccess, {
      pair: PAIR,
      name: 'app-db',
      serviceId: restored.result.serviceId,
    });
    expect(again.result).toMatchObject({ created: [], present: ['app', 'reporting'], passwordFiles: {} });
  });
});

describe('OVH managed database activities: a PostgreSQL service', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator({ recordResponses: true });
  });
  afterAll(async () => t?.stop());

  it('is restored and given its users the same way, through the postgresql paths (users with roles)', async () => {
    const PG = IDS.postgresql;
    const a = activitiesOf(dbRunbook(t, { engine: 'postgresql', clusterId: PG.clusterId }));
    const ready = await run(a.ovhDbReadiness, { pair: PAIR, name: 'app-db' });
    expect(ready.result).toMatchObject({ ok: true, backupId: PG.backups.latest });
    const { result } = await run(a.ovhDbRestoreFromBackup, { pair: PAIR, name: 'app-db', runTag: 'pg-1' });
    const fork = t.emulator.cloudDb(IDS.serviceName)!.services.find((s) => s.forkedFrom === PG.clusterId)!;
    expect(result).toMatchObject({
      serviceId: fork.service.id,
      region: 'SBG',
      backupId: PG.backups.latest,
      host: fork.service.endpoints[0]!.domain,
      port: PG.port,
    });
    expect(fork.service).toMatchObject({ engine: 'postgresql', version: '16' });
    expect(result.host).toMatch(/^postgresql-/);
    const access = await run(a.ovhDbRecreateAccess, {
      pair: PAIR,
      name: 'app-db',
      serviceId: result.serviceId,
    });
    expect(access.result.created).toEqual(['app', 'reporting']);
    const posts = t.emulator.responses.filter(
      (r) => r.method === 'POST' && r.path.includes('/database/postgresql/'),
    );
    expect(posts.map((r) => r.status)).toEqual([200, 200]);
    expect(posts[0]!.body).toMatchObject({ username: 'app', roles: [] });
  });
});

describe('OVH managed database activities: faults', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator({ recordResponses: true });
  });
  afterEach(() => {
    t.emulator.reset();
    t.emulator.setTiming(FAST_TIMING);
  });
  afterAll(async () => {
    await t?.stop();
    for (const secret of secretsOf(t.credential)) expect(texts.join('\n')).not.toContain(secret);
  });
  const readiness = (loaded: LoadedRunbook, timeoutMs?: number, name = 'app-db') =>
    run(activitiesOf(loaded, timeoutMs).ovhDbReadiness, { pair: PAIR, name });

  it('unreachable: an API nobody answers is OvhUnavailable (retryable), naming where', async () => {
    const port = await closedPort();
    const failure = await failed(readiness(dbRunbook(t, {}, { host: '127.0.0.1', port })));
    expect(failure).toMatchObject({ type: 'OvhUnavailable', nonRetryable: false });
    expect(failure.message).toContain(`127.0.0.1:${port}`);
  });

  it('slow: an answer later than the request timeout is OvhUnavailable (retryable)', async () => {
    t.emulator.addFault({ type: 'slow', delayMs: 1_000, path: '/cloud/project/*' });
    const from = t.emulator.responses.length;
    const failure = await failed(readiness(dbRunbook(t), 200));
    expect(failure).toMatchObject({ type: 'OvhUnavailable', nonRetryable: false });
    expect(failure.message).toContain('within 200 ms');
    // The client gave up without aborting the request: on a loaded machine it may not even have reached the emulator
    // yet (node-ovh fetches /auth/time first). Once it is answered, it cannot take a later test's fault.
    await waitUntil(
      'the request given up on is answered',
      () => t.emulator.responses.slice(from).some((r) => r.path.includes('/cloud/project/')),
      5_000,
      10,
    );
  });

  it('5xx: a 503 is OvhUnavailable (retryable); the next call passes', async () => {
    t.emulator.addFault({ type: 'http-error', status: 503, path: '/cloud/project/*' });
    expect(await failed(readiness(dbRunbook(t)))).toMatchObject({
      type: 'OvhUnavailable',
      nonRetryable: false,
    });
    expect(t.emulator.listFaults()).toEqual([]);
    expect((await readiness(dbRunbook(t))).result.ok).toBe(true);
  });

  it('refused: revoked credentials are OvhInvalidCredentials (not retried), naming the references, not the secrets', async () => {
    t.emulator.addFault({ type: 'revoke-credential', consumerKey: t.credential.consumerKey });
    const failure = await failed(readiness(dbRunbook(t)));
    expect(failure).toMatchObject({ type: 'OvhInvalidCredentials', nonRetryable: true });
    expect(failure.message).toContain('file:credentials/consumer-key');
  });

  it('refused: a service the project does not have is OvhDatabaseMisconfigured (not retried); an undeclared name OvhDatabaseNotConfigured', async () => {
    const wrong = '00000000-0000-4000-8000-000000000000';
    const failure = await failed(readiness(dbRunbook(t, { clusterId: wrong })));
    expect(failure).toMatchObject({ type: 'OvhDatabaseMisconfigured', nonRetryable: true });
    expect(failure.message).toContain(`app-db (mysql service ${wrong} of project ${IDS.serviceName})`);
    expect(failure.message).toContain('404');
    const unknown = await failed(readiness(dbRunbook(t), undefined, 'other-db'));
    expect(unknown).toMatchObject({ type: 'OvhDatabaseNotConfigured', nonRetryable: true });
    expect(unknown.message).toBe(
      'pair local declares no managed database "other-db" (its ovhDatabases.services: app-db)',
    );
  });

  it('no backup in the region: a restore into it creates nothing (OvhDatabaseNoBackupInRegion)', async () => {
    const failure = await failed(
      run(activitiesOf(dbRunbook(t, { drRegion: 'BHS' })).ovhDbRestoreFromBackup, {
        pair: PAIR,
        name: 'app-db',
        runTag: 'bhs',
      }),
    );
    expect(failure).toMatchObject({ type: 'OvhDatabaseNoBackupInRegion', nonRetryable: true });
    expect(forks(t)).toEqual([]);
  });
});

/** A loopback port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The OVH API as the orchestrator uses it, through the real client (@ovhcloud/node-ovh 3): against the emulator
 * always, and against the real API when OVH_ENDPOINT, OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET, OVH_CONSUMER_KEY
 * and OVH_IPLB_SERVICE and/or OVH_DNS_ZONE and/or a Public Cloud Load Balancer (OVH_CLOUD_PROJECT, OVH_CLOUD_REGION,
 * OVH_CLOUD_LOADBALANCER, OVH_CLOUD_LISTENER) and/or a managed MySQL service (OVH_CLOUD_PROJECT, OVH_DB_CLUSTER,
 * OVH_DB_DR_REGION) are set (optional: OVH_IPLB_PROTOCOL, OVH_DNS_SUBDOMAIN). The managed database checks only read on
 * the real API (a fork there is a new billed service); on the emulator they also fork and create a user.
 *
 * On the real API the writes put back the values already there (same default farm, same record target, same default
 * pool), so traffic does not move, but they do trigger a load balancer refresh, a zone refresh and an Octavia update.
 *
 * The emulator's CA is trusted in-process through https.globalAgent (see trustCaInProcess): NODE_EXTRA_CA_CERTS is
 * only read at process start. Verification stays on; test/ovh-emulator-cli.test.ts covers NODE_EXTRA_CA_CERTS.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ovh from '@ovhcloud/node-ovh';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEED_IDS } from '../../dev/ovh-emulator/seed';
import { startOvhEmulator, type OvhEmulator } from '../../dev/ovh-emulator/server';
import { ovhSignature } from '../../dev/ovh-emulator/signature';
import { rawHttpsRequest, trustCaInProcess, type RawReply } from '../../dev/ovh-emulator/test-support';

interface Target {
  options: ovh.ClientOptions;
  emulator?: OvhEmulator;
  iplbService?: string;
  iplbProtocol: 'http' | 'tcp';
  dnsZone?: string;
  dnsSubDomain?: string;
  cloudLb?: { serviceName: string; regionName: string; loadBalancerId: string; listenerId: string };
  managedDb?: { serviceName: string; clusterId: string; drRegion: string };
  pollMs: number;
  timeoutMs: number;
}

interface Task {
  id: number;
  action: string;
  status: string;
  progress: number;
  doneDate: string | null;
  zones: string[];
}

const client = (target: Target, overrides: Partial<ovh.ClientOptions> = {}) =>
  ovh({ ...target.options, ...overrides });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const randomKey = (length: number) => randomBytes(length).toString('base64url').slice(0, length);

async function waitFor<T>(
  target: Target,
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + target.timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(value)}`);
    await sleep(target.pollMs);
  }
}

/**
 * A request signed with node-ovh's own `signRequest`, so the full reply (status, error body) can be inspected.
 * `signedHost` replaces the host in the signed URL (e.g. with the port, which node-ovh leaves out).
 */
async function signedRawRequest(
  target: Target,
  method: ovh.HttpMethod,
  apiPath: string,
  tweak: { appSecret?: string; consumerKey?: string; signedHost?: string; body?: unknown } = {},
): Promise<RawReply> {
  const signer = client(target, {
    ...(tweak.appSecret === undefined ? {} : { appSecret: tweak.appSecret }),
    ...(tweak.consumerKey === undefined ? {} : { consumerKey: tweak.consumerKey }),
  });
  const fullPath = signer.basePath + apiPath;
  const time = await rawHttpsRequest({
    host: signer.host,
    port: signer.port,
    method: 'GET',
    path: `${signer.basePath}/auth/time`,
  });
  const timestamp = time.text.trim();
  const body = tweak.body === undefined ? '' : JSON.stringify(tweak.body);
  const signature = signer.signRequest(
    method,
    `https://${tweak.signedHost ?? signer.host}${fullPath}`,
    body,
    timestamp,
  );
  return rawHttpsRequest({
    host: signer.host,
    port: signer.port,
    method,
    path: fullPath,
    headers: {
      'Content-Type': 'application/json',
      'X-Ovh-Application': signer.appKey ?? '',
      'X-Ovh-Consumer': signer.consumerKey ?? '',
      'X-Ovh-Timestamp': timestamp,
      'X-Ovh-Signature': signature,
    },
    body: body === '' ? undefined : body,
  });
}

function cloudLbBase(target: Target): string {
  const lb = target.cloudLb!;
  return `/cloud/project/${lb.serviceName}/region/${lb.regionName}/loadbalancing`;
}

function probePath(target: Target): string {
  if (target.iplbService !== undefined) return `/ipLoadbalancing/${target.iplbService}`;
  if (target.dnsZone !== undefined) return `/domain/zone/${target.dnsZone}`;
  return `${cloudLbBase(target)}/loadbalancer/${target.cloudLb!.loadBalancerId}`;
}

/** The checks that must hold on the real API and on the emulator alike. */
function contractChecks(
  getTarget: () => Target,
  features: { iplb: boolean; dns: boolean; cloudLb: boolean; managedDb?: boolean; managedDbFork?: boolean },
) {
  it('GET /auth/time answers a bare Unix time, without authentication', async () => {
    const target = getTarget();
    const c = client(target);
    const raw = await rawHttpsRequest({
      host: c.host,
      port: c.port,
      method: 'GET',
      path: `${c.basePath}/auth/time`,
    });
    expect(raw.status).toBe(200);
    expect(raw.text.trim()).toMatch(/^\d{10}$/);
    const time = await c.requestPromised<number>('GET', '/auth/time');
    expect(Number.isInteger(time)).toBe(true);
    expect(Math.abs(time - Date.now() / 1000)).toBeLessThan(600);
  });

  it('accepts a request signed by node-ovh', async () => {
    const target = getTarget();
    const reply = await client(target).requestPromised<{ serviceName?: string; name?: string; id?: string }>(
      'GET',
      probePath(target),
    );
    if (target.iplbService !== undefined) expect(reply.serviceName).toBe(target.iplbService);
    else if (target.dnsZone !== undefined) expect(reply.name).toBe(target.dnsZone);
    else expect(reply.id).toBe(target.cloudLb?.loadBalancerId);
  });

  it('refuses a bad signature: 400 INVALID_SIGNATURE', async () => {
    const target = getTarget();
    await expect(
      client(target, { appSecret: randomKey(32) }).requestPromised('GET', probePath(target)),
    ).rejects.toEqual({
      error: 400,
      message: 'Invalid signature',
    });
    const raw = await signedRawRequest(target, 'GET', probePath(target), { appSecret: randomKey(32) });
    expect(raw.status).toBe(400);
    expect(raw.json).toMatchObject({
      errorCode: 'INVALID_SIGNATURE',
      httpCode: '400 Bad Request',
      message: 'Invalid signature',
    });
  });

  it('refuses an unknown consumer key: 403 INVALID_CREDENTIAL (message unconfirmed)', async () => {
    const target = getTarget();
    const consumerKey = randomKey(32);
    await expect(client(target, { consumerKey }).requestPromised('GET', probePath(target))).rejects.toEqual({
      error: 403,
      message: 'This credential does not exist',
    });
    const raw = await signedRawRequest(target, 'GET', probePath(target), { consumerKey });
    expect(raw.status).toBe(403);
    expect(raw.json).toMatchObject({ errorCode: 'INVALID_CREDENTIAL', httpCode: '403 Forbidden' });
  });

  it('refuses a stale timestamp: 400 (shape unconfirmed)', async () => {
    const target = getTarget();
    // apiTimeDiff set: node-ovh skips /auth/time and signs with a clock one hour behind.
    await expect(
      client(target, { apiTimeDiff: -3600 }).requestPromised('GET', probePath(target)),
    ).rejects.toEqual({
      error: 400,
      message: 'Query out of time',
    });
  });

  it('refuses an unknown application key: 403 (shape unconfirmed)', async () => {
    const target = getTarget();
    await expect(
      client(target, { appKey: randomKey(16) }).requestPromised('GET', probePath(target)),
    ).rejects.toEqual({
      error: 403,
      message: 'This application key is invalid',
    });
  });

  it('GET /auth/currentCredential: node-ovh sends it unsigned (refused), a signed request gets the credential', async () => {
    const target = getTarget();
    await expect(client(target).requestPromised('GET', '/auth/currentCredential')).rejects.toEqual({
      error: 401,
      message: 'You must login first',
    });
    const raw = await signedRawRequest(target, 'GET', '/auth/currentCredential');
    expect(raw.status).toBe(200);
    expect(raw.json).toMatchObject({
      status: 'validated',
      applicationId: expect.any(Number),
      credentialId: expect.any(Number),
    });
  });

  it.skipIf(!features.iplb)(
    "switches a frontend's default farm, then runs the refresh protocol until the task is done",
    async () => {
      const target = getTarget();
      const c = client(target);
      const base = `/ipLoadbalancing/${target.iplbService}`;
      const proto = target.iplbProtocol;
      const frontends = await Promise.all(
        (await c.requestPromised<number[]>('GET', `${base}/${proto}/frontend`)).map((id) =>
          c.requestPromised<{ frontendId: number; defaultFarmId: number | null }>(
            'GET',
            `${base}/${proto}/frontend/${id}`,
          ),
        ),
      );
      const frontend = frontends.find((f) => f.defaultFarmId !== null);
      expect(frontend, `a ${proto} frontend with a default farm`).toBeDefined();
      if (!frontend) return;
      const before = frontend.defaultFarmId as number;
      const farms = await c.requestPromised<number[]>('GET', `${base}/${proto}/farm`);
      expect(farms).toContain(before);
      const wanted = target.emulator ? (farms.find((id) => id !== before) as number) : before;
      const frontendPath = `${base}/${proto}/frontend/${frontend.frontendId}`;

      // 1. No refresh task running.
      for (const status of ['todo', 'doing']) {
        await waitFor(
          target,
          `no ${status} refresh task`,
          () => c.requestPromised<number[]>('GET', `${base}/task`, { action: 'refreshIplb', status }),
          (ids) => ids.length === 0,
        );
      }
      // The change: a void operation, resolved as null (200 with a null body, or a 204).
      expect(await c.requestPromised('PUT', frontendPath, { defaultFarmId: wanted })).toBeNull();
      expect((await c.requestPromised<{ defaultFarmId: number }>('GET', frontendPath)).defaultFarmId).toBe(
        wanted,
      );
      if (target.emulator) {
        const applied = target.emulator.iplb(target.iplbService as string)?.applied.frontends[proto];
        expect(applied?.find((f) => f.frontendId === frontend.frontendId)?.defaultFarmId).toBe(before);
      }
      // 2. Pending changes.
      const pending = await c.requestPromised<{ number: number; zone: string }[]>(
        'GET',
        `${base}/pendingChanges`,
      );
      if (target.emulator)
        expect(pending).toEqual([
          { number: 1, zone: 'gra' },
          { number: 1, zone: 'rbx' },
        ]);
      if (pending.length === 0) return; // nothing to deploy (the real API may not count a PUT that changed nothing)
      for (const change of pending)
        expect(change).toEqual({ number: expect.any(Number), zone: expect.any(String) });
      // 3. Refresh.
      const task = await c.requestPromised<Task>('POST', `${base}/refresh`);
      expect(task).toMatchObject({ action: 'refreshIplb', id: expect.any(Number), zones: expect.any(Array) });
      expect(['todo', 'doing']).toContain(task.status);
      // 4. Poll the task until done.
      const seen = [task.status];
      const finished = await waitFor(
        target,
        `refresh task ${task.id}`,
        () => c.requestPromised<Task>('GET', `${base}/task/${task.id}`),
        (t) => {
          if (seen.at(-1) !== t.status) seen.push(t.status);
          return t.status === 'done' || t.status === 'error';
        },
      );
      expect(finished).toMatchObject({
        id: task.id,
        status: 'done',
        progress: 100,
        doneDate: expect.any(String),
      });
      expect(seen.filter((s) => !['todo', 'doing', 'done'].includes(s))).toEqual([]);
      if (target.emulator) {
        expect(seen).toEqual(['todo', 'doing', 'done']);
        expect(await c.requestPromised('GET', `${base}/pendingChanges`)).toEqual([]);
        const applied = target.emulator.iplb(target.iplbService as string)?.applied.frontends[proto];
        expect(applied?.find((f) => f.frontendId === frontend.frontendId)?.defaultFarmId).toBe(wanted);
      }
    },
  );

  it.skipIf(!features.dns)(
    'updates a DNS record, refreshes the zone and waits until it is deployed',
    async () => {
      const target = getTarget();
      const c = client(target);
      const base = `/domain/zone/${target.dnsZone}`;
      const ids = await c.requestPromised<number[]>('GET', `${base}/record`, {
        fieldType: 'A',
        ...(target.dnsSubDomain === undefined ? {} : { subDomain: target.dnsSubDomain }),
      });
      expect(ids.length).toBeGreaterThan(0);
      const recordPath = `${base}/record/${ids[0]}`;
      const record = await c.requestPromised<{
        id: number;
        fieldType: string;
        target: string;
        ttl: number | null;
        zone: string;
      }>('GET', recordPath);
      expect(record).toMatchObject({ id: ids[0], fieldType: 'A', zone: target.dnsZone });
      const wanted = target.emulator ? DEFAULT_SEED_IDS.dns.targets.rbx : record.target;

      expect(await c.requestPromised('PUT', recordPath, { target: wanted, ttl: record.ttl })).toBeNull();
      expect((await c.requestPromised<{ target: string }>('GET', recordPath)).target).toBe(wanted);
      if (target.emulator) {
        expect(await c.requestPromised('GET', `${base}/status`)).toMatchObject({ isDeployed: false });
        expect(
          target.emulator.dns(target.dnsZone as string)?.deployedRecords.find((r) => r.id === record.id)
            ?.target,
        ).toBe(record.target);
      }
      expect(await c.requestPromised('POST', `${base}/refresh`)).toBeNull();
      await waitFor(
        target,
        'zone deployed',
        () => c.requestPromised<{ isDeployed: boolean }>('GET', `${base}/status`),
        (status) => status.isDeployed,
      );
      if (target.emulator) {
        expect(
          target.emulator.dns(target.dnsZone as string)?.deployedRecords.find((r) => r.id === record.id)
            ?.target,
        ).toBe(wanted);
      }
    },
  );

  it.skipIf(!features.cloudLb)(
    "sets a Public Cloud LB listener's default pool, then waits for the load balancer to be active again; a write meanwhile is accepted or refused with 409, nothing else",
    async () => {
      const target = getTarget();
      const c = client(target);
      const { loadBalancerId, listenerId } = target.cloudLb!;
      const base = cloudLbBase(target);
      const lbPath = `${base}/loadbalancer/${loadBalancerId}`;
      const listenerPath = `${base}/listener/${listenerId}`;
      const active = () =>
        waitFor(
          target,
          'the load balancer active',
          () => c.requestPromised<{ provisioningStatus: string }>('GET', lbPath),
          (lb) => lb.provisioningStatus === 'active',
        );
      await active();
      const listener = await c.requestPromised<{ defaultPoolId: string | null; loadBalancerIds: string[] }>(
        'GET',
        listenerPath,
      );
      expect(listener.loadBalancerIds).toContain(loadBalancerId);
      const pools = await c.requestPromised<{ id: string }[]>('GET', `${base}/pool`, {
        loadbalancerId: loadBalancerId,
      });
      expect(pools.map((p) => p.id)).toContain(listener.defaultPoolId);
      const wanted = target.emulator
        ? (pools.find((p) => p.id !== listener.defaultPoolId)?.id as string)
        : (listener.defaultPoolId as string);

      // The schema says the PUT answers the listener (cloud.loadbalancing.Listener).
      const put = await c.requestPromised<{ defaultPoolId: string }>('PUT', listenerPath, {
        defaultPoolId: wanted,
      });
      expect(put).toMatchObject({ defaultPoolId: wanted });
      // Octavia refuses a write while the load balancer is busy with 409; the provider counts on OVH saying 409 too.
      const second = await c.requestPromised('PUT', listenerPath, { defaultPoolId: wanted }).then(
        () => 'accepted' as const,
        (err: unknown) => err,
      );
      if (second !== 'accepted' || target.emulator) expect(second).toMatchObject({ error: 409 });
      await active();
      expect((await c.requestPromised<{ defaultPoolId: string }>('GET', listenerPath)).defaultPoolId).toBe(
        wanted,
      );
    },
  );

  it.skipIf(!features.managedDb)(
    'reads a managed MySQL service: status, endpoints and backup regions; its backups with their time and regions (the restore points)',
    async () => {
      const target = getTarget();
      const c = client(target);
      const { serviceName, clusterId, drRegion } = target.managedDb!;
      const base = `/cloud/project/${serviceName}/database/mysql`;
      expect(await c.requestPromised<string[]>('GET', base)).toContain(clusterId);
      const service = await c.requestPromised<{
        id: string;
        engine: string;
        status: string;
        endpoints: { component: string; domain: string; port: number | null }[];
        backups: { regions: string[] } | null;
        nodes: { region: string }[];
      }>('GET', `${base}/${clusterId}`);
      expect(service).toMatchObject({ id: clusterId, engine: 'mysql', status: expect.any(String) });
      expect(service.endpoints.some((e) => e.component === 'mysql' && e.domain.length > 0)).toBe(true);
      // The readiness check and the restore count on these two: the service's backup regions and each backup's.
      expect(service.backups?.regions).toContain(drRegion);
      const ids = await c.requestPromised<string[]>('GET', `${base}/${clusterId}/backup`);
      expect(ids.length).toBeGreaterThan(0);
      const backup = await c.requestPromised<{
        id: string;
        createdAt: string;
        regions: { name: string }[];
        status: string;
      }>('GET', `${base}/${clusterId}/backup/${ids[0]}`);
      expect(Number.isNaN(Date.parse(backup.createdAt))).toBe(false);
      expect(backup.regions.map((r) => r.name).length).toBeGreaterThan(0);
      expect(await c.requestPromised<string[]>('GET', `${base}/${clusterId}/user`)).toEqual(
        expect.any(Array),
      );
    },
  );

  it.skipIf(!features.managedDbFork)(
    'forks a backup into the DR region as a new service, CREATING then READY, that answers a user creation with its password',
    async () => {
      const target = getTarget();
      const c = client(target);
      const { serviceName, clusterId, drRegion } = target.managedDb!;
      const base = `/cloud/project/${serviceName}/database/mysql`;
      const [backupId] = await c.requestPromised<string[]>('GET', `${base}/${clusterId}/backup`);
      const fork = await c.requestPromised<{ id: string; status: string; region: string }>('POST', base, {
        description: 'contract fork',
        forkFrom: { serviceId: clusterId, backupId },
        nodesPattern: { flavor: 'db1-4', number: 1, region: drRegion },
        plan: 'business',
        version: '8',
      });
      expect(fork).toMatchObject({ status: 'CREATING', region: drRegion });
      expect(fork.id).not.toBe(clusterId);
      await waitFor(
        target,
        'the fork READY',
        () => c.requestPromised<{ status: string }>('GET', `${base}/${fork.id}`),
        (s) => s.status === 'READY',
      );
      const user = await c.requestPromised<{ username: string; password: string }>(
        'POST',
        `${base}/${fork.id}/user`,
        {
          name: 'contract',
        },
      );
      expect(user).toMatchObject({ username: 'contract', password: expect.any(String) });
    },
  );

  it.skipIf(!features.dns)(
    'refuses a record update that sets fieldType (not part of domain.zone.RecordUpdate)',
    async () => {
      const target = getTarget();
      const c = client(target);
      const base = `/domain/zone/${target.dnsZone}`;
      const [id] = await c.requestPromised<number[]>('GET', `${base}/record`, { fieldType: 'A' });
      const record = await c.requestPromised<{ target: string }>('GET', `${base}/record/${id}`);
      await expect(
        c.requestPromised('PUT', `${base}/record/${id}`, { fieldType: 'CNAME', target: record.target }),
      ).rejects.toMatchObject({
        error: 400,
      });
      expect(await c.requestPromised('GET', `${base}/record/${id}`)).toMatchObject({ fieldType: 'A' });
    },
  );
}

describe('OVH API contract: emulator', () => {
  const credential = {
    applicationKey: randomKey(16),
    applicationSecret: randomKey(32),
    consumerKey: randomKey(32),
  };
  const target = { iplbProtocol: 'http', pollMs: 10, timeoutMs: 5000 } as Target;
  let stateDir: string;
  let restoreTrust: () => void = () => undefined;

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'ovh-contract-'));
    const emulator = await startOvhEmulator({
      stateDir,
      credentials: [credential],
      timing: {
        iplbTaskTodoMs: 60,
        iplbTaskDoingMs: 120,
        dnsDeployMs: 60,
        cloudLbUpdateMs: 1000,
        cloudDbCreateMs: 300,
      },
    });
    restoreTrust = trustCaInProcess(emulator.caPem);
    Object.assign(target, {
      emulator,
      options: {
        appKey: credential.applicationKey,
        appSecret: credential.applicationSecret,
        consumerKey: credential.consumerKey,
        host: emulator.host,
        port: emulator.port,
      },
      iplbService: DEFAULT_SEED_IDS.iplb.serviceName,
      dnsZone: DEFAULT_SEED_IDS.dns.zone,
      dnsSubDomain: DEFAULT_SEED_IDS.dns.subDomain,
      cloudLb: DEFAULT_SEED_IDS.cloudLb,
      managedDb: {
        serviceName: DEFAULT_SEED_IDS.cloudDb.serviceName,
        clusterId: DEFAULT_SEED_IDS.cloudDb.clusterId,
        drRegion: DEFAULT_SEED_IDS.cloudDb.backupRegion,
      },
    });
  });
  afterEach(() => target.emulator?.reset());
  afterAll(async () => {
    restoreTrust();
    await target.emulator?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  contractChecks(() => target, {
    iplb: true,
    dns: true,
    cloudLb: true,
    managedDb: true,
    managedDbFork: true,
  });

  it('signs with the documented algorithm: the reference test vector, by node-ovh and by the emulator', () => {
    const vector = {
      applicationSecret: 'EXEgWIz07P0HYwtQDs7cNIqCiQaWSuHF',
      consumerKey: 'MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1',
      method: 'GET',
      url: 'https://eu.api.ovh.com/1.0/domains/',
      body: '',
      timestamp: 1366560945,
    };
    const expected = '$1$d3705e8afb27a0d2970a322b96550abfc67bb798';
    expect(ovhSignature(vector)).toBe(expected);
    const nodeOvh = ovh({
      appKey: 'any',
      appSecret: vector.applicationSecret,
      consumerKey: vector.consumerKey,
    });
    expect(nodeOvh.signRequest(vector.method, vector.url, vector.body, vector.timestamp)).toBe(expected);
  });

  it('checks the signature over the URL without the port, as node-ovh signs it', async () => {
    const emulator = target.emulator as OvhEmulator;
    const withPort = await signedRawRequest(target, 'GET', probePath(target), {
      signedHost: `${emulator.host}:${emulator.port}`,
    });
    expect(withPort.status).toBe(400);
    expect(withPort.json).toMatchObject({ errorCode: 'INVALID_SIGNATURE' });
    const withoutPort = await signedRawRequest(target, 'GET', probePath(target));
    expect(withoutPort.status).toBe(200);
  });

  it('answers the DNS zone refresh 204 No Content, without a body, as the real API does', async () => {
    const reply = await signedRawRequest(target, 'POST', `/domain/zone/${DEFAULT_SEED_IDS.dns.zone}/refresh`);
    expect(reply.status).toBe(204);
    expect(reply.text).toBe('');
    expect(reply.headers['content-type']).toBeUndefined();
  });

  it('answers other void operations (a frontend PUT) with HTTP 200 and a null body', async () => {
    const { frontendId, farms, serviceName } = DEFAULT_SEED_IDS.iplb;
    const reply = await signedRawRequest(
      target,
      'PUT',
      `/ipLoadbalancing/${serviceName}/http/frontend/${frontendId}`,
      {
        body: { defaultFarmId: farms.rbx },
      },
    );
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('null');
    expect(reply.headers['x-ovh-queryid']).toEqual(expect.any(String));
  });
});

const REAL_VARIABLES = ['OVH_ENDPOINT', 'OVH_APPLICATION_KEY', 'OVH_APPLICATION_SECRET', 'OVH_CONSUMER_KEY'];
const missingReal = REAL_VARIABLES.filter((name) => !process.env[name]);
const realIplb = process.env.OVH_IPLB_SERVICE || undefined;
const realDns = process.env.OVH_DNS_ZONE || undefined;
const CLOUD_VARIABLES = [
  'OVH_CLOUD_PROJECT',
  'OVH_CLOUD_REGION',
  'OVH_CLOUD_LOADBALANCER',
  'OVH_CLOUD_LISTENER',
];
const realCloudLb = CLOUD_VARIABLES.every((name) => process.env[name])
  ? {
      serviceName: process.env.OVH_CLOUD_PROJECT!,
      regionName: process.env.OVH_CLOUD_REGION!,
      loadBalancerId: process.env.OVH_CLOUD_LOADBALANCER!,
      listenerId: process.env.OVH_CLOUD_LISTENER!,
    }
  : undefined;
const DB_VARIABLES = ['OVH_CLOUD_PROJECT', 'OVH_DB_CLUSTER', 'OVH_DB_DR_REGION'];
const realManagedDb = DB_VARIABLES.every((name) => process.env[name])
  ? {
      serviceName: process.env.OVH_CLOUD_PROJECT!,
      clusterId: process.env.OVH_DB_CLUSTER!,
      drRegion: process.env.OVH_DB_DR_REGION!,
    }
  : undefined;
const realReady =
  missingReal.length === 0 &&
  (realIplb !== undefined ||
    realDns !== undefined ||
    realCloudLb !== undefined ||
    realManagedDb !== undefined);
if (!realReady) {
  const missing = [
    ...missingReal,
    ...(realIplb || realDns || realCloudLb || realManagedDb
      ? []
      : ['OVH_IPLB_SERVICE, OVH_DNS_ZONE, OVH_CLOUD_* or OVH_DB_*']),
  ];
  console.info(`[ovh contract] real OVH API checks skipped: ${missing.join(', ')} not set`);
}

describe.skipIf(!realReady)(
  'OVH API contract: real API',
  () => {
    const target: Target = {
      options: {
        endpoint: process.env.OVH_ENDPOINT as ovh.Endpoint,
        appKey: process.env.OVH_APPLICATION_KEY ?? '',
        appSecret: process.env.OVH_APPLICATION_SECRET ?? '',
        consumerKey: process.env.OVH_CONSUMER_KEY ?? '',
      },
      iplbService: realIplb,
      iplbProtocol: process.env.OVH_IPLB_PROTOCOL === 'tcp' ? 'tcp' : 'http',
      dnsZone: realDns,
      dnsSubDomain: process.env.OVH_DNS_SUBDOMAIN || undefined,
      cloudLb: realCloudLb,
      managedDb: realManagedDb,
      pollMs: 3000,
      timeoutMs: 10 * 60_000,
    };
    if (realReady && !realIplb)
      console.info('[ovh contract] real IPLB checks skipped: OVH_IPLB_SERVICE not set');
    if (realReady && !realDns) console.info('[ovh contract] real DNS checks skipped: OVH_DNS_ZONE not set');
    if (realReady && !realCloudLb)
      console.info(
        `[ovh contract] real Public Cloud LB checks skipped: ${CLOUD_VARIABLES.join(', ')} not all set`,
      );
    if (realReady && !realManagedDb)
      console.info(
        `[ovh contract] real managed database checks skipped: ${DB_VARIABLES.join(', ')} not all set`,
      );
    contractChecks(() => target, {
      iplb: realIplb !== undefined,
      dns: realDns !== undefined,
      cloudLb: realCloudLb !== undefined,
      managedDb: realManagedDb !== undefined,
    });
  },
  11 * 60_000,
);

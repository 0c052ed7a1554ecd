/**
 * OVH API emulator behaviour beyond the contract: tasks moving todo → doing → done over time, fault injection
 * (5xx, slowness, revoked credential, refresh task in error), the admin endpoint, clock drift, validation.
 * Driven through node-ovh, with the emulator's CA trusted in-process (see trustCaInProcess).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ovh from '@ovhcloud/node-ovh';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEED_IDS } from '../dev/ovh-emulator/seed';
import { startOvhEmulator, type OvhEmulator } from '../dev/ovh-emulator/server';
import { adminRequest, rawHttpsRequest, trustCaInProcess } from '../dev/ovh-emulator/test-support';

const IPLB = DEFAULT_SEED_IDS.iplb;
const BASE = `/ipLoadbalancing/${IPLB.serviceName}`;
const FRONTEND = `${BASE}/http/frontend/${IPLB.frontendId}`;
const GRA_SERVER = `${BASE}/http/farm/${IPLB.servers.gra.farmId}/server/${IPLB.servers.gra.serverId}`;
const ZONE = `/domain/zone/${DEFAULT_SEED_IDS.dns.zone}`;
const TIMING = { iplbTaskTodoMs: 150, iplbTaskDoingMs: 150, dnsDeployMs: 150, cloudLbUpdateMs: 150 };
const CLOUD = DEFAULT_SEED_IDS.cloudLb;
const CLOUD_BASE = `/cloud/project/${CLOUD.serviceName}/region/${CLOUD.regionName}/loadbalancing`;
const CLOUD_LB = `${CLOUD_BASE}/loadbalancer/${CLOUD.loadBalancerId}`;
const CLOUD_LISTENER = `${CLOUD_BASE}/listener/${CLOUD.listenerId}`;
const cloudMember = (site: 'gra' | 'rbx') =>
  `${CLOUD_BASE}/pool/${CLOUD.pools[site]}/member/${CLOUD.members[site]}`;

const alice = {
  applicationKey: 'aliceAppKey00001',
  applicationSecret: 'aliceSecret'.padEnd(32, '0'),
  consumerKey: 'aliceConsumer'.padEnd(32, '0'),
};
const bob = {
  applicationKey: 'aliceAppKey00001',
  applicationSecret: alice.applicationSecret,
  consumerKey: 'bobConsumer'.padEnd(32, '0'),
};

interface Task {
  id: number;
  status: string;
  progress: number;
  doneDate: string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let emulator: OvhEmulator;
let stateDir: string;
let restoreTrust: () => void = () => undefined;

function client(credential = alice, extra: Partial<ovh.ClientOptions> = {}): ovh.Client {
  return ovh({
    appKey: credential.applicationKey,
    appSecret: credential.applicationSecret,
    consumerKey: credential.consumerKey,
    host: emulator.host,
    port: emulator.port,
    ...extra,
  });
}

async function pollTask(c: ovh.Client, id: number): Promise<{ final: Task; seen: Task[] }> {
  const seen: Task[] = [];
  const deadline = Date.now() + 5000;
  for (;;) {
    const task = await c.requestPromised<Task>('GET', `${BASE}/task/${id}`);
    seen.push(task);
    if (task.status === 'done' || task.status === 'error') return { final: task, seen };
    if (Date.now() > deadline) throw new Error(`task ${id} still ${task.status}`);
    await sleep(10);
  }
}

const appliedFarm = () => emulator.iplb(IPLB.serviceName)?.applied.frontends.http[0]?.defaultFarmId;

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'ovh-emulator-'));
  emulator = await startOvhEmulator({ stateDir, credentials: [alice, bob], timing: TIMING });
  restoreTrust = trustCaInProcess(emulator.caPem);
});
afterEach(() => {
  emulator.reset();
  emulator.setTiming(TIMING);
  emulator.setClockSkew(0);
});
afterAll(async () => {
  restoreTrust();
  await emulator?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('IPLB refresh tasks', () => {
  it('move todo → doing → done over the configured durations, and only then apply the change', async () => {
    const c = client();
    await c.requestPromised('PUT', FRONTEND, { defaultFarmId: IPLB.farms.rbx });
    const started = Date.now();
    const task = await c.requestPromised<Task>('POST', `${BASE}/refresh`);
    expect(task).toMatchObject({ status: 'todo', progress: 0, doneDate: null });
    expect(await c.requestPromised('GET', `${BASE}/task`, { status: 'todo' })).toEqual([task.id]);

    const { final, seen } = await pollTask(c, task.id);
    const statuses = seen.map((t) => t.status).filter((s, i, all) => all[i - 1] !== s);
    expect(statuses).toEqual(['todo', 'doing', 'done']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMING.iplbTaskTodoMs + TIMING.iplbTaskDoingMs - 20);
    for (const t of seen.filter((s) => s.status === 'doing')) expect(t.progress).toBeGreaterThan(0);
    for (const t of seen.filter((s) => s.status === 'doing')) expect(t.progress).toBeLessThan(100);
    expect(final).toMatchObject({ status: 'done', progress: 100, doneDate: expect.any(String) });
    expect(Date.parse(final.doneDate as string)).toBeGreaterThan(started - 1000);

    expect(appliedFarm()).toBe(IPLB.farms.rbx);
    expect(await c.requestPromised('GET', `${BASE}/pendingChanges`)).toEqual([]);
    expect(await c.requestPromised('GET', `${BASE}/task`, { action: 'refreshIplb', status: 'done' })).toEqual(
      [task.id],
    );
    expect(await c.requestPromised('GET', `${BASE}/task`, { status: 'todo' })).toEqual([]);
  });

  it('keeps the applied configuration until the refresh task is done', async () => {
    const c = client();
    await c.requestPromised('PUT', FRONTEND, { defaultFarmId: IPLB.farms.rbx });
    expect(appliedFarm()).toBe(IPLB.farms.gra);
    const task = await c.requestPromised<Task>('POST', `${BASE}/refresh`);
    await sleep(TIMING.iplbTaskTodoMs + 20);
    expect((await c.requestPromised<Task>('GET', `${BASE}/task/${task.id}`)).status).toBe('doing');
    expect(appliedFarm()).toBe(IPLB.farms.gra);
    await pollTask(c, task.id);
    expect(appliedFarm()).toBe(IPLB.farms.rbx);
  });

  it('deploys what was pending when the refresh was asked for; later changes stay pending', async () => {
    const c = client();
    await c.requestPromised('PUT', FRONTEND, { defaultFarmId: IPLB.farms.rbx });
    const task = await c.requestPromised<Task>('POST', `${BASE}/refresh`);
    await c.requestPromised('PUT', GRA_SERVER, { status: 'inactive' });
    await pollTask(c, task.id);
    expect(appliedFarm()).toBe(IPLB.farms.rbx);
    expect(emulator.iplb(IPLB.serviceName)?.applied.servers.http[0]?.status).toBe('active');
    expect(await c.requestPromised('GET', `${BASE}/pendingChanges`)).toEqual([{ number: 1, zone: 'gra' }]);
  });

  it('refuses a second refresh while one is running (409)', async () => {
    const c = client();
    await c.requestPromised('POST', `${BASE}/refresh`);
    await expect(c.requestPromised('POST', `${BASE}/refresh`)).rejects.toMatchObject({ error: 409 });
  });

  it('refreshes one zone when asked to, and refuses a zone the service does not have', async () => {
    const c = client();
    await c.requestPromised('PUT', GRA_SERVER, { status: 'inactive' });
    await expect(c.requestPromised('POST', `${BASE}/refresh`, { zone: 'bhs' })).rejects.toMatchObject({
      error: 400,
    });
    const task = await c.requestPromised<Task & { zones: string[] }>('POST', `${BASE}/refresh`, {
      zone: 'gra',
    });
    expect(task.zones).toEqual(['gra']);
    await pollTask(c, task.id);
    expect(emulator.iplb(IPLB.serviceName)?.applied.servers.http[0]?.status).toBe('inactive');
  });
});

describe('IPLB servers and validation', () => {
  it('takes server status active|inactive and refuses anything else with the enum named', async () => {
    const c = client();
    expect(await c.requestPromised('PUT', GRA_SERVER, { status: 'inactive' })).toBeNull();
    expect(await c.requestPromised('GET', GRA_SERVER)).toMatchObject({
      status: 'inactive',
      serverId: IPLB.servers.gra.serverId,
    });
    expect(
      await c.requestPromised('GET', `${BASE}/http/farm/${IPLB.farms.gra}/server`, { status: 'inactive' }),
    ).toEqual([IPLB.servers.gra.serverId]);
    const refused = c.requestPromised('PUT', GRA_SERVER, { status: 'disabled' });
    await expect(refused).rejects.toEqual({
      error: 400,
      message:
        '[status] Given data (disabled) does not belong to the ipLoadbalancing.BackendCustomerServerStatusEnum enumeration',
    });
  });

  it('ignores read-only fields sent back, refuses unknown ones and farms that do not exist', async () => {
    const c = client();
    const frontend = await c.requestPromised<Record<string, unknown>>('GET', FRONTEND);
    expect(
      await c.requestPromised('PUT', FRONTEND, { ...frontend, defaultFarmId: IPLB.farms.rbx }),
    ).toBeNull();
    await expect(c.requestPromised('PUT', FRONTEND, { defaultFarm: IPLB.farms.rbx })).rejects.toMatchObject({
      error: 400,
    });
    await expect(c.requestPromised('PUT', FRONTEND, { defaultFarmId: 999 })).rejects.toMatchObject({
      error: 400,
    });
    expect((await c.requestPromised<{ defaultFarmId: number }>('GET', FRONTEND)).defaultFarmId).toBe(
      IPLB.farms.rbx,
    );
  });

  it('answers 404 with the object named for unknown IDs, and for paths it does not serve', async () => {
    const c = client();
    await expect(c.requestPromised('GET', `${BASE}/http/frontend/999`)).rejects.toEqual({
      error: 404,
      message: 'The requested object (frontendId = 999) does not exist',
    });
    // An unknown service (IP Load Balancer, DNS zone) is "This service does not exist", as the real API says.
    await expect(c.requestPromised('GET', '/ipLoadbalancing/nope')).rejects.toEqual({
      error: 404,
      message: 'This service does not exist',
    });
    await expect(c.requestPromised('GET', '/domain/zone/nowhere.test/status')).rejects.toEqual({
      error: 404,
      message: 'This service does not exist',
    });
    await expect(c.requestPromised('GET', '/domain/zone/dr.example.test/record/1')).rejects.toEqual({
      error: 404,
      message: 'The requested object (id = 1) does not exist',
    });
    await expect(c.requestPromised('DELETE', FRONTEND)).rejects.toMatchObject({ error: 404 });
  });
  it("reports the probe results the admin endpoint sets as the server's serverState, without a refresh; refuses a bad body", async () => {
    const c = client();
    expect(await c.requestPromised('GET', GRA_SERVER)).toMatchObject({ serverState: [] });
    const set = await adminRequest(emulator, 'POST', 'server-state', {
      serviceName: IPLB.serviceName,
      protocol: 'http',
      serverId: IPLB.servers.gra.serverId,
      serverState: [
        { status: 'DOWN', checkStatus: 'L4CON' },
        { status: 'UP', instanceId: 7 },
      ],
    });
    expect(set.status).toBe(200);
    const expected = [
      {
        checkCode: null,
        checkStatus: 'L4CON',
        checkTime: null,
        instanceId: 1,
        lastCheckContent: null,
        status: 'DOWN',
      },
      {
        checkCode: null,
        checkStatus: null,
        checkTime: null,
        instanceId: 7,
        lastCheckContent: null,
        status: 'UP',
      },
    ];
    expect(set.json).toEqual(expected);
    expect(await c.requestPromised('GET', GRA_SERVER)).toMatchObject({ serverState: expected });
    expect(await c.requestPromised('GET', `${BASE}/pendingChanges`)).toEqual([]);
    expect(emulator.iplb(IPLB.serviceName)?.applied.servers.http[0]?.serverState).toEqual(expected);
    // serverState is read-only: a PUT sending it back changes nothing.
    await c.requestPromised('PUT', GRA_SERVER, { serverState: [] });
    expect(await c.requestPromised('GET', GRA_SERVER)).toMatchObject({ serverState: expected });

    const unknown = await adminRequest(emulator, 'POST', 'server-state', {
      serviceName: IPLB.serviceName,
      protocol: 'http',
      serverId: 999,
      serverState: [],
    });
    expect(unknown).toMatchObject({
      status: 404,
      json: { message: `no http server 999 on ${IPLB.serviceName}` },
    });
    const bad = await adminRequest(emulator, 'POST', 'server-state', {
      serviceName: IPLB.serviceName,
      protocol: 'udp',
      serverId: IPLB.servers.gra.serverId,
      serverState: [{ status: 3 }],
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toMatch(/protocol/);
  });
});

describe('DNS zone deployment', () => {
  it('reports isDeployed false from a record change until the zone refresh has finished', async () => {
    const c = client();
    const record = `${ZONE}/record/${DEFAULT_SEED_IDS.dns.recordId}`;
    expect(await c.requestPromised('GET', `${ZONE}/status`)).toEqual({
      errors: [],
      isDeployed: true,
      warnings: [],
    });
    await c.requestPromised('PUT', record, { target: DEFAULT_SEED_IDS.dns.targets.rbx });
    expect(await c.requestPromised('GET', `${ZONE}/status`)).toMatchObject({ isDeployed: false });
    expect(await c.requestPromised('POST', `${ZONE}/refresh`)).toBeNull();
    expect(await c.requestPromised('GET', `${ZONE}/status`)).toMatchObject({ isDeployed: false });
    expect(emulator.dns(DEFAULT_SEED_IDS.dns.zone)?.deployedRecords[0]?.target).toBe(
      DEFAULT_SEED_IDS.dns.targets.gra,
    );
    await sleep(TIMING.dnsDeployMs + 30);
    expect(await c.requestPromised('GET', `${ZONE}/status`)).toMatchObject({ isDeployed: true });
    expect(emulator.dns(DEFAULT_SEED_IDS.dns.zone)?.deployedRecords[0]?.target).toBe(
      DEFAULT_SEED_IDS.dns.targets.rbx,
    );
  });

  it('filters records by fieldType and subDomain, and refuses an A record target that is not an IPv4', async () => {
    const c = client();
    expect(await c.requestPromised('GET', `${ZONE}/record`, { fieldType: 'A', subDomain: 'app' })).toEqual([
      DEFAULT_SEED_IDS.dns.recordId,
    ]);
    expect(await c.requestPromised('GET', `${ZONE}/record`, { fieldType: 'NS' })).toEqual([7002]);
    expect(await c.requestPromised('GET', `${ZONE}/record`, { subDomain: 'nope' })).toEqual([]);
    await expect(c.requestPromised('GET', `${ZONE}/record`, { fieldType: 'BOGUS' })).rejects.toMatchObject({
      error: 400,
    });
    await expect(
      c.requestPromised('PUT', `${ZONE}/record/${DEFAULT_SEED_IDS.dns.recordId}`, { target: 'not-an-ip' }),
    ).rejects.toMatchObject({ error: 400 });
  });
});

describe('fault injection', () => {
  it('answers a 5xx on matching paths, count-limited, then recovers', async () => {
    const c = client();
    emulator.addFault({ type: 'http-error', status: 503, path: `${BASE}/*`, count: 2 });
    await expect(c.requestPromised('GET', FRONTEND)).rejects.toMatchObject({ error: 503 });
    expect(await c.requestPromised('GET', '/domain/zone')).toEqual([DEFAULT_SEED_IDS.dns.zone]); // path not matched
    await expect(c.requestPromised('GET', `${BASE}/pendingChanges`)).rejects.toMatchObject({ error: 503 });
    expect(emulator.listFaults()).toEqual([]);
    expect(await c.requestPromised('GET', FRONTEND)).toMatchObject({ frontendId: IPLB.frontendId });
  });

  it('limits a 5xx to one method when asked to', async () => {
    const c = client();
    emulator.addFault({ type: 'http-error', path: FRONTEND, method: 'PUT' });
    expect(await c.requestPromised('GET', FRONTEND)).toMatchObject({ frontendId: IPLB.frontendId });
    await expect(c.requestPromised('PUT', FRONTEND, { defaultFarmId: IPLB.farms.rbx })).rejects.toMatchObject(
      { error: 500 },
    );
    expect(await c.requestPromised('GET', `${BASE}/pendingChanges`)).toEqual([]);
  });

  it('slows responses down; a client with a socket timeout gives up with a network error', async () => {
    emulator.addFault({ type: 'slow', delayMs: 400, path: FRONTEND });
    const started = Date.now();
    expect(await client().requestPromised('GET', FRONTEND)).toMatchObject({ frontendId: IPLB.frontendId });
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);

    const impatient = client(alice, { timeout: 100 });
    await impatient.requestPromised('GET', '/auth/time'); // the time fetch is not slowed
    const failure = (await impatient.requestPromised('GET', FRONTEND).then(
      () => undefined,
      (err: ovh.RequestError) => err,
    )) as ovh.RequestError | undefined;
    expect(failure).toBeDefined();
    expect(typeof failure?.error).not.toBe('number'); // not an HTTP status: the request never got an answer
    expect(String((failure?.error as Error | undefined)?.message)).toMatch(/socket hang up|aborted/i);
  });

  it('revokes a consumer key: INVALID_CREDENTIAL for it, other keys unaffected, until cleared', async () => {
    emulator.addFault({ type: 'revoke-credential', consumerKey: alice.consumerKey });
    await expect(client(alice).requestPromised('GET', FRONTEND)).rejects.toEqual({
      error: 403,
      message: 'This credential is not valid',
    });
    expect(await client(bob).requestPromised('GET', FRONTEND)).toMatchObject({ frontendId: IPLB.frontendId });
    emulator.clearFaults();
    expect(await client(alice).requestPromised('GET', FRONTEND)).toMatchObject({
      frontendId: IPLB.frontendId,
    });
  });

  it('ends the next refresh task in error: nothing applied, changes still pending, the following refresh works', async () => {
    const c = client();
    emulator.addFault({ type: 'refresh-task-error', serviceName: IPLB.serviceName });
    await c.requestPromised('PUT', FRONTEND, { defaultFarmId: IPLB.farms.rbx });
    const failing = await c.requestPromised<Task>('POST', `${BASE}/refresh`);
    const { final, seen } = await pollTask(c, failing.id);
    expect(final).toMatchObject({ status: 'error', doneDate: null });
    expect(seen.map((t) => t.status)).toContain('doing');
    expect(appliedFarm()).toBe(IPLB.farms.gra);
    expect(await c.requestPromised('GET', `${BASE}/pendingChanges`)).toEqual([
      { number: 1, zone: 'gra' },
      { number: 1, zone: 'rbx' },
    ]);
    expect(await c.requestPromised('GET', `${BASE}/task`, { status: 'error' })).toEqual([failing.id]);

    const retry = await c.requestPromised<Task>('POST', `${BASE}/refresh`);
    expect((await pollTask(c, retry.id)).final.status).toBe('done');
    expect(appliedFarm()).toBe(IPLB.farms.rbx);
  });

  it('is driven the same way through the admin endpoint, which also resets to the seed', async () => {
    const c = client();
    const added = await adminRequest(emulator, 'POST', 'faults', [
      { type: 'http-error', status: 502, path: `/1.0${FRONTEND}` },
      { type: 'refresh-task-error' },
    ]);
    expect(added.status).toBe(200);
    expect(added.json).toMatchObject([
      { type: 'http-error', status: 502, count: 1, id: expect.any(Number) },
      { type: 'refresh-task-error', count: 1 },
    ]);
    expect((await adminRequest(emulator, 'GET', 'faults')).json).toHaveLength(2);
    await expect(c.requestPromised('GET', FRONTEND)).rejects.toMatchObject({ error: 502 });
    expect((await adminRequest(emulator, 'POST', 'faults', { type: 'http-error', status: 200 })).status).toBe(
      400,
    );
    expect((await adminRequest(emulator, 'POST', 'faults', { type: 'nonsense' })).status).toBe(400);

    await c.requestPromised('PUT', FRONTEND, { defaultFarmId: IPLB.farms.rbx });
    const state = (await adminRequest(emulator, 'GET', 'state')).json as {
      iplb: {
        pending: { frontends: { http: { defaultFarmId: number }[] } };
        applied: { frontends: { http: { defaultFarmId: number }[] } };
      }[];
    };
    expect(state.iplb[0]?.pending.frontends.http[0]?.defaultFarmId).toBe(IPLB.farms.rbx);
    expect(state.iplb[0]?.applied.frontends.http[0]?.defaultFarmId).toBe(IPLB.farms.gra);

    expect((await adminRequest(emulator, 'POST', 'reset')).status).toBe(200);
    expect((await adminRequest(emulator, 'GET', 'faults')).json).toEqual([]);
    expect((await c.requestPromised<{ defaultFarmId: number }>('GET', FRONTEND)).defaultFarmId).toBe(
      IPLB.farms.gra,
    );
    const timing = await adminRequest(emulator, 'POST', 'timing', { iplbTaskTodoMs: 5 });
    expect(timing.json).toMatchObject({ iplbTaskTodoMs: 5, iplbTaskDoingMs: TIMING.iplbTaskDoingMs });
    expect((await adminRequest(emulator, 'POST', 'timing', { iplbTaskTodoMs: -1 })).status).toBe(400);
  });
});

describe('Public Cloud Load Balancer', () => {
  it('keeps the written object and its load balancer updating for cloudLbUpdateMs, refusing another write then (409)', async () => {
    // Long enough that the reads and the write right after it find it updating, whatever the machine's load.
    emulator.setTiming({ cloudLbUpdateMs: 1000 });
    const c = client();
    const put = await c.requestPromised<{ defaultPoolId: string; provisioningStatus: string }>(
      'PUT',
      CLOUD_LISTENER,
      { defaultPoolId: CLOUD.pools.rbx },
    );
    expect(put).toMatchObject({ defaultPoolId: CLOUD.pools.rbx, provisioningStatus: 'updating' });
    expect(await c.requestPromised('GET', CLOUD_LB)).toMatchObject({ provisioningStatus: 'updating' });
    await expect(c.requestPromised('PUT', cloudMember('gra'), { weight: 0 })).rejects.toEqual({
      error: 409,
      message: `Load Balancer ${CLOUD.loadBalancerId} is immutable and cannot be updated.`,
    });
    const deadline = Date.now() + 5000;
    while (
      (await c.requestPromised<{ provisioningStatus: string }>('GET', CLOUD_LB)).provisioningStatus !==
      'active'
    ) {
      if (Date.now() > deadline) throw new Error('the load balancer stayed updating');
      await sleep(20);
    }
    expect(await c.requestPromised('GET', CLOUD_LISTENER)).toMatchObject({ provisioningStatus: 'active' });
    expect(await c.requestPromised('PUT', cloudMember('gra'), { weight: 0 })).toMatchObject({ weight: 0 });
    const pools = await c.requestPromised<{ id: string; listenerId: string | null }[]>(
      'GET',
      `${CLOUD_BASE}/pool`,
      {
        loadbalancerId: CLOUD.loadBalancerId,
      },
    );
    expect(Object.fromEntries(pools.map((p) => [p.id, p.listenerId]))).toEqual({
      [CLOUD.pools.gra]: null,
      [CLOUD.pools.rbx]: CLOUD.listenerId,
    });
  });

  it("reports members as the pool's health monitor sees them: online, draining at weight 0, error when failing", async () => {
    const c = client();
    const members = async (site: 'gra' | 'rbx') =>
      c.requestPromised<{ operatingStatus: string }[]>(
        'GET',
        `${CLOUD_BASE}/pool/${CLOUD.pools[site]}/member`,
      );
    expect((await members('rbx'))[0]).toMatchObject({ operatingStatus: 'online' });
    const set = (healthy: boolean, memberId: string = CLOUD.members.rbx) =>
      adminRequest(emulator, 'POST', 'member-health', {
        serviceName: CLOUD.serviceName,
        regionName: CLOUD.regionName,
        memberId,
        healthy,
      });
    expect((await set(false)).status).toBe(200);
    expect((await members('rbx'))[0]).toMatchObject({ operatingStatus: 'error' });
    expect(await c.requestPromised('GET', `${CLOUD_BASE}/pool/${CLOUD.pools.rbx}`)).toMatchObject({
      operatingStatus: 'error',
    });
    expect(await c.requestPromised('GET', CLOUD_LB)).toMatchObject({ operatingStatus: 'degraded' });
    expect((await set(true)).status).toBe(200);
    expect((await members('rbx'))[0]).toMatchObject({ operatingStatus: 'online' });
    expect((await set(true, 'no-such-member')).status).toBe(404);
    expect((await adminRequest(emulator, 'POST', 'member-health', { healthy: 'yes' })).status).toBe(400);

    emulator.setTiming({ cloudLbUpdateMs: 1000 });
    await c.requestPromised('PUT', cloudMember('gra'), { weight: 0 });
    expect((await members('gra'))[0]).toMatchObject({
      operatingStatus: 'draining',
      provisioningStatus: 'updating',
    });
  });

  it('refuses a pool of no load balancer of the listener, a weight out of 0–256, unknown fields and unknown IDs', async () => {
    const c = client();
    const other = '00000000-0000-4000-8000-000000000000';
    await expect(c.requestPromised('PUT', CLOUD_LISTENER, { defaultPoolId: other })).rejects.toEqual({
      error: 404,
      message: `Pool ${other} not found.`,
    });
    await expect(c.requestPromised('PUT', cloudMember('gra'), { weight: 257 })).rejects.toMatchObject({
      error: 400,
    });
    await expect(c.requestPromised('PUT', cloudMember('gra'), { backup: true })).rejects.toEqual({
      error: 400,
      message: '[backup] Unknown parameter for cloud.loadbalancing.pool.MemberUpdate',
    });
    await expect(c.requestPromised('GET', `${CLOUD_BASE}/pool/${other}`)).rejects.toEqual({
      error: 404,
      message: `The requested object (poolId = ${other}) does not exist`,
    });
    await expect(
      c.requestPromised('GET', `/cloud/project/${CLOUD.serviceName}/region/SBG5/loadbalancing/loadbalancer`),
    ).rejects.toEqual({ error: 404, message: 'The requested object (regionName = SBG5) does not exist' });
    expect(emulator.cloudLb(CLOUD.serviceName, CLOUD.regionName)?.listeners[0]?.defaultPoolId).toBe(
      CLOUD.pools.gra,
    );
  });
});

describe('API clock', () => {
  it('lets node-ovh compensate a drift through /auth/time; a client that ignores it is refused', async () => {
    const before = client();
    await before.requestPromised('GET', FRONTEND); // fixes its time difference now
    emulator.setClockSkew(900);
    expect(await client().requestPromised('GET', FRONTEND)).toMatchObject({ frontendId: IPLB.frontendId });
    await expect(before.requestPromised('GET', FRONTEND)).rejects.toEqual({
      error: 400,
      message: 'Query out of time',
    });
    const time = await rawHttpsRequest({
      host: emulator.host,
      port: emulator.port,
      method: 'GET',
      path: '/1.0/auth/time',
    });
    expect(Number(time.text) - Date.now() / 1000).toBeGreaterThan(890);
  });
});

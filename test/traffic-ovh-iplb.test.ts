/**
 * The OVH IP Load Balancer traffic provider against the OVH API emulator (in-process, short task timings), through
 * the real node-ovh client: traffic moves gra → rbx in both modes (frontend default farm; server statuses), with
 * the refresh protocol run to `done`; a second switch is a no-op; a switch interrupted by a fault (5xx, refresh
 * task in error, slowness past the client's timeout, refresh timeout) and retried ends in the same state as a clean
 * one; a revoked credential is a non-retryable `OvhInvalidCredentials`; no secret appears in any error or log line.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { ovhIplbProvider, type OvhProviderOptions } from '../activities/traffic/providers';
import type { ProviderContext } from '../activities/traffic/provider';
import type { LoadedRunbook } from '../config/load';
import { DEFAULT_SEED_IDS, defaultSeed, serverHttp } from '../dev/ovh-emulator/seed';
import type { IplbServiceView } from '../dev/ovh-emulator/iplb';
import { waitUntil } from './helpers/apps-traffic';
import { runActivity } from './helpers/local-stack';
import {
  activityEnv,
  FAST_TIMING,
  failureOf,
  failureText,
  LogCapture,
  ovhRunbook,
  secretsOf,
  sleep,
  operatorClient,
  startTestEmulator,
  type TestEmulator,
} from './helpers/ovh';
import { takeTurns } from './helpers/turns';

// Needs the shared local pair as the stack leaves it: never while a file changes it.
takeTurns('local-pair', 'shared');

const IDS = DEFAULT_SEED_IDS.iplb;
const SERVICE = IDS.serviceName;
const BASE = `/ipLoadbalancing/${SERVICE}`;
const FAST: OvhProviderOptions = { poll: { initialMs: 20, maxMs: 100 } };

const capture = new LogCapture();
const texts: string[] = [];

/** Keeps every failure's text for the final secret check. */
async function failed(promise: Promise<unknown>) {
  const failure = await failureOf(promise);
  texts.push(failureText(failure));
  return failure;
}

function heartbeats(): { ctx: ProviderContext; beats: unknown[] } {
  const beats: unknown[] = [];
  return { ctx: { heartbeat: (d) => beats.push(d) }, beats };
}

/** The parts of the emulator's state a switch must leave identical, whatever happened on the way. */
function endState(view: IplbServiceView | undefined) {
  return {
    pending: view?.pending,
    applied: view?.applied,
    pendingChanges: view?.pendingChanges,
    running: view?.tasks.filter((t) => t.status === 'todo' || t.status === 'doing'),
  };
}

describe('OVH IPLB provider, frontend-farm mode (seed: frontend 4001 on farm 5001 = gra)', () => {
  let t: TestEmulator;
  let runbook: LoadedRunbook;
  let clients: ActivityClients;
  let activities: ReturnType<typeof createActivities>;
  let clean: ReturnType<typeof endState>;
  const provider = (options: OvhProviderOptions = FAST, traffic: Record<string, unknown> = {}) => {
    const loaded = Object.keys(traffic).length > 0 ? ovhRunbook(t, 'local-ovh-iplb.yaml', traffic) : runbook;
    const config = loaded.runbook.traffic;
    if (config?.provider !== 'ovh-iplb') throw new Error('not an ovh-iplb runbook');
    return ovhIplbProvider(config, loaded, options);
  };
  const operator = () => operatorClient(t);
  const view = () => t.emulator.iplb(SERVICE);

  beforeAll(async () => {
    capture.start();
    t = await startTestEmulator();
    runbook = ovhRunbook(t, 'local-ovh-iplb.yaml');
    clients = createClients(new Map([[runbook.runbook.pair, runbook]]));
    activities = createActivities(clients);
    // The state a clean switch to rbx leaves, for comparison with interrupted-and-retried ones.
    await provider().switchTo('rbx');
    clean = endState(view());
    t.emulator.reset();
  });
  afterEach(() => {
    t.emulator.reset();
    t.emulator.setTiming(FAST_TIMING);
  });
  afterAll(async () => {
    await clients?.close();
    await t?.stop();
    capture.stop();
  });

  it('moves traffic gra → rbx through the activities: frontend on farm 5002, refresh task done, verified', async () => {
    const env = activityEnv(capture);
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const pair = 'local-iplb';

    const before = await runActivity(env, activities.trafficCurrentTarget, { pair });
    expect(before).toMatchObject({ provider: 'ovh-iplb', site: 'gra', sites: ['gra'], live: true });
    expect(before.description).toBe(
      'OVH IPLB loadbalancer-local http frontend 4001 sends traffic to gra (farm 5001, the default farm); ' +
        'rbx gets none (farm 5002, unused); live: no pending change, no refresh running.',
    );

    const result = await runActivity(env, activities.trafficSwitch, { pair, site: 'rbx' });
    expect(result).toMatchObject({ changed: true, site: 'rbx', before: ['gra'], propagationSeconds: 0 });
    expect(result.actions[0]).toBe(`PUT ${BASE}/http/frontend/4001 defaultFarmId=5002`);
    expect(result.actions[1]).toMatch(
      new RegExp(`^POST ${BASE}/refresh → task \\d+ \\(2 pending changes \\(zones gra, rbx\\)\\)$`),
    );
    expect(result.actions[2]).toMatch(/^refresh task \d+ done$/);
    expect(result.description).toMatch(
      /^OVH IPLB loadbalancer-local http frontend 4001 now sends all traffic to rbx \(before: gra\): set the default farm to 5002, then refresh task \d+ applied 2 pending changes \(zones gra, rbx\) \(\d+\.\d s\)\.$/,
    );
    expect(result.state).toMatchObject({ site: 'rbx', live: true });
    expect(beats.length).toBeGreaterThan(0);
    expect(beats[0]).toMatchObject({ step: 'iplb-refresh' });

    const state = view()!;
    expect(state.applied.frontends.http[0]?.defaultFarmId).toBe(IDS.farms.rbx);
    expect(state.pending.frontends.http[0]?.defaultFarmId).toBe(IDS.farms.rbx);
    expect(state.pendingChanges).toEqual([]);
    expect(state.tasks.map((task) => [task.action, task.status])).toEqual([['refreshIplb', 'done']]);
    expect(endState(state)).toEqual(clean);

    const verified = await runActivity(env, activities.trafficVerify, { pair, site: 'rbx' });
    expect(verified.ok).toBe(true);
    expect(verified.checks.map((c) => [c.name, c.ok])).toEqual([
      ['target-configured', true],
      ['frontend-enabled', true],
      ['target-servers-active', true],
      ['live', true],
    ]);
    const wrong = await runActivity(env, activities.trafficVerify, { pair, site: 'gra' });
    expect(wrong.ok).toBe(false);
    expect(wrong.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['target-configured']);
  });

  it('cannot drain a site in frontend-farm mode (a frontend always has its farm): changes nothing and says so', async () => {
    const p = provider();
    const tasks = view()!.tasks.length;
    const drained = await p.drain('gra');
    expect(drained).toMatchObject({ changed: false, actions: [], site: 'gra' });
    expect(drained.state.sites).toEqual(['gra']);
    expect(drained.description).toBe(
      'OVH IPLB loadbalancer-local http frontend 4001 cannot leave gra without traffic (a frontend always sends it to its default farm): gra keeps it until the switch; nothing changed.',
    );
    expect(view()!.tasks.length).toBe(tasks);
  });

  it('a second switch to the live site changes nothing and says so (no PUT, no refresh)', async () => {
    const p = provider();
    await p.switchTo('rbx');
    const tasks = view()!.tasks.length;
    const again = await p.switchTo('rbx');
    expect(again).toMatchObject({ changed: false, actions: [], before: ['rbx'] });
    expect(again.description).toBe(
      'OVH IPLB loadbalancer-local http frontend 4001 already sends all traffic to rbx (default farm 5002), and it is live; nothing changed.',
    );
    expect(view()!.tasks.length).toBe(tasks);
    expect(endState(view())).toEqual(clean);
  });

  it('reports a configured but unrefreshed change as not live, and a switch then only refreshes', async () => {
    await operator().requestPromised('PUT', `${BASE}/http/frontend/4001`, { defaultFarmId: IDS.farms.rbx });
    const p = provider();
    const state = await p.currentTarget();
    expect(state).toMatchObject({ site: 'rbx', live: false });
    expect(state.description).toMatch(
      /; NOT live yet \(the running configuration may differ\): 2 pending changes \(zones gra, rbx\) await a refresh\.$/,
    );
    const verify = await p.verify('rbx');
    expect(verify.ok).toBe(false);
    expect(verify.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['live']);

    const result = await p.switchTo('rbx');
    expect(result.changed).toBe(true);
    expect(result.actions.some((a) => a.startsWith('PUT'))).toBe(false);
    expect(result.description).toMatch(/finished an earlier switch to rbx whose change was not live yet/);
    expect(endState(view())).toEqual(clean);
  });

  it('after a 5xx on the refresh POST (PUT done), a retry finishes the switch', async () => {
    t.emulator.addFault({ type: 'http-error', status: 503, method: 'POST', path: `${BASE}/refresh` });
    const p = provider();
    const failure = await failed(p.switchTo('rbx'));
    expect(failure.type).toBe('OvhUnavailable');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe(
      `OVH API POST ${BASE}/refresh is unavailable: 503 HTTP 503 injected by the emulator`,
    );
    expect(view()!.pending.frontends.http[0]?.defaultFarmId).toBe(IDS.farms.rbx);
    expect(view()!.applied.frontends.http[0]?.defaultFarmId).toBe(IDS.farms.gra);

    const retry = await p.switchTo('rbx');
    expect(retry.changed).toBe(true);
    expect(retry.actions.some((a) => a.startsWith('PUT'))).toBe(false);
    expect(endState(view())).toEqual(clean);
  });

  it('a refresh task ending in error is IplbRefreshFailed (retryable); the retry refreshes again', async () => {
    t.emulator.addFault({ type: 'refresh-task-error', serviceName: SERVICE });
    const p = provider();
    const failure = await failed(p.switchTo('rbx'));
    expect(failure.type).toBe('IplbRefreshFailed');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(
      /^OVH IPLB loadbalancer-local http frontend 4001: refresh task \d+ ended in "error"; the change is still pending/,
    );
    expect(view()!.tasks.map((task) => task.status)).toEqual(['error']);
    expect(view()!.applied.frontends.http[0]?.defaultFarmId).toBe(IDS.farms.gra);

    await p.switchTo('rbx');
    expect(view()!.tasks.map((task) => task.status)).toEqual(['error', 'done']);
    expect(endState(view())).toEqual(clean);
  });

  it('a PUT slower than the client timeout fails as OvhUnavailable, lands later, and the retry completes', async () => {
    t.emulator.addFault({
      type: 'slow',
      delayMs: 400,
      method: 'PUT',
      path: `${BASE}/http/frontend/*`,
      count: 1,
    });
    const p = provider({ ...FAST, requestTimeoutMs: 150 });
    const failure = await failed(p.switchTo('rbx'));
    expect(failure.type).toBe('OvhUnavailable');
    expect(failure.message).toBe(
      `OVH API PUT ${BASE}/http/frontend/4001 is unavailable: no answer from localhost:${t.emulator.port} within 150 ms`,
    );
    await sleep(400); // the emulator applies the PUT once its delay is over, as a server behind a slow network would
    expect(view()!.pending.frontends.http[0]?.defaultFarmId).toBe(IDS.farms.rbx);
    const retry = await p.switchTo('rbx');
    expect(retry.changed).toBe(true);
    expect(endState(view())).toEqual(clean);
  });

  it('a refresh POST that timed out but was accepted: the retry waits for that task instead of refreshing twice', async () => {
    t.emulator.addFault({ type: 'slow', delayMs: 300, method: 'POST', path: `${BASE}/refresh`, count: 1 });
    // The late task must still be running when the retry reads it: long enough whatever the machine's load.
    t.emulator.setTiming({ iplbTaskTodoMs: 1000, iplbTaskDoingMs: 200 });
    const p = provider({ ...FAST, requestTimeoutMs: 150 });
    expect((await failed(p.switchTo('rbx'))).type).toBe('OvhUnavailable');
    await waitUntil('the delayed POST created its task', async () => view()!.tasks.length === 1);
    const retry = await p.switchTo('rbx');
    expect(retry.actions[0]).toMatch(/^wait for running refresh task \d+$/);
    expect(retry.actions).toContain('no pending change: no refresh needed');
    expect(retry.description).toMatch(/a refresh already running \(task \d+\) applied it/);
    expect(view()!.tasks.map((task) => task.status)).toEqual(['done']);
    expect(endState(view())).toEqual(clean);
  });

  it("waits for someone else's running refresh before asking for its own (no 409), heartbeating", async () => {
    const op = operator();
    await op.requestPromised('PUT', `${BASE}/http/farm/${IDS.farms.gra}/server/6001`, { weight: 2 });
    t.emulator.setTiming({ iplbTaskTodoMs: 150, iplbTaskDoingMs: 150 });
    const other = await op.requestPromised<{ id: number }>('POST', `${BASE}/refresh`);
    const { ctx, beats } = heartbeats();
    const result = await provider().switchTo('rbx', ctx);
    expect(result.actions[0]).toBe(`PUT ${BASE}/http/frontend/4001 defaultFarmId=5002`);
    expect(result.actions[1]).toBe(`wait for running refresh task ${other.id}`);
    expect(result.actions[2]).toMatch(/^POST .*\/refresh → task \d+/);
    expect(beats).toContainEqual({ step: 'iplb-wait-running-refresh', tasks: [other.id] });
    expect(view()!.tasks.map((task) => task.status)).toEqual(['done', 'done']);
    expect(view()!.applied.frontends.http[0]?.defaultFarmId).toBe(IDS.farms.rbx);
    expect(view()!.applied.servers.http.find((s) => s.serverId === 6001)?.weight).toBe(2);
  });

  it('a refresh outlasting refreshTimeout is IplbRefreshTimeout (retryable); the retry waits for it to finish', async () => {
    t.emulator.setTiming({ iplbTaskTodoMs: 100, iplbTaskDoingMs: 700 });
    const short = provider(FAST, { refreshTimeout: '200ms' });
    const failure = await failed(short.switchTo('rbx'));
    expect(failure.type).toBe('IplbRefreshTimeout');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(
      /refresh task \d+ still (todo|doing) .*after the refresh timeout \(200 ms\)/,
    );
    const retry = await provider().switchTo('rbx');
    expect(retry.description).toMatch(/a refresh already running \(task \d+\) applied it/);
    expect(endState(view())).toEqual(clean);
  });

  it('a revoked consumer key is a non-retryable OvhInvalidCredentials; once valid again the same provider works', async () => {
    const p = provider();
    await p.currentTarget(); // the client exists and has fetched the API time
    const fault = t.emulator.addFault({ type: 'revoke-credential', consumerKey: t.credential.consumerKey });
    const failure = await failed(p.switchTo('rbx'));
    expect(failure.type).toBe('OvhInvalidCredentials');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(
      `OVH API GET ${BASE}/http/frontend/4001 refused the credentials (403 INVALID_CREDENTIAL: This credential is not valid); ` +
        'check the application key, application secret and consumer key (applicationKey file:credentials/application-key, ' +
        "applicationSecret file:credentials/application-secret, consumerKey file:credentials/consumer-key) and the consumer key's rights",
    );
    expect(failure.details).toEqual([
      { status: 403, reason: 'INVALID_CREDENTIAL', method: 'GET', path: `${BASE}/http/frontend/4001` },
    ]);
    expect(view()!.pending.frontends.http[0]?.defaultFarmId).toBe(IDS.farms.gra);
    t.emulator.removeFault(fault.id);
    expect((await p.switchTo('rbx')).changed).toBe(true);
  });

  it('names what the runbook got wrong: unknown frontend, unknown site, unreadable secret', async () => {
    const noFrontend = await failed(provider(FAST, { frontendId: 4999 }).currentTarget());
    expect(noFrontend.type).toBe('TrafficMisconfigured');
    expect(noFrontend.nonRetryable).toBe(true);
    expect(noFrontend.message).toMatch(
      /answered 404: The requested object \(frontendId = 4999\) does not exist/,
    );

    const unknownSite = await failed(provider().switchTo('sbg'));
    expect(unknownSite.type).toBe('UnknownSite');
    expect(unknownSite.message).toMatch(/site "sbg" has no farm .*\(sites: gra, rbx\)/);

    const noSecret = await failed(
      provider(FAST, {
        ovh: {
          host: t.emulator.host,
          port: t.emulator.port,
          applicationKey: 'file:credentials/application-key',
          applicationSecret: 'file:credentials/missing-secret',
          consumerKey: 'file:credentials/consumer-key',
        },
      }).currentTarget(),
    );
    expect(noSecret.type).toBe('SecretUnavailable');
    expect(noSecret.nonRetryable).toBe(true);
    expect(noSecret.message).toMatch(
      /^secret file:credentials\/missing-secret is unavailable: cannot read .* \(ENOENT\)$/,
    );
    expect(view()!.tasks).toEqual([]);
  });

  // After every test of this file, whatever their order (registered last, so it runs before the clean-up).
  afterAll(() => {
    const corpus = [...texts, ...capture.lines, ...t.emulatorLog].join('\n');
    expect(texts.length).toBeGreaterThanOrEqual(8);
    expect(capture.lines.length).toBeGreaterThan(0);
    for (const secret of secretsOf(t.credential)) expect(corpus).not.toContain(secret);
  });
});

describe('OVH IPLB provider, server-status mode (one farm: server 6001 = gra active, 6002 = rbx inactive)', () => {
  let t: TestEmulator;
  let clean: ReturnType<typeof endState>;
  const servers = { gra: { farmId: 5001, serverId: 6001 }, rbx: { farmId: 5001, serverId: 6002 } };
  const provider = () => {
    const loaded = ovhRunbook(t, 'local-ovh-iplb.yaml', { mode: 'server-status', servers, farms: undefined });
    const config = loaded.runbook.traffic;
    if (config?.provider !== 'ovh-iplb') throw new Error('not an ovh-iplb runbook');
    return ovhIplbProvider(config, loaded, FAST);
  };
  const statuses = (which: 'pending' | 'applied') =>
    Object.fromEntries(
      t.emulator.iplb(SERVICE)![which].servers.http.map((s) => [s.serverId, `${s.backendId}/${s.status}`]),
    );

  beforeAll(async () => {
    const seed = defaultSeed();
    const rbxServer = seed.iplb[0]!.config.servers.http.find((s) => s.serverId === 6002)!;
    rbxServer.backendId = 5001;
    rbxServer.status = 'inactive';
    t = await startTestEmulator({ seed });
    await provider().switchTo('rbx');
    clean = endState(t.emulator.iplb(SERVICE));
    t.emulator.reset();
  });
  afterEach(() => t.emulator.reset());
  afterAll(async () => t?.stop());

  it('moves traffic gra → rbx make-before-break: 6002 active, then 6001 inactive, one refresh, applied', async () => {
    const p = provider();
    const before = await p.currentTarget();
    expect(before).toMatchObject({ site: 'gra', sites: ['gra'], live: true });
    expect(before.description).toBe(
      'OVH IPLB loadbalancer-local sends traffic to gra (server 6001 of farm 5001 active); ' +
        'rbx gets none (server 6002 of farm 5001 inactive); live: no pending change, no refresh running.',
    );
    const result = await p.switchTo('rbx');
    expect(result.actions.slice(0, 2)).toEqual([
      `PUT ${BASE}/http/farm/5001/server/6002 status=active`,
      `PUT ${BASE}/http/farm/5001/server/6001 status=inactive`,
    ]);
    expect(result.actions[3]).toMatch(/^refresh task \d+ done$/);
    expect(statuses('applied')).toEqual({ 6001: '5001/inactive', 6002: '5001/active' });
    expect(statuses('pending')).toEqual(statuses('applied'));
    expect((await p.verify('rbx')).ok).toBe(true);
    expect((await p.switchTo('rbx')).changed).toBe(false);
    expect(endState(t.emulator.iplb(SERVICE))).toEqual(clean);
  });

  it('a drain sets the site inactive and refreshes, leaving no site with traffic; a switch then only activates the target', async () => {
    const p = provider();
    const drained = await p.drain('gra');
    expect(drained.changed).toBe(true);
    expect(drained.actions[0]).toBe(`PUT ${BASE}/http/farm/5001/server/6001 status=inactive`);
    expect(drained.actions.at(-1)).toMatch(/^refresh task \d+ done$/);
    expect(statuses('applied')).toEqual({ 6001: '5001/inactive', 6002: '5001/inactive' });
    expect(drained.state).toMatchObject({ sites: [], live: true });
    expect((await p.drain('gra')).changed).toBe(false);

    const switched = await p.switchTo('rbx');
    expect(switched.actions[0]).toBe(`PUT ${BASE}/http/farm/5001/server/6002 status=active`);
    expect(switched.actions.filter((a) => a.startsWith('PUT'))).toHaveLength(1);
    expect(statuses('applied')).toEqual({ 6001: '5001/inactive', 6002: '5001/active' });
  });

  it('a failure between the two PUTs leaves both active (not live); the retry finishes the job', async () => {
    t.emulator.addFault({
      type: 'http-error',
      status: 500,
      method: 'PUT',
      path: `${BASE}/http/farm/5001/server/6001`,
    });
    const p = provider();
    const failure = await failureOf(p.switchTo('rbx'));
    expect(failure.type).toBe('OvhUnavailable');
    const middle = await p.currentTarget();
    expect(middle).toMatchObject({ sites: ['gra', 'rbx'], site: undefined, live: false });
    expect(statuses('applied')).toEqual({ 6001: '5001/active', 6002: '5001/inactive' });

    const retry = await p.switchTo('rbx');
    expect(retry.actions[0]).toBe(`PUT ${BASE}/http/farm/5001/server/6001 status=inactive`);
    expect(endState(t.emulator.iplb(SERVICE))).toEqual(clean);
  });
});

describe("OVH IPLB provider: the target's probe results (farm 5002 = rbx holds servers 6002 and 6003)", () => {
  let t: TestEmulator;
  const frontendFarm = () => {
    const loaded = ovhRunbook(t, 'local-ovh-iplb.yaml');
    const config = loaded.runbook.traffic;
    if (config?.provider !== 'ovh-iplb') throw new Error('not an ovh-iplb runbook');
    return ovhIplbProvider(config, loaded, FAST);
  };
  const serverStatus = () => {
    const servers = { gra: { farmId: 5001, serverId: 6001 }, rbx: { farmId: 5002, serverId: 6002 } };
    const loaded = ovhRunbook(t, 'local-ovh-iplb.yaml', { mode: 'server-status', servers, farms: undefined });
    const config = loaded.runbook.traffic;
    if (config?.provider !== 'ovh-iplb') throw new Error('not an ovh-iplb runbook');
    return ovhIplbProvider(config, loaded, FAST);
  };
  /** What both Load Balancer instances' probes report of a server of farm 5002. */
  const probe = (serverId: number, ...statuses: string[]) =>
    t.emulator.setServerState({
      serviceName: SERVICE,
      protocol: 'http',
      serverId,
      serverState: statuses.map((status) => ({
        status,
        checkStatus: status === 'UP' ? 'L7OK' : 'L4CON',
      })),
    });
  const untouched = () => {
    const state = t.emulator.iplb(SERVICE)!;
    return {
      pendingFarm: state.pending.frontends.http[0]?.defaultFarmId,
      appliedFarm: state.applied.frontends.http[0]?.defaultFarmId,
      statuses: state.pending.servers.http.map((s) => s.status),
      pendingChanges: state.pendingChanges,
      tasks: state.tasks,
    };
  };

  beforeAll(async () => {
    const seed = defaultSeed();
    seed.iplb[0]!.config.servers.http.push(
      serverHttp({
        serverId: 6003,
        backendId: IDS.farms.rbx,
        address: '127.0.0.3',
        displayName: 'app-rbx-2',
      }),
    );
    t = await startTestEmulator({ seed });
  });
  afterEach(() => t.emulator.reset());
  afterAll(async () => t?.stop());

  it('refuses a farm whose servers the probe all reports down: TrafficTargetUnhealthy, not retried, nothing changed', async () => {
    probe(6002, 'DOWN', 'DOWN');
    probe(6003, 'DOWN', 'DOWN');
    const before = untouched();
    const failure = await failed(frontendFarm().switchTo('rbx'));
    expect(failure).toMatchObject({ type: 'TrafficTargetUnhealthy', nonRetryable: true });
    expect(failure.message).toBe(
      `not switching OVH IPLB loadbalancer-local http frontend 4001 to rbx: farm 5002 has no healthy server (server 6002 active, DOWN (L4CON) on instance 1, DOWN (L4CON) on instance 2; server 6003 active, DOWN (L4CON) on instance 1, DOWN (L4CON) on instance 2); nothing was changed. Look at the application on rbx and at the farm's probe (serverState of GET ${BASE}/http/farm/5002/server/{serverId}), then switch again.`,
    );
    expect(untouched()).toEqual(before);
    expect(untouched().pendingFarm).toBe(IDS.farms.gra);
  });

  it('switches to the farm once one of its servers is up on one instance', async () => {
    probe(6002, 'DOWN', 'DOWN');
    probe(6003, 'DOWN', 'UP');
    const result = await frontendFarm().switchTo('rbx');
    expect(result).toMatchObject({ changed: true, site: 'rbx' });
    expect(untouched().appliedFarm).toBe(IDS.farms.rbx);
  });

  it('an up server that is inactive takes no traffic: the farm is refused', async () => {
    probe(6002, 'DOWN', 'DOWN');
    probe(6003, 'UP', 'UP');
    await operatorClient(t).requestPromised('PUT', `${BASE}/http/farm/5002/server/6003`, {
      status: 'inactive',
    });
    const failure = await failed(frontendFarm().switchTo('rbx'));
    expect(failure.type).toBe('TrafficTargetUnhealthy');
    expect(failure.message).toMatch(
      /server 6003 inactive, UP \(L7OK\) on instance 1, UP \(L7OK\) on instance 2/,
    );
  });

  it('server-status mode refuses a target server reported down, and switches once it is up', async () => {
    probe(6002, 'DOWN', 'DOWN');
    const failure = await failed(serverStatus().switchTo('rbx'));
    expect(failure).toMatchObject({ type: 'TrafficTargetUnhealthy', nonRetryable: true });
    expect(failure.message).toMatch(
      /^not switching OVH IPLB loadbalancer-local to rbx: server 6002 of farm 5002 has no healthy server/,
    );
    probe(6002, 'UP', 'DOWN');
    expect((await serverStatus().switchTo('rbx')).changed).toBe(true);
  });
});

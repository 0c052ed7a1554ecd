/**
 * The OVH Public Cloud Load Balancer traffic provider against the OVH API emulator (in-process, short write timings),
 * through the real node-ovh client: traffic moves gra → rbx by the listener's default pool; a second switch is a
 * no-op; a drain sets the site's member weights to 0 and a switch (the undo included) gives them back; every write
 * waits for the load balancer to be active, so the provider never writes while it is busy, and a 409 from someone
 * else's write in between is waited out; faults (unreachable, slow, refused, 5xx, a load balancer busy past the
 * timeout or in error) fail typed and a retry ends in the same state as a clean switch; a pool without a health
 * monitor fails readiness and verification; no secret appears in any error or log line.
 */
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { ovhCloudLbProvider, type OvhProviderOptions } from '../activities/traffic/providers';
import type { ProviderContext } from '../activities/traffic/provider';
import type { LoadedRunbook } from '../config/load';
import type { CloudLbRegionView } from '../dev/ovh-emulator/cloud-lb';
import { cloudLbSeed, DEFAULT_SEED_IDS, defaultSeed } from '../dev/ovh-emulator/seed';
import { evaluateTrafficReadiness } from '../workflows/checks/traffic-readiness';
import { runActivity } from './helpers/local-stack';
import {
  activityEnv,
  FAST_TIMING,
  failureOf,
  failureText,
  LogCapture,
  ovhRunbook,
  secretsOf,
  operatorClient,
  startTestEmulator,
  type TestEmulator,
} from './helpers/ovh';
import { waitUntil } from './helpers/wait';
import { takeTurns } from './helpers/turns';

// Runs activities of the local pair's runbook shape, as the IPLB test does: never while a file changes the pair.
takeTurns('local-pair', 'shared');

const IDS = DEFAULT_SEED_IDS.cloudLb;
const BASE = `/cloud/project/${IDS.serviceName}/region/${IDS.regionName}/loadbalancing`;
const LISTENER = `${BASE}/listener/${IDS.listenerId}`;
const member = (site: 'gra' | 'rbx') => `${BASE}/pool/${IDS.pools[site]}/member/${IDS.members[site]}`;
const LABEL = `OVH Cloud LB ${IDS.loadBalancerId} (${IDS.regionName}) listener ${IDS.listenerId}`;
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

/** Where the listener points and every member's weight: what a switch must leave identical however it got there. */
function endState(view: CloudLbRegionView | undefined) {
  return {
    defaultPoolId: view?.listeners[0]?.defaultPoolId,
    weights: Object.fromEntries(
      Object.entries(view?.members ?? {}).flatMap(([, ms]) => ms.map((m) => [m.name, m.weight])),
    ),
    statuses: [
      view?.loadBalancers[0]?.provisioningStatus,
      view?.listeners[0]?.provisioningStatus,
      ...Object.values(view?.members ?? {}).flatMap((ms) => ms.map((m) => m.provisioningStatus)),
    ],
  };
}

describe('OVH Cloud LB provider (seed: listener app-http on pool app-gra, one member and a health monitor per pool)', () => {
  let t: TestEmulator;
  let runbook: LoadedRunbook;
  let clients: ActivityClients;
  let activities: ReturnType<typeof createActivities>;
  const provider = (options: OvhProviderOptions = FAST, traffic: Record<string, unknown> = {}) => {
    const loaded =
      Object.keys(traffic).length > 0 ? ovhRunbook(t, 'local-ovh-cloud-lb.yaml', traffic) : runbook;
    const config = loaded.runbook.traffic;
    if (config?.provider !== 'ovh-cloud-lb') throw new Error('not an ovh-cloud-lb runbook');
    return ovhCloudLbProvider(config, loaded, options);
  };
  const view = () => t.emulator.cloudLb(IDS.serviceName, IDS.regionName);
  const onRbx = { defaultPoolId: IDS.pools.rbx, weights: { 'app-gra-1': 1, 'app-rbx-1': 1 } };
  /** The PUTs the emulator answered since `from` (an index in its recorded responses), as "status path". */
  const putsSince = (from: number) =>
    t.emulator.responses
      .slice(from)
      .filter((r) => r.method === 'PUT')
      .map((r) => `${r.status} ${r.path.replace('/1.0', '')}`);

  beforeAll(async () => {
    capture.start();
    t = await startTestEmulator({ recordResponses: true });
    runbook = ovhRunbook(t, 'local-ovh-cloud-lb.yaml');
    clients = createClients(new Map([[runbook.runbook.pair, runbook]]));
    activities = createActivities(clients);
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

  it('moves traffic gra → rbx through the activities: the listener on pool app-rbx, applied, verified', async () => {
    // Long enough that the read after the write always finds it still being applied, whatever the machine's load.
    t.emulator.setTiming({ cloudLbUpdateMs: 300 });
    const env = activityEnv(capture);
    const pair = 'local-cloud-lb';
    const before = await runActivity(env, activities.trafficCurrentTarget, { pair });
    expect(before).toMatchObject({ provider: 'ovh-cloud-lb', site: 'gra', sites: ['gra'], live: true });
    expect(before.description).toBe(
      `${LABEL} sends traffic through pool app-gra (${IDS.pools.gra}): it sends traffic to gra (app-gra-1 127.0.0.1:8080 weight 1 online); ` +
        `rbx gets none (app-rbx-1 127.0.0.2:8080 weight 1 online); live: load balancer, listener and members active.`,
    );
    expect(before.members.map((m) => [m.site, m.healthy])).toEqual([
      ['gra', true],
      ['rbx', true],
    ]);
    expect(before.checks?.map((c) => [c.name, c.ok])).toEqual([
      ['health-monitor@gra', true],
      ['health-monitor@rbx', true],
    ]);

    const from = t.emulator.responses.length;
    const result = await runActivity(env, activities.trafficSwitch, { pair, site: 'rbx' });
    expect(result).toMatchObject({ changed: true, site: 'rbx', before: ['gra'], propagationSeconds: 0 });
    expect(result.actions).toEqual([
      `PUT ${LISTENER} defaultPoolId=${IDS.pools.rbx}`,
      'wait for the load balancer (updating) to be active',
      'load balancer active',
    ]);
    expect(result.description).toMatch(
      new RegExp(
        `^${literal(LABEL)} now sends all traffic to rbx \\(before: gra\\): set the listener's default pool to app-rbx \\(${IDS.pools.rbx}\\), one write at a time, each applied \\(\\d+\\.\\d s\\)\\.$`,
      ),
    );
    expect(result.state).toMatchObject({ site: 'rbx', live: true });
    expect(putsSince(from)).toEqual([`200 ${LISTENER}`]);
    expect(endState(view())).toMatchObject(onRbx);

    const verified = await runActivity(env, activities.trafficVerify, { pair, site: 'rbx' });
    expect(verified.ok).toBe(true);
    expect(verified.checks.map((c) => [c.name, c.ok])).toEqual([
      ['target-configured', true],
      ['target-weights', true],
      ['health-monitor', true],
      ['target-members-online', true],
      ['live', true],
    ]);
    const wrong = await runActivity(env, activities.trafficVerify, { pair, site: 'gra' });
    expect(wrong.ok).toBe(false);
    expect(wrong.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['target-configured']);
  });

  it('a second switch to the live site changes nothing and says so (no write)', async () => {
    const p = provider();
    await p.switchTo('rbx');
    const from = t.emulator.responses.length;
    const again = await p.switchTo('rbx');
    expect(again).toMatchObject({ changed: false, actions: [], before: ['rbx'] });
    expect(again.description).toBe(
      `${LABEL} already sends all traffic to rbx (pool app-rbx (${IDS.pools.rbx}), no member drained), and it is live; nothing changed.`,
    );
    expect(putsSince(from)).toEqual([]);
  });

  it('a drain sets the weight of the site’s members to 0 (draining, no site gets new traffic); the switch gives it back after moving the listener', async () => {
    t.emulator.setTiming({ cloudLbUpdateMs: 300 });
    const p = provider();
    const drained = await p.drain('gra');
    expect(drained).toMatchObject({ changed: true, site: 'gra' });
    expect(drained.actions[0]).toBe(`PUT ${member('gra')} weight=0`);
    expect(drained.state).toMatchObject({ sites: [], live: true });
    expect(drained.description).toMatch(
      /no longer sends new connections to gra: weight 0 for the member\(s\) app-gra-1/,
    );
    expect(view()!.members[IDS.pools.gra]![0]).toMatchObject({ weight: 0, operatingStatus: 'draining' });
    expect(drained.state.members.find((m) => m.site === 'gra')).toMatchObject({
      receivesTraffic: false,
      healthy: true,
      state: 'draining',
    });
    const again = await p.drain('gra');
    expect(again).toMatchObject({ changed: false, actions: [] });
    expect(again.description).toMatch(
      /every member of pool app-gra .* has weight 0\), and it is live; nothing changed\.$/,
    );

    const from = t.emulator.responses.length;
    const switched = await p.switchTo('rbx');
    expect(switched.actions.filter((a) => a.startsWith('PUT'))).toEqual([
      `PUT ${LISTENER} defaultPoolId=${IDS.pools.rbx}`,
      `PUT ${member('gra')} weight=1`,
    ]);
    // One write at a time: the second waited for the first to be applied, and none was refused.
    expect(switched.actions.indexOf('wait for the load balancer (updating) to be active')).toBe(1);
    expect(putsSince(from).every((r) => r.startsWith('200 '))).toBe(true);
    expect(switched.description).toMatch(
      /gave the drained member\(s\) app-gra-1 of the other site\(s\) weight 1 back/,
    );
    expect(endState(view())).toMatchObject(onRbx);
  });

  it('undoes a drain by switching back to the drained site: weights back, the listener untouched', async () => {
    const p = provider();
    await p.drain('gra');
    const undo = await p.switchTo('gra');
    expect(undo.changed).toBe(true);
    expect(undo.actions.filter((a) => a.startsWith('PUT'))).toEqual([`PUT ${member('gra')} weight=1`]);
    expect(undo.description).toMatch(
      /gave gra's drained member\(s\) app-gra-1 weight 1; the listener already had pool app-gra/,
    );
    expect(undo.state).toMatchObject({ site: 'gra', live: true });
    const seed = endState(cloudLbView());
    expect(endState(view())).toEqual(seed);
  });

  it('undoes a switch by switching back: the state is the seed’s again', async () => {
    const p = provider();
    await p.switchTo('rbx');
    const back = await p.switchTo('gra');
    expect(back).toMatchObject({ changed: true, before: ['rbx'] });
    expect(endState(view())).toEqual(endState(cloudLbView()));
  });

  it('waits for a load balancer busy with someone else’s write before its own: no write while pending, no 409', async () => {
    t.emulator.setTiming({ cloudLbUpdateMs: 1000 });
    await operatorClient(t).requestPromised('PUT', member('rbx'), { weight: 2 });
    expect(view()!.loadBalancers[0]!.provisioningStatus).toBe('updating');
    const from = t.emulator.responses.length;
    const { ctx, beats } = heartbeats();
    const result = await provider().switchTo('rbx', ctx);
    expect(result.actions.slice(0, 3)).toEqual([
      'wait for the load balancer (updating) to be active',
      'load balancer active',
      `PUT ${LISTENER} defaultPoolId=${IDS.pools.rbx}`,
    ]);
    expect(beats).toContainEqual({ step: 'cloud-lb-wait-active', provisioningStatus: 'updating' });
    expect(putsSince(from)).toEqual([`200 ${LISTENER}`]);
    expect(endState(view())).toMatchObject({ defaultPoolId: IDS.pools.rbx, weights: { 'app-rbx-1': 2 } });
  });

  it('a 409 (someone else wrote between its check and its write) is waited out and the write sent again', async () => {
    const operator = operatorClient(t);
    await operator.requestPromised('GET', `${BASE}/loadbalancer`); // its API time is fetched: its next call is one request
    t.emulator.setTiming({ cloudLbUpdateMs: 1500 });
    // The provider's PUT is held 1 s at the emulator; meanwhile the operator's write makes the load balancer busy.
    t.emulator.addFault({ type: 'slow', delayMs: 1000, method: 'PUT', path: LISTENER, count: 1 });
    const from = t.emulator.responses.length;
    const switching = provider().switchTo('rbx');
    await waitUntil(
      'the provider’s PUT reached the emulator',
      () => t.emulator.listFaults().length === 0,
      5_000,
      10,
    );
    await operator.requestPromised('PUT', member('rbx'), { weight: 3 });
    const result = await switching;
    expect(putsSince(from)).toEqual([`200 ${member('rbx')}`, `409 ${LISTENER}`, `200 ${LISTENER}`]);
    expect(result.actions).toContain(
      `PUT ${LISTENER} defaultPoolId=${IDS.pools.rbx} answered 409 (Load Balancer ${IDS.loadBalancerId} is immutable and cannot be updated.): wait and write again`,
    );
    expect(result.state).toMatchObject({ site: 'rbx', live: true });
    expect(endState(view())).toMatchObject({ defaultPoolId: IDS.pools.rbx, weights: { 'app-rbx-1': 3 } });
  });

  it('a load balancer busy past pendingTimeout is CloudLbPendingTimeout (retryable); the retry completes', async () => {
    t.emulator.setTiming({ cloudLbUpdateMs: 600 });
    await operatorClient(t).requestPromised('PUT', member('gra'), { weight: 1 });
    const failure = await failed(provider(FAST, { pendingTimeout: '150ms' }).switchTo('rbx'));
    expect(failure).toMatchObject({ type: 'CloudLbPendingTimeout', nonRetryable: false });
    expect(failure.message).toBe(
      `${LABEL}: the load balancer is still updating after the pending timeout (150 ms); done so far: wait for the load balancer (updating) to be active. A retry goes on from there.`,
    );
    expect(view()!.listeners[0]!.defaultPoolId).toBe(IDS.pools.gra);
    expect((await provider().switchTo('rbx')).changed).toBe(true);
    expect(endState(view())).toMatchObject(onRbx);
  });

  it('after a 5xx on the weight restore (listener moved), reports not switched and a retry finishes the job', async () => {
    const p = provider();
    await p.drain('gra');
    t.emulator.addFault({ type: 'http-error', status: 503, method: 'PUT', path: member('gra') });
    const failure = await failed(p.switchTo('rbx'));
    expect(failure).toMatchObject({ type: 'OvhUnavailable', nonRetryable: false });
    expect(failure.message).toBe(
      `OVH API PUT ${member('gra')} is unavailable: 503 HTTP 503 injected by the emulator`,
    );
    expect(view()!.listeners[0]!.defaultPoolId).toBe(IDS.pools.rbx);
    const retry = await p.switchTo('rbx');
    expect(retry.actions.filter((a) => a.startsWith('PUT'))).toEqual([`PUT ${member('gra')} weight=1`]);
    expect(endState(view())).toMatchObject(onRbx);
  });

  it('slow: a PUT slower than the client timeout fails as OvhUnavailable, lands later, and the retry completes', async () => {
    t.emulator.addFault({ type: 'slow', delayMs: 400, method: 'PUT', path: LISTENER, count: 1 });
    const p = provider({ ...FAST, requestTimeoutMs: 150 });
    const failure = await failed(p.switchTo('rbx'));
    expect(failure).toMatchObject({ type: 'OvhUnavailable', nonRetryable: false });
    expect(failure.message).toBe(
      `OVH API PUT ${LISTENER} is unavailable: no answer from localhost:${t.emulator.port} within 150 ms`,
    );
    await waitUntil(
      'the late PUT landed',
      () => view()!.listeners[0]!.defaultPoolId === IDS.pools.rbx,
      5_000,
      10,
    );
    const retry = await p.switchTo('rbx');
    expect(retry.actions.some((a) => a.startsWith('PUT'))).toBe(false);
    expect(endState(view())).toMatchObject(onRbx);
  });

  it('refused: a revoked consumer key is a non-retryable OvhInvalidCredentials, before anything is changed', async () => {
    const p = provider();
    await p.currentTarget();
    const fault = t.emulator.addFault({ type: 'revoke-credential', consumerKey: t.credential.consumerKey });
    const failure = await failed(p.switchTo('rbx'));
    expect(failure).toMatchObject({ type: 'OvhInvalidCredentials', nonRetryable: true });
    expect(failure.message).toMatch(
      new RegExp(
        `^OVH API GET ${literal(BASE)}/loadbalancer/${IDS.loadBalancerId} refused the credentials \\(403 INVALID_CREDENTIAL: This credential is not valid\\); check `,
      ),
    );
    expect(view()!.listeners[0]!.defaultPoolId).toBe(IDS.pools.gra);
    t.emulator.removeFault(fault.id);
    expect((await p.switchTo('rbx')).changed).toBe(true);
  });

  it('refuses a target whose every member fails its health monitor: TrafficTargetUnhealthy, nothing changed', async () => {
    t.emulator.setMemberHealth({
      serviceName: IDS.serviceName,
      regionName: IDS.regionName,
      memberId: IDS.members.rbx,
      healthy: false,
    });
    const from = t.emulator.responses.length;
    const failure = await failed(provider().switchTo('rbx'));
    expect(failure).toMatchObject({ type: 'TrafficTargetUnhealthy', nonRetryable: true });
    expect(failure.message).toBe(
      `not switching ${LABEL} to rbx: every member of pool app-rbx (${IDS.pools.rbx}) fails its health monitor (app-rbx-1 weight 1 error); nothing was changed. Look at the application on rbx and at the pool's health monitor, then switch again.`,
    );
    expect(putsSince(from)).toEqual([]);
    const state = await provider().currentTarget();
    expect(state.members.find((m) => m.site === 'rbx')).toMatchObject({ healthy: false, state: 'error' });
  });

  it('names what the runbook got wrong: unknown listener, unknown site, unknown project', async () => {
    const noListener = await failed(
      provider(FAST, { listenerId: '00000000-0000-4000-8000-000000000000' }).currentTarget(),
    );
    expect(noListener).toMatchObject({ type: 'TrafficMisconfigured', nonRetryable: true });
    expect(noListener.message).toMatch(
      /answered 404: The requested object \(listenerId = 00000000-0000-4000-8000-000000000000\) does not exist; check the runbook's serviceName, regionName, loadBalancerId, listenerId and pools\.$/,
    );
    const unknownSite = await failed(provider().switchTo('sbg'));
    expect(unknownSite.type).toBe('UnknownSite');
    expect(unknownSite.message).toMatch(/site "sbg" has no pool in the runbook .*\(sites: gra, rbx\)/);
    const noProject = await failed(
      provider(FAST, { serviceName: 'ffffffffffffffffffffffffffffffff' }).currentTarget(),
    );
    expect(noProject.type).toBe('TrafficMisconfigured');
    expect(noProject.message).toMatch(/answered 404: This service does not exist/);
  });

  // After every test of this file, whatever their order (registered last, so it runs before the clean-up).
  afterAll(() => {
    const corpus = [...texts, ...capture.lines, ...t.emulatorLog].join('\n');
    expect(texts.length).toBeGreaterThanOrEqual(8);
    expect(capture.lines.length).toBeGreaterThan(0);
    for (const secret of secretsOf(t.credential)) expect(corpus).not.toContain(secret);
  });
});

describe('OVH Cloud LB provider: a pool without a health monitor, a load balancer in error, an unreachable API', () => {
  let t: TestEmulator;
  const provider = (traffic: Record<string, unknown> = {}) => {
    const loaded = ovhRunbook(t, 'local-ovh-cloud-lb.yaml', traffic);
    const config = loaded.runbook.traffic;
    if (config?.provider !== 'ovh-cloud-lb') throw new Error('not an ovh-cloud-lb runbook');
    return ovhCloudLbProvider(config, loaded, FAST);
  };

  beforeAll(async () => {
    const seed = defaultSeed();
    const cloud = seed.cloudLb![0]!;
    cloud.healthMonitors = cloud.healthMonitors.filter((hm) => hm.poolId !== IDS.pools.rbx);
    t = await startTestEmulator({ seed });
  });
  afterEach(() => t.emulator.reset());
  afterAll(async () => t?.stop());

  it('fails readiness and verification on a pool without a health monitor, saying why; the switch itself goes on', async () => {
    const p = provider();
    const state = await p.currentTarget();
    const noMonitor = `pool app-rbx (${IDS.pools.rbx}) of rbx has no health monitor: its members report noMonitor, so whether rbx can serve is unknown and a switch to it cannot be verified; create one (POST ${BASE}/healthMonitor with poolId ${IDS.pools.rbx}).`;
    expect(state.members.find((m) => m.site === 'rbx')).toMatchObject({
      state: 'noMonitor',
      healthy: undefined,
    });
    const readiness = evaluateTrafficReadiness('gra', state);
    expect(readiness.map((c) => [c.name, c.ok])).toEqual([
      ['traffic.target', true],
      ['traffic.health-monitor@gra', true],
      ['traffic.health-monitor@rbx', false],
    ]);
    expect(readiness[2]!.sentence).toBe(noMonitor);

    expect((await p.switchTo('rbx')).changed).toBe(true);
    const verified = await p.verify('rbx');
    expect(verified.ok).toBe(false);
    expect(verified.checks.map((c) => [c.name, c.ok])).toEqual([
      ['target-configured', true],
      ['target-weights', true],
      ['health-monitor', false],
      ['live', true],
    ]);
    expect(verified.description).toBe(`${LABEL} is not verified for rbx: ${noMonitor}`);
  });

  it('unreachable: an API nobody answers is OvhUnavailable (retryable), naming where', async () => {
    const port = await closedPort();
    const failure = await failureOf(
      provider({
        ovh: {
          host: '127.0.0.1',
          port,
          applicationKey: 'file:credentials/application-key',
          applicationSecret: 'file:credentials/application-secret',
          consumerKey: 'file:credentials/consumer-key',
        },
      }).switchTo('rbx'),
    );
    expect(failure).toMatchObject({ type: 'OvhUnavailable', nonRetryable: false });
    expect(failure.message).toContain(`127.0.0.1:${port}`);
  });
});

describe('OVH Cloud LB provider: a load balancer in provisioning status error', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    const seed = defaultSeed();
    seed.cloudLb![0]!.loadBalancers[0]!.provisioningStatus = 'error';
    t = await startTestEmulator({ seed });
  });
  afterAll(async () => t?.stop());

  it('is TrafficCommandRejected (not retried): Octavia accepts no change to it; nothing is written', async () => {
    const loaded = ovhRunbook(t, 'local-ovh-cloud-lb.yaml');
    const config = loaded.runbook.traffic;
    if (config?.provider !== 'ovh-cloud-lb') throw new Error('not an ovh-cloud-lb runbook');
    const p = ovhCloudLbProvider(config, loaded, FAST);
    expect((await p.currentTarget()).live).toBe(false);
    const failure = await failureOf(p.switchTo('rbx'));
    expect(failure).toMatchObject({ type: 'TrafficCommandRejected', nonRetryable: true });
    expect(failure.message).toBe(
      `${LABEL}: the load balancer is in provisioning status "error", in which Octavia accepts no change; look at it in the OVH control panel (or recreate it), then switch again.`,
    );
    expect(t.emulator.cloudLb(IDS.serviceName, IDS.regionName)!.listeners[0]!.defaultPoolId).toBe(
      IDS.pools.gra,
    );
  });
});

/** The seed's objects as a fresh emulator shows them. */
function cloudLbView(): CloudLbRegionView {
  const seed = cloudLbSeed();
  return { ...seed };
}

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

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

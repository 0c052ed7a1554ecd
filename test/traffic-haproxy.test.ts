import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { HaproxyRuntimeError, type HaproxyRuntime } from '../activities/traffic/haproxy-runtime';
import { haproxyProvider, TrafficProviders } from '../activities/traffic/providers';
import { haproxyPaths } from '../dev/stack/services/haproxy';
import { appctl } from '../dev/stack/services/perl-app';
import {
  appHealthy,
  backendState,
  localRunbookCopy,
  frontendUrl,
  getJson,
  haproxyRuntime,
  restoreAppsAndTraffic,
  sitesThroughFrontend,
  waitUntil,
} from './helpers/apps-traffic';
import { activityEnvironment, LOCAL_PAIR, localRunbooks, runActivity } from './helpers/local-stack';
import { failureOf } from './helpers/failures';
import { takeTurns } from './helpers/turns';

// Changes the shared local pair: alone while it runs.
takeTurns('local-pair', 'exclusive');

/** A runtime API client that fails the n-th `set server` command, as a crash or a lost socket would. */
class FailingRuntime implements HaproxyRuntime {
  sets = 0;
  readonly sent: string[] = [];
  constructor(
    private readonly inner: HaproxyRuntime,
    private readonly failAtSet: number,
  ) {}
  async command(command: string): Promise<string> {
    if (command.startsWith('set server') && ++this.sets === this.failAtSet) {
      throw new HaproxyRuntimeError('injected: connection lost before the command was sent', 'unreachable');
    }
    this.sent.push(command);
    return this.inner.command(command);
  }
}

/** Traffic switching through the stack's real HAProxy, in front of the two real Perl app instances. */
describe('HAProxy traffic provider on the local stack', () => {
  let clients: ActivityClients;
  let activities: ReturnType<typeof createActivities>;
  const env = activityEnvironment();

  beforeAll(async () => {
    clients = createClients(localRunbooks());
    activities = createActivities(clients);
  });
  beforeEach(restoreAppsAndTraffic);
  afterEach(restoreAppsAndTraffic);
  afterAll(async () => clients.close());

  it('moves traffic from the primary to the standby app: requests through the frontend reach rbx afterwards', async () => {
    const before = await runActivity(env, activities.trafficCurrentTarget, { pair: LOCAL_PAIR });
    expect(before).toMatchObject({ provider: 'haproxy', site: 'gra', sites: ['gra'] });
    // The stack starts the standby drained (health-checked); connection counts vary with concurrent clients.
    expect(before.description).toMatch(
      /^HAProxy backend app sends traffic to gra \(app-gra ready, UP[^)]*\); rbx gets no new load-balanced traffic but still admits clients that persist to it \(app-rbx drain, UP[^)]*\)\.$/,
    );
    expect(new Set(await sitesThroughFrontend(6))).toEqual(new Set(['gra']));

    const result = await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(result).toMatchObject({ changed: true, site: 'rbx', before: ['gra'], propagationSeconds: 0 });
    expect(result.actions).toEqual([
      'set server app/app-rbx state ready',
      'set server app/app-gra state maint',
      'shutdown sessions server app/app-gra',
      `show servers state > ${haproxyPaths().stateFile}`,
    ]);
    expect(result.state.sites).toEqual(['rbx']);

    expect(new Set(await sitesThroughFrontend(10))).toEqual(new Set(['rbx']));
    expect(await backendState()).toEqual({ 'app-gra': 'maint/down', 'app-rbx': 'ready/up' });

    const verified = await runActivity(env, activities.trafficVerify, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(verified.ok).toBe(true);
    expect(verified.checks.map((c) => [c.name, c.ok])).toEqual([
      ['target-ready', true],
      ['target-healthy', true],
      ['others-out', true],
      ['state-saved', true],
      ['entry-point', true],
    ]);
    expect(verified.checks.at(-1)?.sentence).toBe(
      'the entry point http://127.0.0.1:18000/health answers 200 from site rbx.',
    );
    const wrong = await runActivity(env, activities.trafficVerify, { pair: LOCAL_PAIR, site: 'gra' });
    expect(wrong.ok).toBe(false);
    // gra is in maintenance now: HAProxy no longer checks it, so its health is not known to pass either.
    expect(wrong.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      'target-ready',
      'target-healthy',
      'others-out',
      'entry-point',
    ]);
  });

  it('serves, through the frontend after the switch, an order written before it (replicated to rbx)', async () => {
    const ref = randomUUID();
    const written = await getJson(frontendUrl('/orders'), {
      method: 'POST',
      body: JSON.stringify({ item: 'drill', client_ref: ref }),
    });
    expect(written.status).toBe(201);
    expect(written.body).toMatchObject({ site: 'gra', written_at_site: 'gra', client_ref: ref });
    // The replica applies it asynchronously: wait until rbx can read it directly.
    await waitUntil('order replicated to rbx', async () => {
      const res = await fetch(`http://127.0.0.1:18081/orders/${written.body.id}`);
      return res.status === 200;
    });
    await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    const read = await getJson(frontendUrl(`/orders/${written.body.id}`));
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      id: written.body.id,
      site: 'rbx',
      written_at_site: 'gra',
      client_ref: ref,
    });
    // rbx's database is still a read-only replica: a write through the frontend is refused by rbx, not lost.
    const refused = await getJson(frontendUrl('/orders'), {
      method: 'POST',
      body: JSON.stringify({ item: 'too early' }),
    });
    expect(refused).toEqual({ status: 503, body: { error: 'database is read-only', site: 'rbx' } });
  });

  it('switching twice ends in the same state, and the second switch says it changed nothing', async () => {
    const first = await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    const stateAfterFirst = await backendState();
    const second = await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(first.changed).toBe(true);
    expect(second).toMatchObject({ changed: false, actions: [], before: ['rbx'] });
    expect(second.description).toBe(
      `HAProxy backend app already sends all traffic to rbx; nothing changed. Its saved server states (${haproxyPaths().stateFile}) already match.`,
    );
    expect(await backendState()).toEqual(stateAfterFirst);
    expect(stateAfterFirst).toEqual({ 'app-gra': 'maint/down', 'app-rbx': 'ready/up' });
  });

  it.each([
    [1, 'before any change', ['gra']],
    [2, 'between "rbx ready" and "gra maint"', ['gra', 'rbx']],
  ])(
    'a switch interrupted at its command %i (%s) is completed by a retry, ending as a clean switch does',
    async (failAt, _when, sitesAfterFailure) => {
      const faulty = new FailingRuntime(haproxyRuntime(), failAt);
      const providers = new TrafficProviders(clients.runbooks, {
        haproxy: (config, loaded) => haproxyProvider(config, loaded, faulty),
      });
      const faultyActivities = createActivities({ ...clients, traffic: providers });

      const failure = await failureOf(
        runActivity(env, faultyActivities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' }),
      );
      expect(failure.type).toBe('TrafficProviderUnreachable');
      expect(failure.nonRetryable).toBe(false);
      const half = await runActivity(env, activities.trafficCurrentTarget, { pair: LOCAL_PAIR });
      expect(half.sites).toEqual(sitesAfterFailure);

      // The retry (Temporal would run the same activity again) finishes the job.
      const retried = await runActivity(env, faultyActivities.trafficSwitch, {
        pair: LOCAL_PAIR,
        site: 'rbx',
      });
      expect(retried.changed).toBe(true);
      // Each change reached HAProxy exactly once over both attempts: the retry redoes only what is missing.
      expect(faulty.sent.filter((c) => c.startsWith('set server'))).toEqual([
        'set server app/app-rbx state ready',
        'set server app/app-gra state maint',
      ]);
      const afterRetry = await backendState();
      expect(afterRetry).toEqual({ 'app-gra': 'maint/down', 'app-rbx': 'ready/up' });
      expect(new Set(await sitesThroughFrontend(6))).toEqual(new Set(['rbx']));

      // The same end state as an uninterrupted switch from the initial state.
      await restoreAppsAndTraffic();
      await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
      expect(await backendState()).toEqual(afterRetry);
    },
  );

  it('refuses to send traffic to a site whose servers fail HAProxy health check, and changes nothing', async () => {
    await appctl('stop', 'rbx');
    await waitUntil(
      'HAProxy sees app-rbx down',
      async () => (await backendState())['app-rbx'] === 'drain/down',
    );
    const quick = createClients(
      localRunbookCopy((doc) => {
        doc.traffic.healthWait = '1s';
      }),
    );
    const failure = await failureOf(
      runActivity(env, createActivities(quick).trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' }),
    ).finally(() => quick.close());
    expect(failure).toMatchObject({ type: 'TrafficTargetUnhealthy', nonRetryable: true });
    expect(failure.message).toMatch(
      /^not switching HAProxy backend app to rbx: its servers fail HAProxy's health check \(app-rbx drain, DOWN[^)]*\) after waiting 1 s; nothing was changed\. Look at the application on rbx/,
    );
    expect(await backendState()).toEqual({ 'app-gra': 'ready/up', 'app-rbx': 'drain/down' });
    // gra takes the traffic, but the drained rbx would still admit clients that persist to it: not "no traffic".
    const verified = await runActivity(env, activities.trafficVerify, { pair: LOCAL_PAIR, site: 'gra' });
    expect(verified.checks.map((c) => [c.name, c.ok])).toEqual([
      ['target-ready', true],
      ['target-healthy', true],
      ['others-out', false],
      ['state-saved', true],
      ['entry-point', true],
    ]);
    expect(verified.checks[2]?.sentence).toMatch(
      /^rbx is drained, not in maintenance: HAProxy still sends it the clients that persist to it \(app-rbx drain, DOWN/,
    );
    expect(await appHealthy('rbx')).toBe(false);
  });

  it('names unknown sites, backends and servers with non-retryable failures', async () => {
    const unknownSite = await failureOf(
      runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'sbg' }),
    );
    expect(unknownSite).toMatchObject({ type: 'UnknownSite', nonRetryable: true });

    const providers = new TrafficProviders(clients.runbooks, {
      haproxy: (config, loaded) =>
        haproxyProvider({ ...config, servers: { gra: 'app-gra', rbx: 'app-sbg' } }, loaded),
    });
    const misconfigured = createActivities({ ...clients, traffic: providers });
    const failure = await failureOf(
      runActivity(env, misconfigured.trafficCurrentTarget, { pair: LOCAL_PAIR }),
    );
    expect(failure).toMatchObject({ type: 'TrafficMisconfigured', nonRetryable: true });
    expect(failure.message).toBe('HAProxy backend app has no server app-sbg (it has: app-gra, app-rbx)');
  });
});

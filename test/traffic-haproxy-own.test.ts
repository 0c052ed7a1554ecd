import { afterEach, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { setServerState, showServersState, type HaproxyRuntime } from '../activities/traffic/haproxy-runtime';
import { haproxyProvider, TrafficProviders } from '../activities/traffic/providers';
import { localRunbookCopy, waitUntil } from './helpers/apps-traffic';
import { failureOf } from './helpers/failures';
import { activityEnvironment, LOCAL_PAIR, runActivity } from './helpers/local-stack';
import { keepAliveClient, startOwnHaproxy, type OwnHaproxy } from './helpers/own-haproxy';
import { takeTurns } from './helpers/turns';

// Needs the shared local pair as the stack leaves it: never while a file changes it.
takeTurns('local-pair', 'shared');

/**
 * The HAProxy provider against a real HAProxy of the test's own (free ports, temporary folder), so that it can be
 * configured as production ones are (cookie persistence, TCP mode, a socket without admin level) and clients can
 * hold kept-alive connections through it.
 */
describe('HAProxy traffic provider: clients holding connections, and refusals', () => {
  const env = activityEnvironment();
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  async function setUp(
    options: Parameters<typeof startOwnHaproxy>[0],
    traffic: Record<string, unknown> = {},
  ): Promise<{
    haproxy: OwnHaproxy;
    clients: ActivityClients;
    activities: ReturnType<typeof createActivities>;
  }> {
    const haproxy = await startOwnHaproxy(options);
    cleanups.push(() => haproxy.stop());
    const runbooks = localRunbookCopy((doc) => {
      doc.traffic = {
        provider: 'haproxy',
        socket: haproxy.socket,
        backend: 'app',
        servers: { gra: 'gra', rbx: 'rbx' },
        entryUrl: haproxy.frontendUrl,
        ...traffic,
      };
    });
    const clients = createClients(runbooks);
    cleanups.push(() => clients.close());
    return { haproxy, clients, activities: createActivities(clients) };
  }

  it('after a switch (default settings), a client persisting to the old site over a kept-alive connection reaches only the new one', async () => {
    const { haproxy, activities } = await setUp({ mode: 'http', cookie: true });
    const client = keepAliveClient(haproxy.frontendUrl);
    cleanups.push(async () => client.close());
    expect(await client.get()).toBe('gra');
    expect(client.cookie).toBe('SRV=gra');

    const result = await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(result.actions).toEqual([
      'set server app/rbx state ready',
      'set server app/gra state maint',
      'shutdown sessions server app/gra',
    ]);
    // The client still sends its cookie for gra on the same connection: HAProxy must not honour it any more.
    expect([await client.get(), await client.get(), await client.get()]).toEqual(['rbx', 'rbx', 'rbx']);

    const verified = await runActivity(env, activities.trafficVerify, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(verified.ok).toBe(true);
    expect(verified.checks.find((c) => c.name === 'others-out')?.sentence).toBe(
      'no other site gets traffic: gra is in maintenance with no open connection (gra maint, not checked).',
    );
  });

  it('after a switch in TCP mode, a connection established to the old site is cut, so the client reconnects to the new one', async () => {
    const { haproxy, activities } = await setUp({ mode: 'tcp' });
    const client = keepAliveClient(haproxy.frontendUrl);
    cleanups.push(async () => client.close());
    expect(await client.get()).toBe('gra');
    const before = await runActivity(env, activities.trafficCurrentTarget, { pair: LOCAL_PAIR });
    expect(before.members.find((m) => m.name === 'gra')).toMatchObject({ connections: 1 });

    await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    expect([await client.get(), await client.get()]).toEqual(['rbx', 'rbx']);
    const after = await runActivity(env, activities.trafficCurrentTarget, { pair: LOCAL_PAIR });
    expect(after.members.find((m) => m.name === 'gra')).toMatchObject({ state: 'maint', connections: 0 });
  });

  it('with inactiveState drain, the persisting client still reaches the old site, and nothing calls that "no traffic"', async () => {
    const { haproxy, activities } = await setUp({ mode: 'http', cookie: true }, { inactiveState: 'drain' });
    const client = keepAliveClient(haproxy.frontendUrl);
    cleanups.push(async () => client.close());
    expect(await client.get()).toBe('gra');

    const result = await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(result.actions).toEqual(['set server app/rbx state ready', 'set server app/gra state drain']);
    // HAProxy's documented drain: no new load-balanced connection, but persistent ones are still admitted.
    expect(await client.get()).toBe('gra');
    expect(result.state.description).toBe(
      'HAProxy backend app sends traffic to rbx (rbx ready, UP); gra gets no new load-balanced traffic but still admits clients that persist to it (gra drain, UP).',
    );
    const verified = await runActivity(env, activities.trafficVerify, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(verified.description).not.toMatch(/all traffic|no other site gets traffic/);
    expect(verified.description).toMatch(/^HAProxy backend app sends all load-balanced traffic to rbx/);
  });

  it('a drain leaves the old site without traffic and gives none to the other: clients get 503 until the switch', async () => {
    const { haproxy, activities } = await setUp({ mode: 'http', cookie: true });
    const client = keepAliveClient(haproxy.frontendUrl);
    cleanups.push(async () => client.close());
    expect(await client.get()).toBe('gra');

    const drained = await runActivity(env, activities.trafficDrain, { pair: LOCAL_PAIR, site: 'gra' });
    expect(drained).toMatchObject({
      changed: true,
      actions: ['set server app/gra state maint', 'shutdown sessions server app/gra'],
    });
    expect(drained.state.sites).toEqual([]);
    expect(drained.description).toMatch(/^HAProxy backend app no longer sends traffic to gra: /);
    // Even the client persisting to gra on its kept-alive connection is not served by gra any more.
    await expect(client.get()).rejects.toThrow('HTTP 503');
    expect((await fetch(haproxy.frontendUrl)).status).toBe(503);

    const again = await runActivity(env, activities.trafficDrain, { pair: LOCAL_PAIR, site: 'gra' });
    expect(again).toMatchObject({ changed: false, actions: [] });
    expect(again.description).toBe('HAProxy backend app already sends gra no traffic; nothing changed.');

    const switched = await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(switched.actions).toEqual(['set server app/rbx state ready']);
    expect(((await (await fetch(haproxy.frontendUrl)).json()) as { site: string }).site).toBe('rbx');
  });

  it('"No such backend." (the backend went away between the read and the change) is TrafficMisconfigured, not retried', async () => {
    const { haproxy, clients } = await setUp({ mode: 'http' });
    // As if a reload renamed the backend right after the provider read it: the real HAProxy answers the change.
    const renamed: HaproxyRuntime = {
      command: (command) =>
        haproxy.runtime().command(command.replace('set server app/', 'set server app-old/')),
    };
    const providers = new TrafficProviders(clients.runbooks, {
      haproxy: (config, loaded) => haproxyProvider(config, loaded, renamed),
    });
    const activities = createActivities({ ...clients, traffic: providers });
    const failure = await failureOf(
      runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' }),
    );
    expect(failure).toMatchObject({ type: 'TrafficMisconfigured', nonRetryable: true });
    expect(failure.message).toMatch(/No such backend/);
  });

  it('a runtime API socket without admin level refuses the change: TrafficCommandRejected, not retried, saying what to fix', async () => {
    const { activities } = await setUp({ mode: 'http', socketLevel: 'operator' });
    const failure = await failureOf(
      runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' }),
    );
    expect(failure).toMatchObject({ type: 'TrafficCommandRejected', nonRetryable: true });
    expect(failure.message).toMatch(/Permission denied/);
    expect(failure.message).toMatch(/level admin/);
  });

  it('waits, within traffic.healthWait, for HAProxy to see a freshly started target up, then switches', async () => {
    const { haproxy, activities } = await setUp({ mode: 'http', checks: true }, { healthWait: '10s' });
    await haproxy.stopSite('rbx');
    await setServerState(haproxy.runtime(), 'app', 'rbx', 'drain');
    await waitUntil('HAProxy sees rbx down', async () => (await states(haproxy))['rbx'] === 'drain/down');
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => heartbeats.push(d));
    cleanups.push(async () => void env.removeAllListeners('heartbeat'));

    const switching = runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    await waitUntil('the switch waits for the health check', async () => heartbeats.length > 0);
    await haproxy.startSite('rbx');
    const result = await switching;
    expect(result).toMatchObject({ changed: true, site: 'rbx' });
    // In maintenance HAProxy reports the server's operational state as down: it no longer checks it.
    expect(await states(haproxy)).toEqual({ gra: 'maint/down', rbx: 'ready/up' });
    expect(heartbeats[0]).toEqual({ step: 'haproxy-wait-target-health', site: 'rbx' });
  });

  it('refuses, after traffic.healthWait, a target HAProxy still sees down: TrafficTargetUnhealthy, not retried, nothing changed', async () => {
    const { haproxy, activities } = await setUp({ mode: 'http', checks: true }, { healthWait: '1s' });
    await haproxy.stopSite('rbx');
    await setServerState(haproxy.runtime(), 'app', 'rbx', 'drain');
    await waitUntil('HAProxy sees rbx down', async () => (await states(haproxy))['rbx'] === 'drain/down');

    const started = Date.now();
    const failure = await failureOf(
      runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' }),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(failure).toMatchObject({ type: 'TrafficTargetUnhealthy', nonRetryable: true });
    expect(failure.message).toBe(
      "not switching HAProxy backend app to rbx: its servers fail HAProxy's health check (rbx drain, DOWN) after waiting 1 s; nothing was changed. Look at the application on rbx (its health URL answers HAProxy's check) and at HAProxy's log for the check's reason, then switch again.",
    );
    expect(await states(haproxy)).toEqual({ gra: 'ready/up', rbx: 'drain/down' });
  });

  it.each([
    ['no site', { pair: LOCAL_PAIR }, /site: /],
    ['a site that is not a name', { pair: LOCAL_PAIR, site: 'rbx; show errors' }, /site: must be lower-case/],
    ['a number for the pair', { pair: 42, site: 'rbx' }, /pair: /],
    ['an unknown field', { pair: LOCAL_PAIR, site: 'rbx', force: true }, /force/],
    ['no input at all', undefined, /input/],
  ])(
    'refuses %s at run time: InvalidActivityInput, not retried, naming the field, nothing changed',
    async (_label, input, field) => {
      const { haproxy, activities } = await setUp({ mode: 'http' });
      const before = await states(haproxy);
      const failure = await failureOf(runActivity(env, activities.trafficSwitch, input as never));
      expect(failure).toMatchObject({ type: 'InvalidActivityInput', nonRetryable: true });
      expect(failure.message).toMatch(
        /^trafficSwitch was called with an invalid input; nothing was changed: /,
      );
      expect(failure.message).toMatch(field);
      expect(await states(haproxy)).toEqual(before);
    },
  );
});

async function states(haproxy: OwnHaproxy): Promise<Record<string, string>> {
  const servers = await showServersState(haproxy.runtime(), 'app');
  return Object.fromEntries(servers.map((s) => [s.server, `${s.admin}/${s.op}`]));
}

import { readFileSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createActivities, createClients } from '../activities';
import {
  HaproxyRuntimeError,
  HaproxySocketClient,
  setServerState,
  showServersState,
  type HaproxyRuntime,
} from '../activities/traffic/haproxy-runtime';
import { haproxyProvider, TrafficProviders } from '../activities/traffic/providers';
import { localRunbookCopy } from './helpers/apps-traffic';
import { failureOf } from './helpers/failures';
import { activityEnvironment, LOCAL_PAIR, runActivity } from './helpers/local-stack';
import { startOwnHaproxy, type OwnHaproxy } from './helpers/own-haproxy';
import { takeTurns } from './helpers/turns';

// Reads the shared local pair's runbook as the stack leaves it: never while a file changes it.
takeTurns('local-pair', 'shared');

/**
 * Every HAProxy of the pair (`sockets`), and their server states kept over a reload (`stateFile`), against real
 * HAProxy processes of the test's own (master-worker, free ports, temporary folders).
 */
describe('HAProxy traffic provider: every node, and a switch that survives a reload', () => {
  const env = activityEnvironment();
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  async function own(options: Parameters<typeof startOwnHaproxy>[0]): Promise<OwnHaproxy> {
    const haproxy = await startOwnHaproxy(options);
    cleanups.push(() => haproxy.stop());
    return haproxy;
  }

  function activitiesFor(traffic: Record<string, unknown>, runtimeOf?: (socket: string) => HaproxyRuntime) {
    const runbooks = localRunbookCopy((doc) => {
      doc.traffic = { provider: 'haproxy', backend: 'app', servers: { gra: 'gra', rbx: 'rbx' }, ...traffic };
      delete doc.traffic.entryUrl;
    });
    const clients = createClients(runbooks);
    cleanups.push(() => clients.close());
    const traffic2 = runtimeOf
      ? new TrafficProviders(clients.runbooks, {
          haproxy: (config, loaded) => haproxyProvider(config, loaded, runtimeOf),
        })
      : clients.traffic;
    return createActivities({ ...clients, traffic: traffic2 });
  }

  it('a switch saves the server states to the stateFile, and after a reload traffic stays on the new site', async () => {
    const haproxy = await own({ mode: 'http', stateFile: true });
    const activities = activitiesFor({ sockets: [{ socket: haproxy.socket, stateFile: haproxy.stateFile }] });
    expect(await siteThrough(haproxy)).toBe('gra');

    const result = await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(result.actions).toEqual([
      'set server app/rbx state ready',
      'set server app/gra state maint',
      'shutdown sessions server app/gra',
      `show servers state > ${haproxy.stateFile}`,
    ]);
    expect(result.nodes).toEqual([
      expect.objectContaining({ node: haproxy.socket, changed: true, stateSaved: true }),
    ]);
    expect(result.description).toMatch(
      /Saved its server states to .*server-state, which HAProxy loads when it starts/,
    );
    expect(readFileSync(haproxy.stateFile, 'utf8')).toMatch(/^1\n# be_id/);

    await haproxy.reload();
    expect(await states(haproxy)).toEqual({ gra: 'maint', rbx: 'ready' });
    expect([await siteThrough(haproxy), await siteThrough(haproxy)]).toEqual(['rbx', 'rbx']);
    const current = await runActivity(env, activities.trafficCurrentTarget, { pair: LOCAL_PAIR });
    expect(current.checks).toEqual([
      {
        name: 'state-saved',
        ok: true,
        sentence: `HAProxy at ${haproxy.socket} has its live server states saved in ${haproxy.stateFile}, which a reload loads.`,
      },
    ]);

    // Switching again changes nothing and writes nothing: the file already holds the live states.
    const again = await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(again).toMatchObject({ changed: false, actions: [] });
  });

  it('without server-state-file, a reload puts traffic back on the old site, and readiness names the node that does not save', async () => {
    const haproxy = await own({ mode: 'http' });
    const activities = activitiesFor({ socket: haproxy.socket });
    const result = await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(result.actions).not.toContain(expect.stringMatching(/show servers state/));
    expect(await siteThrough(haproxy)).toBe('rbx');

    await haproxy.reload();
    expect(await siteThrough(haproxy)).toBe('gra');
    const current = await runActivity(env, activities.trafficCurrentTarget, { pair: LOCAL_PAIR });
    expect(current.site).toBe('gra');
    expect(current.checks).toEqual([
      {
        name: 'state-saved',
        ok: false,
        sentence: `HAProxy at ${haproxy.socket} has no stateFile in the runbook: a reload or restart of it would forget a switch (put its servers back as its configuration has them) unless its reload saves "show servers state" to its server-state-file first.`,
      },
    ]);
  });

  it('a change made by hand after the save is not persisted: readiness and verify say so, the next switch saves it', async () => {
    const haproxy = await own({ mode: 'http', stateFile: true });
    const activities = activitiesFor({ sockets: [{ socket: haproxy.socket, stateFile: haproxy.stateFile }] });
    const missing = await runActivity(env, activities.trafficCurrentTarget, { pair: LOCAL_PAIR });
    expect(missing.checks?.[0]).toMatchObject({ ok: false });
    expect(missing.checks?.[0]?.sentence).toMatch(/server-state cannot be read \(ENOENT\)/);

    await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    await setServerState(haproxy.runtime(), 'app', 'gra', 'ready');
    const stale = await runActivity(env, activities.trafficCurrentTarget, { pair: LOCAL_PAIR });
    expect(stale.checks?.[0]).toMatchObject({ ok: false });
    expect(stale.checks?.[0]?.sentence).toMatch(
      /are not its live ones \(gra maint there, ready live\): a reload would apply the saved ones/,
    );
    const verified = await runActivity(env, activities.trafficVerify, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(verified.ok).toBe(false);
    expect(verified.checks.map((c) => [c.name, c.ok])).toEqual([
      ['target-ready', true],
      ['target-healthy', true],
      ['others-out', false],
      ['state-saved', false],
    ]);

    // The switch takes gra out again: the live states are the saved ones once more, nothing to write.
    const fixed = await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(fixed.actions).toEqual(['set server app/gra state maint', 'shutdown sessions server app/gra']);
    expect((await runActivity(env, activities.trafficVerify, { pair: LOCAL_PAIR, site: 'rbx' })).ok).toBe(
      true,
    );

    // A file lost after the switch (or a save that failed) is written by the next switch, which changes nothing else.
    rmSync(haproxy.stateFile);
    const saved = await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(saved).toMatchObject({ changed: false, actions: [`show servers state > ${haproxy.stateFile}`] });
    const current = await runActivity(env, activities.trafficCurrentTarget, { pair: LOCAL_PAIR });
    expect(current.checks?.[0]).toMatchObject({ ok: true });
  });

  it('two nodes: a switch that fails on the second names it and what is done; the retry finishes it, and both keep it over a reload', async () => {
    const a = await own({ mode: 'http', stateFile: true });
    const b = await own({ mode: 'http', stateFile: true });
    const sockets = [
      { socket: a.socket, stateFile: a.stateFile },
      { socket: b.socket, stateFile: b.stateFile },
    ];
    const unreachable: HaproxyRuntime = {
      command: () =>
        Promise.reject(
          new HaproxyRuntimeError(
            `cannot reach the HAProxy runtime API at ${b.socket}: ECONNREFUSED`,
            'unreachable',
          ),
        ),
    };
    const broken = activitiesFor({ sockets }, (socket) =>
      socket === b.socket ? unreachable : new HaproxySocketClient(socket),
    );
    const failure = await failureOf(
      runActivity(env, broken.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' }),
    );
    expect(failure).toMatchObject({ type: 'TrafficProviderUnreachable', nonRetryable: false });
    expect(failure.message).toBe(
      `HAProxy at ${b.socket}: cannot reach the HAProxy runtime API at ${b.socket}: ECONNREFUSED (already done on ${a.socket}; running it again finishes the rest)`,
    );
    expect([await states(a), await states(b)]).toEqual([
      { gra: 'maint', rbx: 'ready' },
      { gra: 'ready', rbx: 'maint' },
    ]);
    const activities = activitiesFor({ sockets });
    const split = await runActivity(env, activities.trafficCurrentTarget, { pair: LOCAL_PAIR });
    expect(split).toMatchObject({ site: undefined, sites: ['gra', 'rbx'] });
    expect(split.description).toMatch(/^2 HAProxy nodes disagree: /);

    const retried = await runActivity(env, activities.trafficSwitch, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(retried.nodes?.map((n) => [n.node, n.changed, n.stateSaved])).toEqual([
      [a.socket, false, true],
      [b.socket, true, true],
    ]);
    expect(retried.actions).toEqual([
      `${b.socket}: set server app/rbx state ready`,
      `${b.socket}: set server app/gra state maint`,
      `${b.socket}: shutdown sessions server app/gra`,
      `${b.socket}: show servers state > ${b.stateFile}`,
    ]);
    expect(retried.state).toMatchObject({ site: 'rbx', sites: ['rbx'] });
    const verified = await runActivity(env, activities.trafficVerify, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(verified.ok).toBe(true);
    expect(verified.checks).toHaveLength(8);
    const current = await runActivity(env, activities.trafficCurrentTarget, { pair: LOCAL_PAIR });
    expect(current.checks?.map((c) => [c.name, c.ok])).toEqual([
      [`state-saved@${a.socket}`, true],
      [`state-saved@${b.socket}`, true],
    ]);

    await a.reload();
    await b.reload();
    expect([await siteThrough(a), await siteThrough(b)]).toEqual(['rbx', 'rbx']);

    const drained = await runActivity(env, activities.trafficDrain, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(drained.nodes?.map((n) => [n.changed, n.stateSaved])).toEqual([
      [true, true],
      [true, true],
    ]);
    expect([await states(a), await states(b)]).toEqual([
      { gra: 'maint', rbx: 'maint' },
      { gra: 'maint', rbx: 'maint' },
    ]);
  });

  it.each([
    [
      'both socket and sockets',
      { socket: '/run/a.sock', sockets: ['/run/b.sock'] },
      /traffic\.sockets: give either socket \(one HAProxy\) or sockets/,
    ],
    ['neither socket nor sockets', {}, /traffic\.socket: is required: HAProxy's runtime API socket/],
    [
      'the same socket twice',
      { sockets: ['/run/a.sock', { socket: '/run/a.sock' }] },
      /traffic\.sockets\[1\]: names socket \/run\/a\.sock twice/,
    ],
    ['an empty list', { sockets: [] }, /traffic\.sockets: /],
    ['an unknown field in a node', { sockets: [{ socket: '/run/a.sock', statefile: '/x' }] }, /statefile/],
  ])('refuses a runbook with %s, naming the field', (_label, sockets, message) => {
    expect(() =>
      localRunbookCopy((doc) => {
        doc.traffic = {
          provider: 'haproxy',
          backend: 'app',
          servers: { gra: 'gra', rbx: 'rbx' },
          ...sockets,
        };
      }),
    ).toThrow(message);
  });
});

async function states(haproxy: OwnHaproxy): Promise<Record<string, string>> {
  const servers = await showServersState(haproxy.runtime(), 'app');
  return Object.fromEntries(servers.map((s) => [s.server, s.admin]));
}

async function siteThrough(haproxy: OwnHaproxy): Promise<string> {
  const response = await fetch(haproxy.frontendUrl);
  if (response.status !== 200) return `HTTP ${response.status}`;
  return ((await response.json()) as { site: string }).site;
}

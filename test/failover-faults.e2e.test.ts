/**
 * End-to-end failover runs on real components (a scratch DR pair: MariaDB trio, ES emulator, Perl apps over SSH,
 * HAProxy, Toxiproxy; the real worker as a process; the shared Temporal dev server) for everything that must
 * leave the pair as it was: approvals that do not come, two starts at once, a worker cut from the primary, and a
 * real fault at each compensable step (under a light write load: no acknowledged write lost by the rollback). One
 * pair serves them all, each case checking that it is back to its starting state; the last case (a failure past
 * the point of no return) moves it for good.
 */
import { renameSync } from 'node:fs';
import mysql from 'mysql2/promise';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HaproxySocketClient, showServersState } from '../activities/traffic/haproxy-runtime';
import { resolveSecret } from '../config/secrets';
import { defaultRoutingNumShards, shardIdFor } from '../dev/es-emulator/routing';
import { ES_SEED } from '../dev/stack/services/es-emulator';
import { appctl } from '../dev/stack/services/perl-app';
import { HAPROXY_BACKEND } from '../dev/stack/services/haproxy';
import type { FrontendWriteLoad } from '../dev/write-load';
import { abortUpdate, planQuery, retryUpdate } from '../workflows/definitions';
import { waitUntil } from './helpers/apps-traffic';
import { freeze } from './helpers/worker-kill';
import {
  acknowledgedWrites,
  APPROVER,
  approve,
  expectEveryAcknowledgedWriteOn,
  historyText,
  leakedSecrets,
  LIGHT_WRITE_LOAD,
  pendingDecision,
  reject,
  runbookSecrets,
  reportWithin,
  startPairFailover,
  takeSocketOnceDrained,
  timer,
  waitForStatus,
  type FailoverHandle,
} from './helpers/failover-e2e';
import { answer } from './helpers/answers';
import { pairWithWorker } from './helpers/pair-with-worker';

const APPROVAL_TIMEOUT_S = 6;

/** Document ids `<prefix>-<n>`, one routed to each shard of a seeded index (routed by _id, as Elasticsearch does). */
function oneIdPerShard(prefix: string): string[] {
  const ids = new Map<number, string>();
  for (let n = 0; ids.size < ES_SEED.shards; n++) {
    const id = `${prefix}-${n}`;
    const shard = shardIdFor(id, ES_SEED.shards, defaultRoutingNumShards(ES_SEED.shards));
    if (!ids.has(shard)) ids.set(shard, id);
  }
  return [...ids.values()];
}

describe('failover end to end: faults and approvals leave the pair as it was', () => {
  const t = pairWithWorker('e2e-faults', {
    proxyWorkerToPrimary: true,
    approvalTimeout: `${APPROVAL_TIMEOUT_S}s`,
    edit: (runbook) => {
      runbook.timeouts = { ...runbook.timeouts, replicaCatchUp: '3s' };
      runbook.mysql.statementTimeout = '2s';
    },
    timed: 'faults: scratch pair and worker up',
  });

  const runbook = () => t.pair.runbooks.get(t.pair.pair)!.runbook;
  const start = (mode: 'planned' | 'unplanned' = 'planned', options: { holdBeforeFence?: boolean } = {}) =>
    startPairFailover(t.client, t.pair.pair, mode, t.taskQueue, t.runs, options);

  /**
   * Starts a planned failover that holds before its fence, approves it, injects `fault` once the standby is warm
   * (the run waits for the go that starts the drain), and gives the go: the fault meets the steps inside the window.
   */
  async function approvedWithFault(
    fault: (handle: FailoverHandle) => Promise<void>,
  ): Promise<FailoverHandle> {
    const handle = await start('planned', { holdBeforeFence: true });
    const approval = await pendingDecision(handle, 'approval');
    await approve(handle, 'go');
    await waitForStatus(handle, 'the hold before the fence', (s) =>
      Boolean(s.pending?.kind === 'approval' && s.pending.id !== approval.id),
    );
    await fault(handle);
    await approve(handle, 'cut over now, with a fault injected');
    return handle;
  }

  const rbxEs = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${t.pair.esUrl('rbx')}${p}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const esFault = (fault: Record<string, unknown>) => rbxEs('POST', '/_emulator/faults', fault);

  it('two concurrent starts give one run; rejecting it changes nothing', async () => {
    const done = timer('faults: two concurrent starts, rejected');
    const before = await t.pair.snapshot();
    const [first, second] = await Promise.all([start(), start()]);
    expect(second.workflowId).toBe(first.workflowId);
    const { runId } = await first.describe();
    expect((await second.describe()).runId).toBe(runId);
    const pending = await pendingDecision(first, 'approval');
    expect(pending.answers).toEqual(['approve', 'reject']);
    // Only one run of the pair's move ID was started by the two calls.
    const listed = [];
    for await (const w of t.client.workflow.list({ query: `WorkflowId = "${first.workflowId}"` }))
      if (w.status.name === 'RUNNING') listed.push(w.runId);
    expect(listed).toEqual([runId]);

    expect(await reject(second, 'not now')).toBe(`reject of question q1 accepted from ${APPROVER}`);
    const report = await reportWithin(first);
    expect(report.outcome).toBe('rejected');
    expect(report.approvals).toEqual([
      expect.objectContaining({ approved: false, how: 'approver', by: APPROVER, reason: 'not now' }),
    ]);
    expect(report.steps.every((s) => s.state === 'pending' && s.attempts === 0)).toBe(true);
    expect(await t.pair.snapshot()).toEqual(before);
    done();
  });

  it('an approval that times out changes nothing', async () => {
    const done = timer('faults: approval timeout');
    const before = await t.pair.snapshot();
    const report = await reportWithin(await start());
    expect(report.outcome).toBe('rejected');
    expect(report.approvals).toEqual([expect.objectContaining({ approved: false, how: 'timeout' })]);
    expect(report.sentence).toMatch(
      /not approved \(no answer within 6s; the runbook's onTimeout is "reject"\)/,
    );
    expect(await t.pair.snapshot()).toEqual(before);
    done();
  });

  it('the worker cut from the primary while the replicas still replicate is not a failover, and says why', async () => {
    const done = timer('faults: worker cut from the primary');
    const before = await t.pair.snapshot();
    // Black-holed: connections (and the pool's idle ones, left by the runs above) get no byte either way.
    await t.pair.blockWorkerPathToPrimary!('blackhole');
    try {
      const started = Date.now();
      const report = await reportWithin(await start('unplanned'));
      const tookMs = Date.now() - started;
      expect(report.outcome).toBe('not-needed');
      expect(report.sentence).toMatch(
        /^not failing over: the worker cannot reach mysql of the primary site \(worker → db-gra-1\), but its own witnesses still do \(db-rbx-1 IO thread, db-rbx-2 IO thread\): this is a problem of the worker's path, not a failover\./,
      );
      const round = report.detection[0]!;
      expect(round.find((o) => o.vantage === 'worker → db-gra-1')).toMatchObject({ down: true });
      expect(round.filter((o) => o.kind === 'peer' && o.down === false).length).toBeGreaterThanOrEqual(2);
      // The status read of db-gra-1 ends with the runbook's statement timeout (2 s), not the activity's (30 s).
      expect(tookMs).toBeLessThan(15_000);
      expect(report.steps.every((s) => s.attempts === 0)).toBe(true);
      expect(await t.pair.snapshot()).toEqual(before);
    } finally {
      await t.pair.restoreWorkerPathToPrimary!();
    }
    done();
  });

  describe('a failure at each compensable step is undone', () => {
    // Each case runs under a light write load through the frontend. Once it is undone, gra takes writes again, and
    // every write acknowledged before, during and after the attempt is on db-gra-1, the primary it never left.
    let load: FrontendWriteLoad;
    beforeEach(async () => {
      load = t.pair.writeLoad(LIGHT_WRITE_LOAD);
      load.start();
      await acknowledgedWrites(load, 'gra', 20);
    });
    afterEach(async () => {
      try {
        await acknowledgedWrites(load, 'gra', 20, Date.now());
      } finally {
        await expectEveryAcknowledgedWriteOn(load, 'db-gra-1', 40);
      }
    });

    it("traffic drain: HAProxy's runtime API socket gone; once it is back, the undo sends the traffic to gra (where it stayed)", async () => {
      const done = timer('faults: traffic drain fails');
      const before = await t.pair.snapshot();
      const socket = t.pair.haproxySocket;
      const moved = `${socket}.away`;
      const handle = await approvedWithFault(async () => renameSync(socket, moved));
      try {
        // The undo always sends the traffic back (a drain may have applied before its answer was lost): the
        // socket comes back once the drain has failed, so the undo's attempts find it.
        await waitForStatus(handle, 'the drain failed', (s) => s.phase === 'compensate');
      } finally {
        renameSync(moved, socket);
      }
      const report = await reportWithin(handle);
      expect(report.outcome).toBe('rolled-back');
      expect(report.steps.find((s) => s.id === 'traffic.drain')).toMatchObject({
        state: 'compensated',
        lastError: expect.stringMatching(/^TrafficProviderUnreachable: /),
      });
      // The fences ran beside the drain and are undone with it; nothing after the fence phase ran.
      const after = report.steps.filter((s) => s.phase !== 'warm-up' && s.phase !== 'fence');
      expect(after.every((s) => s.attempts === 0)).toBe(true);
      expect(report.compensation).toEqual({
        undone: [
          { step: 'es.fence', sentence: expect.any(String) },
          { step: 'mysql.fence', sentence: expect.any(String) },
          {
            step: 'traffic.drain',
            sentence: `HAProxy backend ${HAPROXY_BACKEND} already sends all traffic to gra; nothing changed. Its saved server states (${t.pair.haproxyStateFile}) already match.`,
          },
        ],
        leftInPlace: [],
      });
      expect(await t.pair.snapshot()).toEqual(before);
      done();
    });

    it('MySQL fence: the orchestrator locked out of db-gra-1; the failed undo waits for a human, who aborts', async () => {
      const done = timer('faults: MySQL fence fails, undo aborted');
      const before = await t.pair.snapshot();
      const user = 'dr_orchestrator';
      const [[hash]] = (await t.pair.cluster.sql(
        'db-gra-1',
        `SELECT authentication_string FROM mysql.user WHERE user='${user}'`,
      )) as [[string]];
      // A password changed behind the orchestrator's back, on db-gra-1 only (not replicated), its sessions ended.
      const lockOut = async () => {
        await t.pair.cluster.sql(
          'db-gra-1',
          `SET sql_log_bin=0; ALTER USER '${user}'@'%' IDENTIFIED BY 'rotated'`,
        );
        const sessions = await t.pair.cluster.sql(
          'db-gra-1',
          `SELECT id FROM information_schema.processlist WHERE user='${user}'`,
        );
        for (const [id] of sessions)
          await t.pair.cluster.sql('db-gra-1', `KILL ${id}`).catch(() => undefined);
      };
      const handle = await approvedWithFault(lockOut);
      try {
        const pending = await pendingDecision(handle, 'operator');
        expect(pending.question).toMatch(
          /^undoing "fence MySQL primary db-gra-1" failed: InvalidCredentials: .*Fix the cause and retry, or abort/,
        );
        await answer(handle, abortUpdate, APPROVER, 'the fence never applied; credentials fixed by hand');
      } finally {
        await t.pair.cluster.sql(
          'db-gra-1',
          `SET sql_log_bin=0; ALTER USER '${user}'@'%' IDENTIFIED BY PASSWORD '${hash}'`,
        );
      }
      const report = await reportWithin(handle);
      expect(report.outcome).toBe('partly-rolled-back');
      expect(report.steps.find((s) => s.id === 'mysql.fence')).toMatchObject({
        state: 'failed',
        lastError: expect.stringMatching(/^InvalidCredentials: /),
      });
      // The abort leaves only the fence in effect (it never applied: db-gra-1 is writable); the Elasticsearch fence,
      // which ran beside it, and the drain are undone.
      expect(report.compensation).toEqual({
        undone: [
          { step: 'es.fence', sentence: expect.any(String) },
          {
            step: 'traffic.drain',
            sentence: `HAProxy backend ${HAPROXY_BACKEND} now sends all load-balanced traffic to gra (before: no site); set server app/app-gra state ready. Saved its server states to ${t.pair.haproxyStateFile}, which HAProxy loads when it starts, so a reload keeps this.`,
          },
        ],
        leftInPlace: ['mysql.fence'],
      });
      expect(report.operatorDecisions).toEqual([expect.objectContaining({ action: 'abort', by: APPROVER })]);
      expect(report.steps.filter((s) => s.phase === 'prepare').every((s) => s.attempts === 0)).toBe(true);
      expect(await t.pair.snapshot()).toEqual(before);
      done();
    });

    it('MySQL catch-up: a session holds a lock the applier needs, longer than the catch-up timeout', async () => {
      const done = timer('faults: MySQL catch-up fails');
      const before = await t.pair.snapshot();
      let blocker: mysql.Connection | undefined;
      const handle = await approvedWithFault(async (h) => {
        const candidate = (await h.query(planQuery))!.steps.find((s) => s.id === 'mysql.catch-up')!.target;
        // A long report on the replica: the replicated insert below waits for its table lock.
        blocker = await mysql.createConnection({
          host: '127.0.0.1',
          port: t.pair.cluster.instance(candidate).port,
          user: runbook().mysql.user,
          password: resolveSecret(runbook().mysql.password, t.pair.dir),
        });
        await blocker.query('LOCK TABLES app.stack_check WRITE');
        await t.pair.cluster.sql(
          'db-gra-1',
          `INSERT INTO app.stack_check (token) VALUES ('catch-up-${Date.now()}')`,
        );
      });
      let report;
      try {
        report = await reportWithin(handle);
      } finally {
        await blocker?.end();
      }
      expect(report.outcome).toBe('rolled-back');
      expect(report.steps.find((s) => s.id === 'mysql.catch-up')).toMatchObject({
        state: 'failed',
        lastError: expect.stringMatching(/^ReplicaNotCaughtUp: /),
      });
      expect(report.compensation?.leftInPlace).toEqual([]);
      expect(report.compensation?.undone.map((u) => u.step)).toEqual([
        'es.pause-auto-follow',
        'es.pause-follow',
        'es.fence',
        'mysql.fence',
        'traffic.drain',
      ]);
      expect(report.steps.some((s) => s.phase === 'promote' && s.attempts > 0)).toBe(false);
      expect(await t.pair.snapshot()).toEqual(before);
      done();
    });

    it('ES pause follow: the link between the clusters cut while the leader takes a write', async () => {
      const done = timer('faults: ES pause follow fails');
      const before = await t.pair.snapshot();
      const handle = await approvedWithFault(async () => {
        await esFault({ cutLink: ['gra', 'rbx'] });
        const res = await fetch(`${t.pair.esUrl('gra')}/orders/_doc/o-cut?refresh=true`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ customer: 'c-9', total: 1, status: 'new' }),
        });
        expect(res.status).toBe(201);
      });
      try {
        // The link comes back once the step has failed: the shorter the cut, the sooner the followers retry.
        await waitForStatus(handle, 'the pause step failed', (s) => s.phase === 'compensate');
      } finally {
        await esFault({ restoreLink: ['gra', 'rbx'] });
      }
      const report = await reportWithin(handle);
      expect(report.outcome).toBe('rolled-back');
      expect(report.steps.find((s) => s.id === 'es.pause-follow')).toMatchObject({
        state: 'compensated',
        lastError: expect.stringMatching(
          /^FollowersNotCaughtUp: the followers on rbx did not catch up within 3s .*orders on rbx cannot read from gra:orders/,
        ),
      });
      expect(report.compensation?.leftInPlace).toEqual([]);
      expect(report.steps.some((s) => s.phase === 'promote' && s.attempts > 0)).toBe(false);
      await waitUntil('the document written during the cut reaches rbx', async () => {
        const res = await fetch(`${t.pair.esUrl('rbx')}/orders/_doc/o-cut`);
        return res.status === 200;
      });
      // An idle follower shard keeps its last read exception until a read succeeds, i.e. until its leader shard has
      // news (the long poll otherwise waits read_poll_timeout, 1 minute): give each leader shard a document.
      for (const index of ['orders', 'customers', 'logs-app-000001'])
        for (const id of oneIdPerShard('after-cut'))
          await fetch(`${t.pair.esUrl('gra')}/${index}/_doc/${id}`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ written: 'after the link came back' }),
          });
      await waitUntil('every follower on rbx reads without errors again', async () => {
        const stats = (await rbxEs('GET', '/_ccr/stats')) as {
          follow_stats: { indices: { shards: { read_exceptions: unknown[] }[] }[] };
        };
        return stats.follow_stats.indices.every((i) =>
          i.shards.every((sh) => sh.read_exceptions.length === 0),
        );
      });
      expect(await t.pair.snapshot()).toEqual(before);
      done();
    });

    it('ES fence: the auto-follow pattern deleted, so which indices of gra it follows cannot be told; nothing is fenced, and the undo reads the indices the warm-up saw', async () => {
      const done = timer('faults: ES fence cannot tell the auto-followed indices');
      const before = await t.pair.snapshot();
      const { patterns } = (await rbxEs('GET', '/_ccr/auto_follow/logs-from-gra')) as {
        patterns: {
          pattern: { remote_cluster: string; leader_index_patterns: string[]; follow_index_pattern: string };
        }[];
      };
      const { remote_cluster, leader_index_patterns, follow_index_pattern } = patterns[0]!.pattern;
      const handle = await approvedWithFault(async () => {
        await rbxEs('DELETE', '/_ccr/auto_follow/logs-from-gra');
      });
      let report;
      try {
        report = await reportWithin(handle);
      } finally {
        await rbxEs('PUT', '/_ccr/auto_follow/logs-from-gra', {
          remote_cluster,
          leader_index_patterns,
          follow_index_pattern,
        });
      }
      expect(report.outcome).toBe('rolled-back');
      expect(report.steps.find((s) => s.id === 'es.fence')).toMatchObject({
        state: 'compensated',
        lastError: expect.stringMatching(/^AutoFollowPatternNotFound: /),
      });
      expect(report.compensation).toEqual({
        undone: [
          { step: 'es.fence', sentence: 'no leader index of gra carries a write block the run added.' },
          { step: 'mysql.fence', sentence: expect.any(String) },
          { step: 'traffic.drain', sentence: expect.any(String) },
        ],
        leftInPlace: [],
      });
      expect(report.steps.filter((s) => s.phase === 'prepare').every((s) => s.attempts === 0)).toBe(true);
      expect(await t.pair.snapshot()).toEqual(before);
      done();
    });

    it("app start: the standby app's port taken by another process", async () => {
      const done = timer('faults: app start fails');
      const rbxDir = path.join(t.pair.dir, 'rbx');
      await appctl('stop', 'rbx', rbxDir);
      const before = await t.pair.snapshot();
      expect(before.apps.rbx).toEqual({ health: 'down' });
      // Something else listens on the app's port: the start command refuses, the health check gets no answer.
      const squatter = net.createServer((socket) => socket.destroy());
      const { port } = new URL(t.pair.appUrl('rbx'));
      await new Promise<void>((resolve) => squatter.listen(Number(port), '127.0.0.1', resolve));
      let report;
      try {
        // Its start is a warm-up step: the run fails before it asks for the go.
        const handle = await start();
        await pendingDecision(handle, 'approval');
        await approve(handle, 'go, with the port taken');
        report = await reportWithin(handle);
        expect(await t.pair.snapshot()).toEqual(before);
      } finally {
        await new Promise((resolve) => squatter.close(resolve));
      }
      expect(report.outcome).toBe('rolled-back');
      const appStep = report.steps.find((s) => s.id === 'apps.start.app-rbx-1')!;
      expect(appStep).toMatchObject({
        state: 'compensated',
        lastError: expect.stringMatching(/^AppCommandFailed: .*already in use/),
      });
      // Nothing inside the window ran: the old site was never drained.
      expect(report.compensation?.undone.map((u) => u.step)).toEqual(['apps.start.app-rbx-1']);
      expect(report.steps.filter((s) => s.phase !== 'warm-up').every((s) => s.attempts === 0)).toBe(true);
      // Back to the pair's usual state for the next case: the standby app running, HAProxy seeing it up.
      await appctl('start', 'rbx', rbxDir);
      await waitUntil('HAProxy sees app-rbx up again', async () => {
        const states = await showServersState(new HaproxySocketClient(t.pair.haproxySocket), HAPROXY_BACKEND);
        return states.find((s) => s.server === 'app-rbx')?.op === 'up';
      });
      done();
    });
  });

  it('past the point of no return, a traffic switch that fails waits for an operator and completes after retry', async () => {
    const done = timer('faults: traffic switch fails past the point of no return');
    const socket = t.pair.haproxySocket;
    const moved = `${socket}.away`;
    // The runtime API's socket goes away (as after a misconfigured reload) once the old site is drained: every switch
    // attempt fails. The window's steps run inside one workflow task, so the candidate is frozen meanwhile: its
    // catch-up waits, and the socket goes once HAProxy shows gra drained.
    const handle = await approvedWithFault(async () => freeze(t.pair.cluster.pid('db-rbx-1')!));
    let restored = false;
    try {
      try {
        await takeSocketOnceDrained(socket, moved, 'app-gra');
      } finally {
        process.kill(t.pair.cluster.pid('db-rbx-1')!, 'SIGCONT');
      }
      const pending = await pendingDecision(handle, 'operator', 90_000);
      expect(pending.question).toMatch(
        /^switch traffic to rbx failed past the point of no return: TrafficProviderUnreachable: /,
      );
      const during = await t.pair.snapshot();
      expect(during.traffic).toEqual({ reachable: false });
      const promoted = Object.entries(during.mysql).filter(([, s]) => s.reachable && s.readOnly === false);
      expect(promoted.map(([name]) => name)).toHaveLength(1);
      expect(promoted[0]![0]).not.toBe('db-gra-1');
      renameSync(moved, socket);
      restored = true;
      await answer(handle, retryUpdate, APPROVER, 'socket back');
    } finally {
      if (!restored) renameSync(moved, socket);
    }
    const report = await reportWithin(handle);
    expect(report.outcome).toBe('completed');
    expect(report.steps.find((s) => s.id === 'traffic.switch')).toMatchObject({ state: 'done', attempts: 2 });
    expect(report.steps.filter((s) => s.id !== 'traffic.switch').every((s) => s.attempts === 1)).toBe(true);
    expect(report.compensation).toBeUndefined();
    const after = await t.pair.snapshot();
    expect(after.traffic).toEqual({ reachable: true, servers: { 'app-gra': 'drain', 'app-rbx': 'ready' } });
    const health = (await (await fetch(t.pair.frontendUrl('/health'))).json()) as { site?: string };
    expect(health.site).toBe('rbx');
    done();
  });

  it('no secret of the runbook appears in the history of any run above', async () => {
    const secrets = runbookSecrets(t.pair.runbooks.get(t.pair.pair)!);
    expect(secrets.map((s) => s.field).sort()).toEqual([
      'apps.hosts[0].ssh.privateKey',
      'apps.hosts[1].ssh.privateKey',
      'mysql.password',
      'mysql.replicationPassword',
    ]);
    expect(t.runs.length).toBeGreaterThanOrEqual(9);
    for (const run of t.runs) expect(leakedSecrets(await historyText(t.client, run), secrets)).toEqual([]);
    expect(leakedSecrets(t.worker.output(), secrets)).toEqual([]);
  });
});

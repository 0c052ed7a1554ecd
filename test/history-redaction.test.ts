import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../dev/stack/daemon';
import { sshPaths, sshServer, sshUser } from '../dev/stack/services/sshd';
import { waitUntil } from './helpers/apps-traffic';
import { withEnv } from './helpers/env';
import { runActivity } from './helpers/local-stack';
import { startScratchPair, type ScratchPair } from './helpers/scratch-cluster';

const GRA = 'db-gra-1';
const RBX1 = 'db-rbx-1';
const RBX2 = 'db-rbx-2';

/** A value that must never reach workflow history: unique, and shaped like a token. */
const marker = (what: string) => `${what}-${randomBytes(6).toString('hex')}`;

/** Everything an activity run sent to history: its result or failure (message and details), its heartbeats. */
async function historyOf(run: (env: MockActivityEnvironment) => Promise<unknown>): Promise<string> {
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const beats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => beats.push(details));
  const outcome = await run(env).then(
    (result) => ({ result }),
    (err: Error & { type?: string; details?: unknown }) => ({
      failure: err.message,
      type: err.type,
      details: err.details,
    }),
  );
  return JSON.stringify({ outcome, beats });
}

/** An HTTP health endpoint answering `status` with `body`. */
async function healthEndpoint(status: number, body: string): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((_req, res) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(body),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/health`, close: () => server.close() };
}

/**
 * What an activity returns, throws or heartbeats goes into workflow history. For each source of remote output or
 * secret-bearing text, a run with a marker planted where it comes from must leave no trace of it there: the start
 * and stop commands (their text and output), a health answer's body, the stderr of the salvage's programs on the
 * old primary's host, a MySQL error quoting a row value. Real SSH (an sshd of this test's own), a scratch MariaDB
 * trio, an HTTP server in the test.
 */
describe('no secret nor remote output in history, unredacted', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'history-redaction-'));
  const sshEnv = { DR_STACK_DIR: path.join(dir, 'sshd'), DR_STACK_PORT_SSH: '' };
  let sshd: ReturnType<typeof sshServer> | undefined;
  let s: ScratchPair;
  const closers: (() => void)[] = [];
  const token = marker('tok');
  const body = marker('body');
  const stderr = marker('stderr');
  const binlogDir = marker('binlogs');
  const row = marker('row');
  /** What the keepDown command prints on stderr while this file exists (then it fails). */
  const keepDownFails = path.join(dir, 'keep-down-fails');
  const binlogLink = path.join(dir, binlogDir);

  beforeAll(async () => {
    sshEnv.DR_STACK_PORT_SSH = String(await freePort());
    const ssh = await withEnv(sshEnv, async () => {
      sshd = sshServer(() => undefined);
      await sshd.up();
      return sshPaths();
    });
    const target = {
      host: '127.0.0.1',
      port: Number(sshEnv.DR_STACK_PORT_SSH),
      user: sshUser(),
      privateKey: `file:${ssh.clientKey}`,
      hostKey: `file:${ssh.hostKeyPub}`,
    };
    const failing = await healthEndpoint(503, JSON.stringify({ error: `db password ${body}`, site: body }));
    const passing = await healthEndpoint(200, JSON.stringify({ note: body, site: body }));
    closers.push(failing.close, passing.close);
    const host = (name: string, start: string, stop: string, healthUrl: string) => ({
      name,
      site: 'rbx',
      ssh: target,
      start,
      stop,
      healthUrl,
    });
    s = await startScratchPair({
      maxLagSeconds: 60,
      servers: () => ({
        [GRA]: {
          ssh: target,
          salvage: {
            binlogIndex: path.join(binlogLink, 'mariadb-bin.index'),
            keepDown: `if [ -f '${keepDownFails}' ]; then cat '${keepDownFails}' >&2; exit 3; fi`,
          },
        },
      }),
      runbook: {
        probes: { interval: '100ms', timeout: '1s', fall: 1, rise: 1 },
        timeouts: { replicaCatchUp: '30s', salvage: '60s', appStart: '3s' },
        apps: {
          hosts: [
            // Its start command exits 7 after printing the token it was given, bare and as an assignment.
            host(
              'app-fails',
              `DR_API_TOKEN=${token} sh -c 'echo "token=$DR_API_TOKEN"; echo "$DR_API_TOKEN" >&2; exit 7'`,
              'true',
              failing.url,
            ),
            // Its stop command succeeds, printing its secret; its health check fails with a body.
            host('app-stops', 'true', `DB_PASSWORD=${token} sh -c 'echo "$DB_PASSWORD"'`, failing.url),
            // Its stop command succeeds, but its health check still passes (with a body): AppStillHealthy.
            host('app-stays', 'true', `API_SECRET=${token} true`, passing.url),
            // Its start command outlasts timeouts.appStart: SshTimeout.
            host('app-hangs', `SERVICE_TOKEN=${token} sleep 30`, 'true', failing.url),
          ],
        },
      },
    });
  }, 240_000);

  afterAll(async () => {
    for (const close of closers) close();
    await s?.destroy();
    if (sshd) await withEnv(sshEnv, () => sshd!.down());
    rmSync(dir, { recursive: true, force: true });
  });

  const app = (activity: 'appStart' | 'appStop' | 'appHealth', host: string) =>
    historyOf((env) => {
      const fn = s.activities[activity] as (input: { pair: string; host: string }) => Promise<unknown>;
      return runActivity(env, fn, { pair: s.pair, host });
    });

  it('start and stop commands: neither their text nor the secrets in their output', async () => {
    const failed = await app('appStart', 'app-fails');
    const stopped = await app('appStop', 'app-stops');
    const stays = await app('appStop', 'app-stays');
    const hangs = await app('appStart', 'app-hangs');
    for (const history of [failed, stopped, stays, hangs]) expect(history).not.toContain(token);
    expect(failed).toContain('"type":"AppCommandFailed"');
    expect(failed).toContain('its start command exited 7');
    expect(stopped).toContain('stopped over SSH (its stop command exited 0');
    expect(stays).toContain('after its stop command exited 0');
    expect(hangs).toContain('its start command did not finish within');
  });

  it('health answers: their status and its standard reason phrase, never their body', async () => {
    const health = await app('appHealth', 'app-stops');
    const stopped = await app('appStop', 'app-stops');
    const stays = await app('appStop', 'app-stays');
    for (const history of [health, stopped, stays]) expect(history).not.toContain(body);
    expect(health).toContain('"detail":"503 Service Unavailable"');
    expect(stopped).toContain('"last":"503 Service Unavailable"');
    expect(stays).toContain('"type":"AppStillHealthy"');
    expect(stays).toContain('"detail":"200 OK"');
  });

  const salvage = () =>
    historyOf((env) =>
      runActivity(env, s.activities.mysqlSalvageBinlog, { pair: s.pair, server: RBX1, from: GRA }),
    );

  it("the salvage's programs on the old primary's host: what failed, in a fixed sentence, never their stderr", async () => {
    writeFileSync(keepDownFails, `mask failed: token=${stderr} ${stderr}\n`);
    const keepDown = await salvage();
    unlinkSync(keepDownFails);
    // The binlog index's folder does not exist: the shell's error names it.
    const binlogRead = await salvage();
    for (const history of [keepDown, binlogRead]) {
      expect(history).not.toContain(stderr);
      expect(history).not.toContain(binlogDir);
    }
    expect(keepDown).toContain(
      "the runbook's salvage.keepDown command exited 3, so mysqld may still run: its error output matches no known failure",
    );
    expect(binlogRead).toMatch(
      /mariadb-binlog exited \d+: the binlog index's folder does not exist on the host \(check salvage\.binlogIndex\)/,
    );
  });

  it('MySQL errors quoting a row: the error number, its code and the statement kind, never the value', async () => {
    await s.cluster.sql(RBX1, 'START SLAVE'); // a salvage stops the candidate's replication
    await s.cluster.sql(GRA, 'CREATE TABLE app.leak (k VARCHAR(64) PRIMARY KEY)');
    for (const replica of [RBX1, RBX2])
      await s.act('mysqlCatchUp', { pair: s.pair, server: replica, untilServer: GRA });
    // db-rbx-1 (the candidate) stops receiving; both replicas hold the row the primary is about to write.
    await s.cluster.sql(RBX1, 'STOP SLAVE IO_THREAD');
    for (const replica of [RBX1, RBX2])
      await s.cluster.sql(replica, `SET sql_log_bin=0; INSERT INTO app.leak VALUES ('${row}')`);
    await s.cluster.sql(GRA, `INSERT INTO app.leak VALUES ('${row}')`);

    // db-rbx-2's applier stops on the duplicate: its status says so, without the row.
    await waitUntil('db-rbx-2 stops on the duplicate row', async () => {
      const status = await s.act('mysqlServerStatus', { pair: s.pair, server: RBX2 });
      return status.replication?.lastSqlErrno === 1062;
    });
    const statuses = await historyOf((env) =>
      runActivity(env, s.activities.mysqlServerStatuses, { pair: s.pair }),
    );

    // The salvage reads db-gra-1's binlog (now where the runbook says) and db-rbx-1 refuses its row.
    symlinkSync(s.cluster.dirs(GRA).data, binlogLink);
    const apply = await salvage();
    for (const history of [statuses, apply]) expect(history).not.toContain(row);
    expect(statuses).toContain('"lastSqlErrno":1062');
    expect(apply).toContain('"type":"SalvageApplyFailed"');
    expect(apply).toMatch(/its BINLOG statement failed with error 1062 \(ER_DUP_ENTRY\)/);
  });
});

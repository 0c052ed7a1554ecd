import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { parseHostKey, SshError } from '../activities/apps/ssh';
import { durationMs } from '../config/duration';
import { resolveSecret } from '../config/secrets';
import { appctl } from '../dev/stack/services/perl-app';
import { sshPaths } from '../dev/stack/services/sshd';
import {
  appHealthy,
  appUrl,
  getJson,
  localRunbookCopy,
  restoreAppsAndTraffic,
  scratchApp,
  waitUntil,
} from './helpers/apps-traffic';
import { activityEnvironment, LOCAL_PAIR, localRunbooks, runActivity } from './helpers/local-stack';
import { failureOf } from './helpers/failures';
import { takeTurns } from './helpers/turns';

// Changes the shared local pair: alone while it runs.
takeTurns('local-pair', 'exclusive');

/** An HTTP health endpoint answering a scripted sequence of status codes (the last one repeats). */
async function scriptedHealth(
  statuses: number[],
): Promise<{ url: string; hits: () => number; close: () => void }> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    const status = statuses[Math.min(hits, statuses.length - 1)]!;
    hits += 1;
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(JSON.stringify({ site: 'rbx', status }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/health`, hits: () => hits, close: () => server.close() };
}

/** A health endpoint that passes once `file` exists. */
async function fileHealth(file: string): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(existsSync(file) ? 200 : 503, { 'content-type': 'application/json' }).end('{"site":"rbx"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/health`, close: () => server.close() };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function newKeyPair(dir: string, name: string): { priv: string; pub: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', file]);
  return { priv: file, pub: readFileSync(`${file}.pub`, 'utf8').trim() };
}

/** Starting and stopping the standby app over real SSH (the stack's sshd), host key pinned from the runbook. */
describe('application start/stop over SSH on the local stack', () => {
  let clients: ActivityClients;
  let activities: ReturnType<typeof createActivities>;
  const env = activityEnvironment();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'apps-ssh-'));
  const rbx = { pair: LOCAL_PAIR, host: 'app-rbx-1' };
  const { probes } = localRunbooks().get(LOCAL_PAIR)!.runbook;

  /** Runs an activity of a changed copy of the local runbook. */
  async function withRunbook<R>(
    edit: Parameters<typeof localRunbookCopy>[0],
    fn: (a: ReturnType<typeof createActivities>) => Promise<R>,
  ): Promise<R> {
    const other = createClients(localRunbookCopy(edit));
    try {
      return await fn(createActivities(other));
    } finally {
      await other.close();
    }
  }

  beforeAll(async () => {
    clients = createClients(localRunbooks());
    activities = createActivities(clients);
  });
  afterEach(restoreAppsAndTraffic);
  afterAll(async () => clients.close());

  it('starts a stopped standby app over SSH and reports it healthy only after `rise` passing checks in a row', async () => {
    await appctl('stop', 'rbx');
    expect(await appHealthy('rbx')).toBe(false);
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => heartbeats.push(d));
    const started = Date.now();
    const result = await runActivity(env, activities.appStart, rbx);
    const elapsed = Date.now() - started;
    env.removeAllListeners('heartbeat');

    expect(result).toMatchObject({ host: 'app-rbx-1', site: 'rbx', action: 'start', commandRun: true });
    expect(result.command).toMatchObject({ exitCode: 0 });
    // The command's text never goes to history: the result names the host and the action.
    expect(JSON.stringify(result)).not.toContain('appctl');
    expect(result.command?.stdout).toMatch(/^app rbx started \(pid \d+, http:\/\/127\.0\.0\.1:18081\)/);
    // The first probe saw the app down (so the command ran), then exactly `rise` passes in a row.
    expect(probes.rise).toBeGreaterThanOrEqual(2);
    expect(result.probes[0]?.ok).toBe(false);
    expect(result.probes.slice(1).map((p) => p.ok)).toEqual(Array(probes.rise).fill(true));
    expect(result).toMatchObject({ probeCount: probes.rise + 1, streak: probes.rise, required: probes.rise });
    // `rise` passes are `interval` apart, after the first probe and the start: it cannot be quicker than that.
    expect(elapsed).toBeGreaterThanOrEqual(probes.rise * durationMs(probes.interval));
    // One heartbeat per probe (and others while the command runs, which a quick start may not need).
    const probeBeats = heartbeats.filter((d) => (d as { probes?: number }).probes !== undefined);
    expect(probeBeats).toHaveLength(result.probeCount);
    expect(probeBeats.at(-1)).toMatchObject({ probes: probes.rise + 1, streak: probes.rise });
    expect(result.description).toMatch(
      /^app-rbx-1 \(rbx\) started over SSH \(its start command exited 0 in [\d.]+s\) and passed 2 health checks in a row at http:\/\/127\.0\.0\.1:18081\/health after 3 probes/,
    );
    expect((await getJson(appUrl('rbx'))).body).toMatchObject({ status: 'ok', site: 'rbx', db: 'ok' });
  });

  it('does not run the start command when the app already passes its health check, and ends at its first pass', async () => {
    const pid = await appctl('status', 'rbx');
    const result = await runActivity(env, activities.appStart, rbx);
    expect(probes.rise).toBeGreaterThan(1);
    expect(result).toMatchObject({ commandRun: false, streak: 1, probeCount: 1 });
    expect(result.command).toBeUndefined();
    expect(result.description).toMatch(/was already running/);
    expect(await appctl('status', 'rbx')).toBe(pid);
  });

  it('stops an app over SSH (compensation) and waits for `fall` failing checks in a row', async () => {
    // A throw-away instance, so that a `stack up` run meanwhile by someone else cannot restart it.
    const app = await scratchApp('sbg');
    await app.appctl('start');
    try {
      const result = await withRunbook(
        (doc) => {
          Object.assign(doc.apps.hosts[1], {
            stop: `DR_STACK_DIR=${app.dir} "$DR_REPO_ROOT/dev/perl-app/appctl" stop sbg`,
            healthUrl: app.url,
          });
        },
        (a) => runActivity(env, a.appStop, rbx),
      );
      expect(result).toMatchObject({
        action: 'stop',
        commandRun: true,
        streak: probes.fall,
        required: probes.fall,
      });
      expect(result.command?.stdout).toMatch(/^app sbg stopped \(was pid \d+\)/);
      expect(result.probes.map((p) => p.ok)).toEqual(Array(probes.fall).fill(false));
      await expect(app.appctl('status')).rejects.toMatchObject({ code: 3, stdout: 'app sbg stopped\n' });
    } finally {
      await app.appctl('stop');
    }
  });

  it('counts only consecutive passes: pass, fail, pass, pass ends after the 5th probe', async () => {
    const health = await scriptedHealth([503, 200, 503, 200, 200]);
    const hostKey = readFileSync(sshPaths().hostKeyPub, 'utf8').trim(); // a literal pinned key works too
    try {
      const result = await withRunbook(
        (doc) => {
          doc.probes = { interval: '100ms', timeout: '1s', fall: 2, rise: 2 };
          Object.assign(doc.apps.hosts[1], { start: 'true', healthUrl: health.url });
          doc.apps.hosts[1].ssh.hostKey = hostKey;
        },
        (a) => runActivity(env, a.appStart, rbx),
      );
      expect(result.probes.map((p) => p.status)).toEqual([503, 200, 503, 200, 200]);
      expect(result).toMatchObject({ commandRun: true, probeCount: 5, streak: 2 });
      expect(result.command).toMatchObject({ exitCode: 0 });
      expect(health.hits()).toBe(5);
    } finally {
      health.close();
    }
  });

  it('fails with AppNotHealthy (non-retryable) when the checks do not pass within timeouts.appStart', async () => {
    const health = await scriptedHealth([503]);
    const started = Date.now();
    try {
      const failure = await failureOf(
        withRunbook(
          (doc) => {
            // 4s: room for the SSH handshake and the start command on a busy machine; the start command itself
            // must finish within timeouts.appStart, or this is an SshTimeout instead.
            doc.probes = { interval: '200ms', timeout: '1s', fall: 2, rise: 2 };
            doc.timeouts = { appStart: '4s' };
            Object.assign(doc.apps.hosts[1], { start: 'true', healthUrl: health.url });
          },
          (a) => runActivity(env, a.appStart, rbx),
        ),
      );
      expect(failure).toMatchObject({ type: 'AppNotHealthy', nonRetryable: true });
      expect(failure.message).toMatch(
        /^app-rbx-1 \(rbx\) is not healthy [\d.]+s after its start command: \d+ probes/,
      );
      // It kept probing until the 4s deadline (minus at most one interval), and not much longer.
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(3800);
      expect(elapsed).toBeLessThan(8000);
      expect(health.hits()).toBeGreaterThanOrEqual(2);
    } finally {
      health.close();
    }
  });

  it('refuses a server whose host key is not the pinned one (HostKeyMismatch), before running anything', async () => {
    const marker = path.join(tmp, 'ran');
    const other = newKeyPair(tmp, 'other_host_key');
    const failure = await failureOf(
      withRunbook(
        (doc) => {
          Object.assign(doc.apps.hosts[1], {
            start: `touch ${marker}`,
            healthUrl: 'http://127.0.0.1:1/health',
          });
          doc.apps.hosts[1].ssh.hostKey = other.pub;
        },
        (a) => runActivity(env, a.appStart, rbx),
      ),
    );
    expect(failure).toMatchObject({ type: 'HostKeyMismatch', nonRetryable: true });
    const served = parseHostKey(readFileSync(sshPaths().hostKeyPub, 'utf8'), 'stack');
    const pinned = parseHostKey(other.pub, 'test');
    expect(failure.message).toBe(
      `app-rbx-1 (root@127.0.0.1:12222): refused the server's host key ${served.fingerprint}; the runbook pins ssh-ed25519 ${pinned.fingerprint}`,
    );
    expect(existsSync(marker)).toBe(false);
  });

  it('reports a client key the server does not accept, and an unusable pinned key, as non-retryable', async () => {
    const stranger = newKeyPair(tmp, 'stranger');
    const auth = await failureOf(
      withRunbook(
        (doc) => {
          Object.assign(doc.apps.hosts[1], { start: 'true', healthUrl: 'http://127.0.0.1:1/health' });
          doc.apps.hosts[1].ssh.privateKey = `file:${stranger.priv}`;
        },
        (a) => runActivity(env, a.appStart, rbx),
      ),
    );
    expect(auth).toMatchObject({ type: 'SshAuthenticationFailed', nonRetryable: true });

    // A literal placeholder is refused by `config validate` already; one in a host key file is seen on connection.
    const placeholder = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIReplaceWithTheHostKeyOfApp-rbx-1';
    expect(() => parseHostKey(placeholder, 'in the runbook')).toThrow(SshError);
    const keyFile = path.join(mkdtempSync(path.join(tmp, 'host-key-')), 'app-rbx-1.pub');
    writeFileSync(keyFile, `${placeholder}\n`);
    const invalid = await failureOf(
      withRunbook(
        (doc) => {
          Object.assign(doc.apps.hosts[1], { start: 'true', healthUrl: 'http://127.0.0.1:1/health' });
          doc.apps.hosts[1].ssh.hostKey = `file:${keyFile}`;
        },
        (a) => runActivity(env, a.appStart, rbx),
      ),
    );
    expect(invalid).toMatchObject({ type: 'HostKeyInvalid', nonRetryable: true });
    expect(invalid.message).toBe(
      `host key file:${keyFile} is not usable: the base64 data is not a ssh-ed25519 key`,
    );
  });

  it("returns command output redacted with the pair's secrets and bounded in bytes, in a result and in a failure", async () => {
    const loaded = localRunbooks().get(LOCAL_PAIR)!;
    const baseDir = path.dirname(loaded.file);
    const secretFile = path.resolve(baseDir, loaded.runbook.mysql.password.slice('file:'.length));
    const secret = resolveSecret(loaded.runbook.mysql.password, baseDir);
    const noisy = `printf 'é%.0s' $(seq 1 5000); cat '${secretFile}'; cat '${secretFile}' >&2`;
    const health = await scriptedHealth([503, 200]);
    try {
      const result = await withRunbook(
        (doc) => {
          doc.probes = { interval: '100ms', timeout: '1s', fall: 1, rise: 1 };
          Object.assign(doc.apps.hosts[1], { start: noisy, healthUrl: health.url });
        },
        (a) => runActivity(env, a.appStart, rbx),
      );
      const { stdout, stderr } = result.command!;
      expect(stdout.slice(-10)).toBe('éééééé***\n');
      expect(stderr).toBe('***\n');
      expect(Buffer.byteLength(stdout)).toBeLessThanOrEqual(4096);
      expect(JSON.stringify(result)).not.toContain(secret);

      const failure = await failureOf(
        withRunbook(
          (doc) => {
            doc.probes = { interval: '100ms', timeout: '1s', fall: 1, rise: 1 };
            Object.assign(doc.apps.hosts[1], {
              start: `${noisy}; exit 7`,
              healthUrl: 'http://127.0.0.1:1/health',
            });
          },
          (a) => runActivity(env, a.appStart, rbx),
        ),
      );
      expect(failure).toMatchObject({ type: 'AppCommandFailed' });
      expect(`${failure.message} ${JSON.stringify(failure.details)}`).not.toContain(secret);
      expect(failure.message).toMatch(/exited 7: \*\*\*$/);
    } finally {
      health.close();
    }
  });

  it('heartbeats while the start command runs, and a cancellation ends the remote command', async () => {
    const dir = mkdtempSync(path.join(tmp, 'cancel-'));
    const pidFile = path.join(dir, 'pid');
    const finished = path.join(dir, 'finished');
    const own = activityEnvironment();
    const beats: { step?: string }[] = [];
    own.on('heartbeat', (d: { step?: string }) => beats.push(d));
    const other = createClients(
      localRunbookCopy((doc) => {
        doc.probes = { interval: '100ms', timeout: '1s', fall: 1, rise: 1 };
        Object.assign(doc.apps.hosts[1], {
          start: `echo $$ > ${pidFile}; sleep 30; touch ${finished}`,
          healthUrl: 'http://127.0.0.1:1/health',
        });
      }),
    );
    try {
      const running = runActivity(own, createActivities(other).appStart, rbx);
      const outcome = running.then(
        () => 'resolved',
        (err: Error) => err.name,
      );
      await waitUntil(
        'the remote command runs and heartbeats twice',
        async () => existsSync(pidFile) && beats.filter((b) => b.step === 'command').length >= 2,
      );
      const pid = Number(readFileSync(pidFile, 'utf8'));
      expect(alive(pid)).toBe(true);
      expect(beats.find((b) => b.step === 'command')).toMatchObject({
        step: 'command',
        action: 'start',
        host: 'app-rbx-1',
      });
      own.cancel();
      expect(await outcome).toBe('CancelledFailure');
      await waitUntil('the remote command ended', async () => !alive(pid), 10_000);
      expect(existsSync(finished)).toBe(false);
    } finally {
      await other.close();
    }
  });

  it("a retry while the previous attempt's start still runs joins it instead of starting a second time", async () => {
    const dir = mkdtempSync(path.join(tmp, 'join-'));
    const starts = path.join(dir, 'starts');
    const healthy = path.join(dir, 'healthy');
    const health = await fileHealth(healthy);
    const other = createClients(
      localRunbookCopy((doc) => {
        doc.probes = { interval: '100ms', timeout: '1s', fall: 1, rise: 1 };
        Object.assign(doc.apps.hosts[1], {
          start: `echo started >> ${starts}; sleep 3; touch ${healthy}`,
          healthUrl: health.url,
        });
      }),
    );
    try {
      const activities = createActivities(other);
      // Attempt 1: its worker stops heartbeating (lost, partitioned), so Temporal starts attempt 2 meanwhile.
      const first = runActivity(activityEnvironment(), activities.appStart, rbx);
      await waitUntil('the first start runs', async () => existsSync(starts));
      const second = await runActivity(activityEnvironment(), activities.appStart, rbx);
      expect(second).toMatchObject({ commandRun: false, previousStillRunning: true });
      expect(second.description).toMatch(
        /^app-rbx-1 \(rbx\) was already being started by an earlier attempt \(its start command still ran\): waited for it; it passed 1 health check/,
      );
      await first;
      expect(readFileSync(starts, 'utf8')).toBe('started\n');
    } finally {
      health.close();
      await other.close();
    }
  });

  it('lists the hosts of a site, and probes one', async () => {
    expect(await runActivity(env, activities.appHosts, { pair: LOCAL_PAIR, site: 'rbx' })).toEqual([
      { name: 'app-rbx-1', site: 'rbx', healthUrl: 'http://127.0.0.1:18081/health' },
    ]);
    const health = await runActivity(env, activities.appHealth, rbx);
    expect(health).toMatchObject({ host: 'app-rbx-1', site: 'rbx', ok: true, status: 200 });
    expect(health.servedBy).toBe('rbx');
  });

  it.each([
    ['no host', { pair: LOCAL_PAIR }, /host: /],
    ['a host that is not a name', { pair: LOCAL_PAIR, host: '../app-rbx-1' }, /host: must be lower-case/],
    ['an unknown field', { pair: LOCAL_PAIR, host: 'app-rbx-1', command: 'rm -rf /' }, /command/],
    ['no input at all', null, /input/],
  ])(
    'appStart and appStop refuse %s at run time: InvalidActivityInput, not retried, naming the field',
    async (_label, input, field) => {
      for (const [name, activity] of [
        ['appStart', activities.appStart],
        ['appStop', activities.appStop],
      ] as const) {
        const failure = await failureOf(runActivity(env, activity, input as never));
        expect(failure).toMatchObject({ type: 'InvalidActivityInput', nonRetryable: true });
        expect(failure.message).toMatch(
          new RegExp(`^${name} was called with an invalid input; nothing was changed: `),
        );
        expect(failure.message).toMatch(field);
      }
    },
  );

  it('names an unknown host', async () => {
    const failure = await failureOf(
      runActivity(env, activities.appStart, { pair: LOCAL_PAIR, host: 'app-sbg-1' }),
    );
    expect(failure).toMatchObject({ type: 'UnknownAppHost', nonRetryable: true });
    expect(failure.message).toBe(
      'pair "local" has no application host "app-sbg-1" (hosts: app-gra-1, app-rbx-1)',
    );
  });
});

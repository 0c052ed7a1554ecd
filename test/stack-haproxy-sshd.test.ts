import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveHostKey, SshClient } from '../activities/apps/ssh';
import { HaproxySocketClient, setServerState, showServersState } from '../activities/traffic/haproxy-runtime';
import { freePort, portOpen, processAlive } from '../dev/stack/daemon';
import { haproxy, haproxyPaths } from '../dev/stack/services/haproxy';
import { sshPaths, sshServer, sshUser } from '../dev/stack/services/sshd';

const quiet = () => undefined;

const exited = (pid: number) => !processAlive(pid);

/** Sets environment variables for the rest of the test; afterEach restores them. */
const saved: Record<string, string | undefined> = {};
function setEnv(vars: Record<string, string>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (!(k in saved)) saved[k] = process.env[k];
    process.env[k] = v;
  }
}

/**
 * The stack's HAProxy and sshd services, started a second time in a folder of their own on other ports
 * (the second HAProxy fronts the stack's two app instances), so the shared stack is left alone.
 */
describe('stack services: HAProxy and sshd', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
      delete saved[k];
    }
  });

  it('HAProxy starts with the standby drained, keeps a switch across down/up, and stops cleanly', async () => {
    const frontend = await freePort();
    setEnv({
      DR_STACK_DIR: mkdtempSync(path.join(os.tmpdir(), 'stack-')),
      DR_STACK_PORT_HAPROXY: String(frontend),
    });
    const service = haproxy(quiet);
    cleanups.push(() => service.down());
    const runtime = () => new HaproxySocketClient(haproxyPaths().socket);
    const states = async () =>
      Object.fromEntries((await showServersState(runtime(), 'app')).map((s) => [s.server, s.admin]));

    await service.up();
    expect(await states()).toEqual({ 'app-gra': 'ready', 'app-rbx': 'drain' });
    const [pid] = (await service.status()).pids;
    await service.up(); // harmless when running
    expect((await service.status()).pids).toEqual([pid]);

    await setServerState(runtime(), 'app', 'app-rbx', 'ready');
    await setServerState(runtime(), 'app', 'app-gra', 'maint');
    await service.down();
    expect(await portOpen(frontend)).toBe(false);
    expect(exited(pid!)).toBe(true);

    await service.up();
    expect(await states()).toEqual({ 'app-gra': 'maint', 'app-rbx': 'ready' });
    const res = await fetch(`http://127.0.0.1:${frontend}/health`);
    expect(((await res.json()) as { site: string }).site).toBe('rbx');
  });

  it('sshd serves its generated host key on loopback, runs a command for the generated client key, and stops', async () => {
    const port = await freePort();
    setEnv({ DR_STACK_DIR: mkdtempSync(path.join(os.tmpdir(), 'stack-')), DR_STACK_PORT_SSH: String(port) });
    const service = sshServer(quiet);
    cleanups.push(() => service.down());
    await service.up();
    const p = sshPaths();
    expect(readFileSync(p.config, 'utf8')).toMatch(/^PasswordAuthentication no$/m);
    const result = await new SshClient().exec(
      {
        label: 'test',
        host: '127.0.0.1',
        port,
        user: sshUser(),
        privateKey: readFileSync(p.clientKey, 'utf8'),
        hostKey: resolveHostKey(`file:${p.hostKeyPub}`, '/'),
      },
      'echo "$DR_STACK_DIR"; exit 3',
      { timeoutMs: 10_000 },
    );
    expect(result).toMatchObject({ exitCode: 3, stdout: `${process.env.DR_STACK_DIR}\n` });
    const [pid] = (await service.status()).pids;
    await service.down();
    expect(await portOpen(port)).toBe(false);
    expect(exited(pid!)).toBe(true);
  });

  it('sshd given variables and SFTP: its commands see the variables, and scp (SFTP since OpenSSH 9) copies a file', async () => {
    const port = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-'));
    setEnv({ DR_STACK_DIR: dir, DR_STACK_PORT_SSH: String(port) });
    const service = sshServer(quiet, { env: { PERL5OPT: '-MSomeFix' }, sftp: true });
    cleanups.push(() => service.down());
    await service.up();
    const p = sshPaths();
    const result = await new SshClient().exec(
      {
        label: 'test',
        host: '127.0.0.1',
        port,
        user: sshUser(),
        privateKey: readFileSync(p.clientKey, 'utf8'),
        hostKey: resolveHostKey(`file:${p.hostKeyPub}`, '/'),
      },
      'echo "$PERL5OPT $DR_STACK_DIR"',
      { timeoutMs: 10_000 },
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: `-MSomeFix ${dir}\n` });

    const knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${readFileSync(p.hostKeyPub, 'utf8')}`);
    writeFileSync(path.join(dir, 'from.txt'), 'copied over SFTP\n');
    const options = ['IdentitiesOnly=yes', `UserKnownHostsFile=${knownHosts}`, 'BatchMode=yes'];
    await promisify(execFile)('scp', [
      ...['-q', '-P', String(port), '-i', p.clientKey],
      ...options.flatMap((o) => ['-o', o]),
      path.join(dir, 'from.txt'),
      `${sshUser()}@127.0.0.1:${path.join(dir, 'to.txt')}`,
    ]);
    expect(readFileSync(path.join(dir, 'to.txt'), 'utf8')).toBe('copied over SFTP\n');
  });
});

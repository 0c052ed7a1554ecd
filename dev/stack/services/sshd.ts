import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureDebianPackages, STACK_PACKAGES } from '../../tools/debian-packages';
import { assertPortsFree, portOpen, runningPid, startDaemon, stopDaemon, waitForDaemon } from '../daemon';
import { REPO_ROOT, stackDir, stackPort } from '../settings';
import type { ServiceStatus, StackService } from '../service';

const run = promisify(execFile);

/**
 * Files of the stack's SSH server. The host key and the client key pair are generated once per machine;
 * config/runbooks/local.yaml pins the host key by reference (`hostKey: file:…/ssh_host_ed25519_key.pub`)
 * and uses the client key as the orchestrator's private key.
 */
export function sshPaths() {
  const dir = path.join(stackDir(), 'ssh');
  return {
    dir,
    config: path.join(dir, 'sshd_config'),
    hostKey: path.join(dir, 'ssh_host_ed25519_key'),
    hostKeyPub: path.join(dir, 'ssh_host_ed25519_key.pub'),
    clientKey: path.join(dir, 'client_ed25519'),
    clientKeyPub: path.join(dir, 'client_ed25519.pub'),
    authorizedKeys: path.join(dir, 'authorized_keys'),
  };
}

/** The account the orchestrator logs in as: sshd run by a non-root user can only log that user in. */
export const sshUser = () => os.userInfo().username;

const spec = () => ({ name: 'sshd', runDir: sshPaths().dir });

async function ensureKey(file: string, comment: string): Promise<void> {
  if (existsSync(file) && existsSync(`${file}.pub`)) return;
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/** What a private sshd adds to the stack's: more variables for the commands it runs, and an SFTP server. */
export interface SshServerOptions {
  /** Set for every command run over SSH, next to DR_REPO_ROOT and DR_STACK_DIR (sshd keeps only its first SetEnv). */
  env?: Record<string, string>;
  /** Serve SFTP (OpenSSH 9's scp copies over SFTP). */
  sftp?: boolean;
}

function writeConfig(options: SshServerOptions): void {
  const p = sshPaths();
  const clientKey = readFileSync(p.clientKeyPub, 'utf8').trim();
  // The key may only be used from loopback, and only to run commands.
  writeFileSync(
    p.authorizedKeys,
    `from="127.0.0.1,::1",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty ${clientKey}\n`,
    { mode: 0o600 },
  );
  const user = sshUser();
  writeFileSync(
    p.config,
    [
      '# Written by the stack manager (dev/stack/services/sshd.ts) at every start.',
      '# Loopback only, public-key login only, for the standby-start step of the orchestrator.',
      `Port ${stackPort('SSH')}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${p.hostKey}`,
      'PidFile none',
      `AuthorizedKeysFile ${p.authorizedKeys}`,
      'AuthenticationMethods publickey',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}@127.0.0.1`,
      // The files live in the work tree, whose parent folders this stack does not control.
      'StrictModes no',
      'UsePAM no',
      'X11Forwarding no',
      'AllowTcpForwarding no',
      'AllowAgentForwarding no',
      'PermitTunnel no',
      'PermitTTY no',
      'PrintMotd no',
      'PrintLastLog no',
      'MaxStartups 30:30:60',
      // Lets the runbook's commands find dev/perl-app/appctl and this stack's folder, wherever the clone is.
      `SetEnv ${Object.entries({ DR_REPO_ROOT: REPO_ROOT, DR_STACK_DIR: stackDir(), ...options.env })
        .map(([name, value]) => `${name}=${value}`)
        .join(' ')}`,
      ...(options.sftp ? ['Subsystem sftp internal-sftp'] : []),
      'LogLevel INFO',
      '',
    ].join('\n'),
  );
}

async function fingerprint(file: string): Promise<string> {
  const { stdout } = await run('ssh-keygen', ['-l', '-f', file]);
  return stdout.trim().split(/\s+/)[1] ?? stdout.trim();
}

/** OpenSSH's sshd on loopback, its own config, host key and authorized client key under `.stack/ssh/`. */
export function sshServer(log: (line: string) => void, options: SshServerOptions = {}): StackService {
  return {
    name: 'sshd',
    async up() {
      if (runningPid(spec()) !== undefined) return;
      ensureDebianPackages(STACK_PACKAGES, log);
      const p = sshPaths();
      const port = stackPort('SSH');
      await assertPortsFree('sshd', [{ name: 'SSH', port }]);
      mkdirSync(p.dir, { recursive: true, mode: 0o700 });
      chmodSync(p.dir, 0o700);
      await ensureKey(p.hostKey, 'dr-local-stack sshd host key');
      await ensureKey(p.clientKey, 'dr-orchestrator@local-stack');
      writeConfig(options);
      // Privilege separation needs this empty folder when sshd runs as root.
      if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
      try {
        await run('/usr/sbin/sshd', ['-t', '-f', p.config]);
      } catch (err) {
        throw new Error(
          `sshd: invalid configuration ${p.config}: ${(err as { stderr?: string }).stderr ?? err}`,
          { cause: err },
        );
      }
      // sshd re-executes itself, so it needs its absolute path; -D stays in the foreground, -e logs to stderr.
      startDaemon({ ...spec(), command: '/usr/sbin/sshd', args: ['-D', '-e', '-f', p.config] });
      await waitForDaemon(spec(), 'sshd', () => portOpen(port), 15_000);
      log(`sshd: ${sshUser()}@127.0.0.1:${port}, host key ${await fingerprint(p.hostKeyPub)}`);
    },
    async status(): Promise<ServiceStatus> {
      const pid = runningPid(spec());
      const p = sshPaths();
      const key = existsSync(p.hostKeyPub)
        ? await fingerprint(p.hostKeyPub).catch(() => '?')
        : 'not generated';
      return {
        name: 'sshd',
        running: pid !== undefined,
        pids: pid === undefined ? [] : [pid],
        endpoints: [`ssh ${sshUser()}@127.0.0.1 -p ${stackPort('SSH')}`],
        detail: `host key ${key}; client key ${p.clientKey}`,
      };
    },
    async down() {
      await stopDaemon(spec());
    },
  };
}

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  HaproxySocketClient,
  setServerState,
  showServersState,
  type HaproxyServerState,
} from '../../../activities/traffic/haproxy-runtime';
import { ensureDebianPackages, STACK_PACKAGES } from '../../tools/debian-packages';
import { assertPortsFree, logFile, runningPid, startDaemon, stopDaemon, waitForDaemon } from '../daemon';
import { stackDir, stackPort } from '../settings';
import type { ServiceStatus, StackService } from '../service';

const run = promisify(execFile);

/** Names in the generated configuration; config/runbooks/local.yaml refers to them. */
export const HAPROXY_BACKEND = 'app';
/** HAProxy server per site; the first is the primary's, the second starts drained (the standby's). */
export const HAPROXY_SERVERS: { site: string; server: string; port: 'APP_GRA' | 'APP_RBX' }[] = [
  { site: 'gra', server: 'app-gra', port: 'APP_GRA' },
  { site: 'rbx', server: 'app-rbx', port: 'APP_RBX' },
];

export function haproxyPaths() {
  const dir = path.join(stackDir(), 'haproxy');
  return {
    dir,
    config: path.join(dir, 'haproxy.cfg'),
    socket: path.join(dir, 'admin.sock'),
    /** Written at `stack down` from `show servers state`, loaded at the next start. */
    stateFile: path.join(dir, 'server-state'),
  };
}

const spec = () => ({ name: 'haproxy', runDir: haproxyPaths().dir });

function writeConfig(): void {
  const p = haproxyPaths();
  const [, standby] = HAPROXY_SERVERS;
  writeFileSync(
    p.config,
    [
      '# Written by the stack manager (dev/stack/services/haproxy.ts) at every start.',
      'global',
      `  stats socket ${p.socket} mode 600 level admin`,
      '  stats timeout 30s',
      // Switches made through the runtime API survive `stack down` / `up`: state saved at down, loaded here.
      `  server-state-file ${p.stateFile}`,
      '  log stdout format raw local0',
      '',
      'defaults',
      '  mode http',
      '  log global',
      '  option httplog',
      '  option dontlognull',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  load-server-state-from-file global',
      '',
      `frontend ${HAPROXY_BACKEND}`,
      `  bind 127.0.0.1:${stackPort('HAPROXY')}`,
      `  default_backend ${HAPROXY_BACKEND}`,
      '',
      `backend ${HAPROXY_BACKEND}`,
      // An HTTP check of the app's /health (which pings its database), not a TCP connect.
      '  option httpchk',
      '  http-check send meth GET uri /health',
      '  http-check expect status 200',
      '  default-server inter 1s fall 2 rise 2',
      ...HAPROXY_SERVERS.map(
        (s) =>
          `  server ${s.server} 127.0.0.1:${stackPort(s.port)} check${
            // The standby starts in maintenance (no traffic, not even for a moment); the stack then sets it
            // to drain, in which HAProxy still health-checks it. A saved state file overrides this.
            s === standby ? ' disabled' : ''
          }`,
      ),
      '',
    ].join('\n'),
  );
}

export function describeBackend(states: HaproxyServerState[]): string {
  const active = states.filter((s) => s.admin === 'ready').map((s) => s.server);
  const all = states.map((s) => `${s.server} ${s.admin} ${s.op.toUpperCase()}`).join(', ');
  return `traffic to ${active.join(' and ') || 'no server'} (${all})`;
}

/** HAProxy in front of the two Perl app instances; runtime API on a UNIX socket under the stack folder. */
export function haproxy(log: (line: string) => void): StackService {
  const client = () => new HaproxySocketClient(haproxyPaths().socket, 3000);
  return {
    name: 'haproxy',
    async up() {
      if (runningPid(spec()) !== undefined) return;
      ensureDebianPackages(STACK_PACKAGES, log);
      const p = haproxyPaths();
      await assertPortsFree('haproxy', [{ name: 'HAPROXY', port: stackPort('HAPROXY') }]);
      mkdirSync(p.dir, { recursive: true, mode: 0o700 });
      writeConfig();
      try {
        await run('haproxy', ['-c', '-q', '-f', p.config]);
      } catch (err) {
        throw new Error(
          `haproxy: invalid configuration ${p.config}: ${(err as { stderr?: string }).stderr ?? err}`,
          { cause: err },
        );
      }
      const restoring = existsSync(p.stateFile);
      startDaemon({ ...spec(), command: 'haproxy', args: ['-f', p.config, '-db'] });
      await waitForDaemon(
        spec(),
        'haproxy',
        () =>
          showServersState(client(), HAPROXY_BACKEND).then(
            () => true,
            () => false,
          ),
        15_000,
      );
      const [, standby] = HAPROXY_SERVERS;
      if (!restoring && standby) await setServerState(client(), HAPROXY_BACKEND, standby.server, 'drain');
      await saveServerStates();
      const states = await showServersState(client(), HAPROXY_BACKEND);
      log(
        `haproxy: ${restoring ? 'server states restored from the last stop; ' : ''}${describeBackend(states)}`,
      );
    },
    async status(): Promise<ServiceStatus> {
      const pid = runningPid(spec());
      let detail = `log ${logFile(spec())}`;
      if (pid !== undefined) {
        detail = await showServersState(client(), HAPROXY_BACKEND).then(
          (states) => describeBackend(states),
          (err: Error) => `runtime API: ${err.message}`,
        );
      }
      return {
        name: 'haproxy',
        running: pid !== undefined,
        pids: pid === undefined ? [] : [pid],
        endpoints: [`http://127.0.0.1:${stackPort('HAPROXY')}`, `runtime API ${haproxyPaths().socket}`],
        detail,
      };
    },
    async forget() {
      rmSync(haproxyPaths().stateFile, { force: true });
    },
    async down() {
      if (runningPid(spec()) === undefined) return;
      try {
        await saveServerStates();
      } catch (err) {
        log(`haproxy: server states not saved: ${(err as Error).message}`);
      }
      await stopDaemon(spec());
    },
  };
}

/**
 * Writes the stack HAProxy's `show servers state` to its server-state-file (the local runbook's `stateFile`), as the
 * worker does after a switch: a restart keeps the states, and readiness's `state-saved` check holds.
 */
export async function saveServerStates(): Promise<void> {
  const state = await new HaproxySocketClient(haproxyPaths().socket).command('show servers state');
  if (!/^# be_id/m.test(state))
    throw new Error(`haproxy: "show servers state" answered ${state.slice(0, 200)}`);
  writeFileSync(haproxyPaths().stateFile, state);
}

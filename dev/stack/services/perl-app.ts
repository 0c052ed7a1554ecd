import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureDebianPackages, STACK_PACKAGES } from '../../tools/debian-packages';
import { assertPortsFree, logFile, portOpen, runningPid, waitFor } from '../daemon';
import { REPO_ROOT, stackDir, stackPort, type PortName } from '../settings';
import type { ServiceStatus, StackService } from '../service';
import { APP_DATABASE, MARIADB_ACCOUNTS } from './mariadb';

const run = promisify(execFile);

/** `appctl start|stop|status <site>`: the one script that starts and stops an app instance, for the stack and over SSH. */
export const APPCTL = path.join(REPO_ROOT, 'dev', 'perl-app', 'appctl');

/** One instance of the sample Perl app per site, each on its site's database. */
export const APP_INSTANCES: { site: string; port: PortName; db: PortName }[] = [
  { site: 'gra', port: 'APP_GRA', db: 'MYSQL_GRA' },
  { site: 'rbx', port: 'APP_RBX', db: 'MYSQL_RBX' },
];

export const appDir = (site: string) => path.join(stackDir(), 'perl-app', site);
const appSpec = (site: string) => ({ name: 'app', runDir: appDir(site) });

export interface AppEnv {
  site: string;
  listenPort: number;
  dbPort: number;
  /** File holding the application account's password. */
  passwordFile: string;
  /** Worker processes (Mojolicious prefork) when more than one; by default one process serves every request. */
  workers?: number;
  /**
   * A file of DB_HOST= and DB_PORT= lines the app reads its database from, again whenever it changes (instead of
   * `dbPort`); what an orchestrator's `template` app config writes.
   */
  endpointFile?: string;
  /** The site's Redis, where the app keeps login sessions (none by default: POST /login answers 404). */
  redis?: { port: number; passwordFile: string };
}

/**
 * Writes the settings appctl reads into `<stack folder>/perl-app/<site>/app.env`: listen address and the site's
 * database; the password stays in its file.
 */
export function writeAppEnv(stackFolder: string, app: AppEnv): void {
  const dir = path.join(stackFolder, 'perl-app', app.site);
  mkdirSync(dir, { recursive: true });
  const settings = {
    DR_APP_SITE: app.site,
    DR_APP_LISTEN: `http://127.0.0.1:${app.listenPort}`,
    DR_APP_DB_HOST: '127.0.0.1',
    DR_APP_DB_PORT: String(app.dbPort),
    DR_APP_DB_NAME: APP_DATABASE,
    DR_APP_DB_USER: MARIADB_ACCOUNTS.app.user,
    DR_APP_DB_PASSWORD_FILE: app.passwordFile,
    ...(app.workers !== undefined ? { DR_APP_WORKERS: String(app.workers) } : {}),
    ...(app.endpointFile !== undefined ? { DR_APP_DB_ENDPOINT_FILE: app.endpointFile } : {}),
    ...(app.redis
      ? {
          DR_APP_REDIS_HOST: '127.0.0.1',
          DR_APP_REDIS_PORT: String(app.redis.port),
          DR_APP_REDIS_PASSWORD_FILE: app.redis.passwordFile,
        }
      : {}),
  };
  writeFileSync(
    path.join(dir, 'app.env'),
    '# Written by the stack manager (dev/stack/services/perl-app.ts); read by dev/perl-app/appctl.\n' +
      Object.entries(settings)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n') +
      '\n',
  );
}

const stackAppEnv = (instance: (typeof APP_INSTANCES)[number]): AppEnv => ({
  site: instance.site,
  listenPort: stackPort(instance.port),
  dbPort: stackPort(instance.db),
  passwordFile: path.join(stackDir(), 'secrets', MARIADB_ACCOUNTS.app.secretFile),
});

/** Runs appctl for the app of `site` whose app.env is under `stackFolder` (by default the stack's folder). */
export async function appctl(
  action: 'start' | 'stop' | 'status',
  site: string,
  stackFolder = stackDir(),
): Promise<string> {
  try {
    const { stdout } = await run(APPCTL, [action, site], {
      env: { ...process.env, DR_STACK_DIR: stackFolder },
    });
    return stdout.trim();
  } catch (err) {
    const { stderr, stdout } = err as { stderr?: string; stdout?: string };
    throw new Error(`appctl ${action} ${site} failed: ${(stderr || stdout || String(err)).trim()}`, {
      cause: err,
    });
  }
}

async function healthOf(port: number): Promise<{ ok: boolean; text: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) });
    return { ok: res.ok, text: `${res.status} ${await res.text()}` };
  } catch (err) {
    return { ok: false, text: (err as Error).message };
  }
}

/** The sample Perl application (dev/perl-app): instance gra on db-gra-1, instance rbx on db-rbx-1. */
export function perlApps(log: (line: string) => void): StackService {
  return {
    name: 'perl-app',
    async up() {
      ensureDebianPackages(STACK_PACKAGES, log);
      for (const instance of APP_INSTANCES) {
        writeAppEnv(stackDir(), stackAppEnv(instance));
        if (runningPid(appSpec(instance.site)) !== undefined) continue;
        const port = stackPort(instance.port);
        await assertPortsFree(`perl-app ${instance.site}`, [{ name: instance.port, port }]);
        log(`perl-app: ${await appctl('start', instance.site)}`);
        await waitFor(
          `perl-app ${instance.site}`,
          () => portOpen(port),
          15_000,
          logFile(appSpec(instance.site)),
        );
        const health = await healthOf(port);
        log(`perl-app ${instance.site}: GET /health → ${health.text}`);
      }
    },
    async status(): Promise<ServiceStatus> {
      const pids = APP_INSTANCES.map((i) => runningPid(appSpec(i.site)));
      const down = APP_INSTANCES.filter((_, i) => pids[i] === undefined).map((i) => i.site);
      return {
        name: 'perl-app',
        running: down.length === 0,
        pids: pids.filter((p): p is number => p !== undefined),
        endpoints: APP_INSTANCES.map((i) => `${i.site} http://127.0.0.1:${stackPort(i.port)}`),
        detail: down.length === 0 ? `logs ${appDir('<site>')}/app.log` : `not running: ${down.join(', ')}`,
      };
    },
    async down() {
      for (const instance of [...APP_INSTANCES].reverse()) {
        if (runningPid(appSpec(instance.site)) !== undefined) await appctl('stop', instance.site);
      }
    },
  };
}

import { execFile } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import pg from 'pg';
import { stringify } from 'yaml';
import { createActivities, createClients, type ActivityClients } from '../../activities';
import { conninfoValue, confString } from '../../activities/postgresql/rejoin';
import { loadRunbooks } from '../../config/load';
import { freePort } from '../../dev/stack/daemon';
import { sshPaths, sshServer, sshUser } from '../../dev/stack/services/sshd';
import { ensureDebianPackages, STACK_PACKAGES } from '../../dev/tools/debian-packages';
import { TEST_APPROVER_LINE } from './approver';
import { withEnv } from './env';
import { runActivity } from './run-activity';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 programs (package postgresql-15). */
export const PG_BIN = '/usr/lib/postgresql/15/bin';
export type PgSite = 'gra' | 'rbx';
export const PG_SITES: PgSite[] = ['gra', 'rbx'];
export const pgServerName = (site: PgSite) => `pg-${site}`;

export const PG_ADMIN = { user: 'dr_admin', password: 'pg-admin-secret' };
export const PG_REPLICATION = { user: 'replicator', password: "re'pl-secret" };
export const PG_APP = { user: 'app', password: 'app-secret', database: 'app' };

/** PostgreSQL refuses to run as root: as root the servers run as Debian's `postgres` account. */
export const pgOsUser = (): string | undefined => (process.getuid?.() === 0 ? 'postgres' : undefined);

/** Runs a PostgreSQL program as the account that owns the data directories. */
export async function asPgUser(
  program: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  const user = pgOsUser();
  const [cmd, argv] = user ? ['runuser', ['-u', user, '--', program, ...args]] : [program, args];
  return run(cmd, argv, { env: { ...process.env, ...env }, timeout: 120_000 });
}

export interface PgNode {
  site: PgSite;
  name: string;
  port: number;
  dataDirectory: string;
}

/** What a test sees of the runbook's postgresql section (merged into a runbook). */
export interface ScratchPgPair {
  dir: string;
  nodes: Record<PgSite, PgNode>;
  /** The runbook's postgresql section for this pair (secrets as file references). */
  section: Record<string, unknown>;
  /** An SQL client to a node as the admin (or as `as`), connected; the caller ends it. */
  client(site: PgSite, as?: { user: string; password: string; database?: string }): Promise<pg.Client>;
  /** One statement on a node as the admin. */
  sql(site: PgSite, text: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
  /** SIGKILLs a node's postmaster (its children die with it: they lose their parent and exit). */
  kill(site: PgSite): Promise<void>;
  pgCtl(site: PgSite, ...args: string[]): Promise<void>;
  /** Stops both servers (immediate) and the sshd, and removes the folder. */
  destroy(): Promise<void>;
}

/**
 * A throw-away PostgreSQL 15 streaming pair on free loopback ports in a temporary folder: pg-gra the primary
 * (initdb --data-checksums, so pg_rewind may run), pg-rbx a standby from pg_basebackup, and an sshd of its own that
 * the activities reach both "hosts" through (as root, running the PostgreSQL commands as `postgres`). Each node's
 * port and socket folder live in a node.conf beside its data directory (included from postgresql.conf), so that
 * pg_rewind, which copies the source's configuration files, leaves them alone.
 */
export async function startScratchPgPair(
  log: (line: string) => void = () => undefined,
  options: {
    /** Each site's SSH server (a scratch DR pair's site sshd) instead of one of the pair's own. */
    ssh?: Record<PgSite, { port: number; clientKey: string; hostKeyPub: string }>;
  } = {},
): Promise<ScratchPgPair> {
  ensureDebianPackages(STACK_PACKAGES, log);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pg-pair-'));
  chmodSync(dir, 0o755);
  const user = pgOsUser();
  const owned = (p: string) => {
    if (!user) return;
    const { uid, gid } = osIds(user);
    chownSync(p, uid, gid);
  };
  const nodes = {} as Record<PgSite, PgNode>;
  for (const site of PG_SITES) {
    const siteDir = path.join(dir, site);
    mkdirSync(siteDir, { mode: 0o755 });
    owned(siteDir);
    nodes[site] = {
      site,
      name: pgServerName(site),
      port: await freePort(),
      dataDirectory: path.join(siteDir, 'data'),
    };
    writeFileSync(
      path.join(siteDir, 'node.conf'),
      `port = ${nodes[site].port}\nunix_socket_directories = '${siteDir}'\nlisten_addresses = '127.0.0.1'\n`,
    );
  }
  const secrets = path.join(dir, 'secrets');
  mkdirSync(secrets, { mode: 0o700 });
  const secretFile = (name: string, value: string) => {
    const file = path.join(secrets, name);
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    return `file:${file}`;
  };
  const sshEnv = { DR_STACK_DIR: path.join(dir, 'sshd'), DR_STACK_PORT_SSH: String(await freePort()) };
  const sshd = await withEnv(sshEnv, async () => sshServer(log));
  let ssh!: ReturnType<typeof sshPaths>;
  const stopAll = async () => {
    for (const site of PG_SITES)
      await asPgUser(`${PG_BIN}/pg_ctl`, [
        'stop',
        '-D',
        nodes[site].dataDirectory,
        '-m',
        'immediate',
        '-w',
      ]).catch(() => undefined);
    await withEnv(sshEnv, () => sshd.down()).catch(() => undefined);
  };
  const client = async (
    site: PgSite,
    as: { user: string; password: string; database?: string } = PG_ADMIN,
  ) => {
    const c = new pg.Client({
      host: '127.0.0.1',
      port: nodes[site].port,
      user: as.user,
      password: as.password,
      database: as.database ?? 'postgres',
      connectionTimeoutMillis: 5000,
    });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  };
  try {
    if (!options.ssh)
      await withEnv(sshEnv, async () => {
        await sshd.up();
        ssh = sshPaths();
      });
    await initPrimary(nodes.gra, path.join(dir, 'gra'));
    await startNode(nodes.gra);
    await rolesAndData(nodes.gra);
    await baseBackup(nodes.gra, nodes.rbx);
    await startNode(nodes.rbx);
  } catch (err) {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const section = {
    user: PG_ADMIN.user,
    password: secretFile('pg-admin', PG_ADMIN.password),
    replicationUser: PG_REPLICATION.user,
    replicationPassword: secretFile('pg-replication', PG_REPLICATION.password),
    binDirectory: PG_BIN,
    maxLagBytes: 1024 * 1024,
    connectTimeout: '2s',
    servers: PG_SITES.map((site) => ({
      name: nodes[site].name,
      site,
      role: site === 'gra' ? 'primary' : 'standby',
      host: '127.0.0.1',
      port: nodes[site].port,
      dataDirectory: nodes[site].dataDirectory,
      ...(user ? { osUser: user } : {}),
      ssh: {
        host: '127.0.0.1',
        port: options.ssh?.[site].port ?? Number(sshEnv.DR_STACK_PORT_SSH),
        user: sshUser(),
        privateKey: `file:${options.ssh?.[site].clientKey ?? ssh.clientKey}`,
        hostKey: `file:${options.ssh?.[site].hostKeyPub ?? ssh.hostKeyPub}`,
      },
    })),
  };
  return {
    dir,
    nodes,
    section,
    client,
    async sql(site, text, values = []) {
      const c = await client(site);
      try {
        return (await c.query(text, values)).rows;
      } finally {
        await c.end().catch(() => undefined);
      }
    },
    async kill(site) {
      const pid = Number(
        readFileSync(path.join(nodes[site].dataDirectory, 'postmaster.pid'), 'utf8').split('\n')[0],
      );
      process.kill(pid, 'SIGKILL');
      // Gone once reaped (/proc/<pid> absent), and its backends with it: nothing answers on its port.
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const answers = await client(site).then(
          (c) => c.end().then(() => true),
          () => false,
        );
        if (!answers && !existsSync(`/proc/${pid}`)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${nodes[site].name} (pid ${pid}) is still there 20 s after SIGKILL`);
    },
    async pgCtl(site, ...args) {
      await asPgUser(`${PG_BIN}/pg_ctl`, [...args, '-D', nodes[site].dataDirectory]);
    },
    async destroy() {
      await stopAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };

  async function initPrimary(node: PgNode, siteDir: string): Promise<void> {
    const pwfile = path.join(siteDir, 'pwfile');
    writeFileSync(pwfile, `${PG_ADMIN.password}\n`, { mode: 0o600 });
    owned(pwfile);
    await asPgUser(`${PG_BIN}/initdb`, [
      '-D',
      node.dataDirectory,
      '--data-checksums',
      '-U',
      PG_ADMIN.user,
      `--pwfile=${pwfile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '--no-sync',
    ]);
    rmSync(pwfile);
    const conf = path.join(node.dataDirectory, 'postgresql.conf');
    writeFileSync(
      conf,
      `${readFileSync(conf, 'utf8')}\n# scratch pair\ninclude_if_exists = '../node.conf'\nwal_keep_size = '512MB'\nfsync = off\nsynchronous_commit = on\n`,
    );
    const hba = path.join(node.dataDirectory, 'pg_hba.conf');
    writeFileSync(
      hba,
      `${readFileSync(hba, 'utf8')}\nhost replication ${PG_REPLICATION.user} 127.0.0.1/32 scram-sha-256\n`,
    );
  }

  async function startNode(node: PgNode): Promise<void> {
    await asPgUser(`${PG_BIN}/pg_ctl`, [
      'start',
      '-D',
      node.dataDirectory,
      '-w',
      '-t',
      '60',
      '-l',
      `${node.dataDirectory}.dr-orchestrator.log`,
    ]);
  }

  async function rolesAndData(node: PgNode): Promise<void> {
    const c = await client(node.site);
    try {
      await c.query(
        `CREATE ROLE ${PG_REPLICATION.user} LOGIN REPLICATION PASSWORD '${PG_REPLICATION.password.replace(/'/g, "''")}'`,
      );
      await c.query(`CREATE ROLE ${PG_APP.user} LOGIN PASSWORD '${PG_APP.password}'`);
      await c.query(`CREATE DATABASE ${PG_APP.database} OWNER ${PG_APP.user}`);
    } finally {
      await c.end();
    }
    const app = await client(node.site, PG_APP);
    try {
      await app.query('CREATE TABLE writes (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
    } finally {
      await app.end();
    }
  }

  async function baseBackup(primary: PgNode, standby: PgNode): Promise<void> {
    await asPgUser(
      `${PG_BIN}/pg_basebackup`,
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(primary.port),
        '-U',
        PG_REPLICATION.user,
        '-D',
        standby.dataDirectory,
        '-R',
        '-X',
        'stream',
        '--checkpoint=fast',
        '--no-sync',
      ],
      { PGPASSWORD: PG_REPLICATION.password },
    );
    // The standby's own primary_conninfo (written last, so it wins over -R's): with its name, as the activities write it.
    const auto = path.join(standby.dataDirectory, 'postgresql.auto.conf');
    const conninfo = [
      `host=${conninfoValue('127.0.0.1')}`,
      `port=${primary.port}`,
      `user=${conninfoValue(PG_REPLICATION.user)}`,
      `password=${conninfoValue(PG_REPLICATION.password)}`,
      `application_name=${conninfoValue(standby.name)}`,
    ].join(' ');
    writeFileSync(auto, `${readFileSync(auto, 'utf8')}primary_conninfo = ${confString(conninfo)}\n`);
  }
}

function osIds(user: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no account ${user} in /etc/passwd`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * The activities over a runbook with this pair's postgresql section (MySQL is mandatory in a runbook: a stand-in);
 * `servers` overrides settings of a server by name (its port through a proxy, say), `name` names the pair.
 */
export function pgActivities(
  pair: ScratchPgPair,
  options: { name?: string; servers?: Record<string, Record<string, unknown>> } = {},
) {
  const name = options.name ?? `pg-${path.basename(pair.dir).slice(8).toLowerCase()}`;
  const section = {
    ...pair.section,
    servers: (pair.section.servers as { name: string }[]).map((s) => ({
      ...s,
      ...options.servers?.[s.name],
    })),
  };
  const runbook = {
    pair: name,
    sites: { primary: { name: 'gra' }, standby: { name: 'rbx' } },
    mysql: {
      user: 'unused',
      password: 'env:UNUSED_MYSQL_PASSWORD',
      replicationUser: 'unused',
      replicationPassword: 'env:UNUSED_MYSQL_PASSWORD',
      servers: [
        { name: 'db-gra-1', site: 'gra', host: '127.0.0.1', port: 1, role: 'primary' },
        { name: 'db-rbx-1', site: 'rbx', host: '127.0.0.1', port: 2, role: 'replica' },
      ],
    },
    postgresql: section,
    approval: { policy: 'auto', approvers: [TEST_APPROVER_LINE] },
  };
  const file = path.join(pair.dir, `runbook-${name}.yaml`);
  writeFileSync(file, stringify(runbook));
  const clients: ActivityClients = createClients(loadRunbooks([file]));
  const activities = createActivities(clients);
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const act = <K extends keyof typeof activities>(key: K, ...args: Parameters<(typeof activities)[K]>) =>
    runActivity(env, activities[key] as (...a: unknown[]) => Promise<unknown>, ...args) as ReturnType<
      (typeof activities)[K]
    >;
  return { pair: name, act, clients, env };
}

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureDebianPackages, STACK_PACKAGES } from '../../tools/debian-packages';
import {
  assertPortsFree,
  logFile,
  portOpen,
  runningPid,
  sleep,
  startDaemon,
  stopDaemon,
  waitFor,
} from '../daemon';
import { stackDir, stackPort, type PortName } from '../settings';
import type { ServiceStatus, StackService } from '../service';

const run = promisify(execFile);

/** The MariaDB servers of the local DR pair; the first is the initial primary, the others replicate from it. */
export const MARIADB_INSTANCES: { name: string; port: PortName; serverId: number }[] = [
  { name: 'db-gra-1', port: 'MYSQL_GRA', serverId: 1 },
  { name: 'db-rbx-1', port: 'MYSQL_RBX', serverId: 2 },
];

/** Accounts the stack creates; their passwords are generated into `.stack/secrets/<file>`. */
export const MARIADB_ACCOUNTS = {
  orchestrator: { user: 'dr_orchestrator', secretFile: 'mysql-orchestrator.password' },
  replication: { user: 'dr_repl', secretFile: 'mysql-replication.password' },
  app: { user: 'app', secretFile: 'mysql-app.password' },
} as const;

export const APP_DATABASE = 'app';

function secret(file: string): string {
  const dir = path.join(stackDir(), 'secrets');
  const full = path.join(dir, file);
  if (!existsSync(full)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(full, randomBytes(18).toString('base64url') + '\n', { mode: 0o600 });
  }
  return readFileSync(full, 'utf8').trim();
}

const sqlString = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function instanceDirs(name: string) {
  const base = path.join(stackDir(), 'mariadb', name);
  return {
    base,
    data: path.join(base, 'data'),
    socket: path.join(base, 'mariadbd.sock'),
    config: path.join(base, 'my.cnf'),
    roleConfig: path.join(base, 'role.cnf'),
  };
}

/** Runs SQL as the local administrator (unix-socket authentication of the OS user). */
export async function adminSql(instance: string, sql: string): Promise<string[][]> {
  const user = process.getuid?.() === 0 ? 'root' : os.userInfo().username;
  const { stdout } = await run('mariadb', [
    '--socket',
    instanceDirs(instance).socket,
    '-u',
    user,
    '--batch',
    '--skip-column-names',
    '-e',
    sql,
  ]);
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t'));
}

function writeConfig(instance: (typeof MARIADB_INSTANCES)[number]): void {
  const dirs = instanceDirs(instance.name);
  writeFileSync(
    dirs.config,
    [
      '[mariadbd]',
      `datadir=${dirs.data}`,
      `socket=${dirs.socket}`,
      `pid-file=${path.join(dirs.base, 'mariadbd.pid')}`,
      `log-error=${path.join(dirs.base, 'error.log')}`,
      `port=${stackPort(instance.port)}`,
      'bind-address=127.0.0.1',
      'skip-name-resolve',
      `server_id=${instance.serverId}`,
      'log_bin=mariadb-bin',
      'binlog_format=ROW',
      'log_slave_updates=ON',
      'gtid_strict_mode=ON',
      'relay_log=relay-bin',
      'innodb_buffer_pool_size=64M',
      'max_connections=200',
      // Written once at bootstrap: replicas come back read-only after a restart.
      `!include ${dirs.roleConfig}`,
      '',
    ].join('\n'),
  );
  if (!existsSync(dirs.roleConfig)) writeFileSync(dirs.roleConfig, '[mariadbd]\n');
}

async function startInstance(
  instance: (typeof MARIADB_INSTANCES)[number],
  log: (line: string) => void,
): Promise<void> {
  const dirs = instanceDirs(instance.name);
  const spec = { name: 'mariadbd', runDir: dirs.base };
  if (runningPid(spec) !== undefined) return;
  const port = stackPort(instance.port);
  await assertPortsFree(`mariadb ${instance.name}`, [{ name: instance.port, port }]);
  mkdirSync(dirs.base, { recursive: true });
  writeConfig(instance);
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  if (!existsSync(path.join(dirs.data, 'mysql'))) {
    log(`mariadb ${instance.name}: initialising ${dirs.data}`);
    await run('mariadb-install-db', [
      `--defaults-file=${dirs.config}`,
      ...asRoot,
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
    ]);
  }
  startDaemon({ ...spec, command: 'mariadbd', args: [`--defaults-file=${dirs.config}`, ...asRoot] });
  await waitFor(`mariadb ${instance.name}`, () => portOpen(port), 60_000, path.join(dirs.base, 'error.log'));
}

async function bootstrapReplication(log: (line: string) => void): Promise<void> {
  const marker = path.join(stackDir(), 'mariadb', 'bootstrapped');
  if (existsSync(marker)) return;
  const [primary, ...replicas] = MARIADB_INSTANCES;
  if (!primary) throw new Error('no MariaDB instance defined');
  const { orchestrator, replication, app } = MARIADB_ACCOUNTS;
  log(`mariadb: creating accounts and the ${APP_DATABASE} database on ${primary.name}`);
  await adminSql(
    primary.name,
    [
      `CREATE USER IF NOT EXISTS ${sqlString(replication.user)}@'%' IDENTIFIED BY ${sqlString(secret(replication.secretFile))}`,
      `GRANT REPLICATION SLAVE ON *.* TO ${sqlString(replication.user)}@'%'`,
      `CREATE USER IF NOT EXISTS ${sqlString(orchestrator.user)}@'%' IDENTIFIED BY ${sqlString(secret(orchestrator.secretFile))}`,
      `GRANT ALL PRIVILEGES ON *.* TO ${sqlString(orchestrator.user)}@'%' WITH GRANT OPTION`,
      `CREATE DATABASE IF NOT EXISTS ${APP_DATABASE}`,
      `CREATE USER IF NOT EXISTS ${sqlString(app.user)}@'%' IDENTIFIED BY ${sqlString(secret(app.secretFile))}`,
      `GRANT ALL PRIVILEGES ON ${APP_DATABASE}.* TO ${sqlString(app.user)}@'%'`,
      `CREATE TABLE IF NOT EXISTS ${APP_DATABASE}.stack_check (id INT AUTO_INCREMENT PRIMARY KEY, token VARCHAR(64) NOT NULL, at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6))`,
    ].join(';\n'),
  );
  for (const replica of replicas) {
    log(`mariadb: ${replica.name} replicates from ${primary.name} with GTID (read-only)`);
    writeFileSync(instanceDirs(replica.name).roleConfig, '[mariadbd]\nread_only=ON\n');
    await adminSql(
      replica.name,
      [
        'STOP SLAVE',
        `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${stackPort(primary.port)}, ` +
          `MASTER_USER=${sqlString(replication.user)}, MASTER_PASSWORD=${sqlString(secret(replication.secretFile))}, ` +
          'MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1',
        'SET GLOBAL read_only=ON',
        'START SLAVE',
      ].join(';\n'),
    );
  }
  writeFileSync(marker, new Date().toISOString() + '\n');
}

/** The writable server without a replication source, and the servers replicating. */
async function currentTopology(): Promise<{ primary?: string; replicas: string[] }> {
  const replicas: string[] = [];
  let primary: string | undefined;
  for (const { name } of MARIADB_INSTANCES) {
    const [[readOnly] = []] = await adminSql(name, 'SELECT @@global.read_only');
    const slave = await adminSql(name, 'SHOW SLAVE STATUS');
    if (slave.length > 0) replicas.push(name);
    else if (readOnly === '0') primary = name;
  }
  return { primary, replicas };
}

/** Writes a row on the primary and waits until every replica has it. */
async function checkReplication(): Promise<string> {
  const { primary, replicas } = await currentTopology();
  if (!primary)
    throw new Error(
      'mariadb: no writable primary found among ' + MARIADB_INSTANCES.map((i) => i.name).join(', '),
    );
  const token = randomBytes(8).toString('hex');
  await adminSql(primary, `INSERT INTO ${APP_DATABASE}.stack_check (token) VALUES ('${token}')`);
  for (const replica of replicas) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const rows = await adminSql(
        replica,
        `SELECT COUNT(*) FROM ${APP_DATABASE}.stack_check WHERE token='${token}'`,
      );
      if (rows[0]?.[0] === '1') break;
      if (Date.now() > deadline) {
        const status = await adminSql(replica, 'SHOW SLAVE STATUS');
        throw new Error(
          `mariadb: a row written on ${primary} did not reach ${replica} within 20s (${status.length ? 'replication configured' : 'no replication'})`,
        );
      }
      await sleep(100);
    }
  }
  return `row written on ${primary} read on ${replicas.join(', ') || 'no replica'}`;
}

export function mariadbPair(log: (line: string) => void): StackService {
  return {
    name: 'mariadb',
    async up() {
      ensureDebianPackages(STACK_PACKAGES, log);
      for (const instance of MARIADB_INSTANCES) await startInstance(instance, log);
      await bootstrapReplication(log);
      log(`mariadb: replication check: ${await checkReplication()}`);
    },
    async status(): Promise<ServiceStatus> {
      const pids = MARIADB_INSTANCES.map((i) =>
        runningPid({ name: 'mariadbd', runDir: instanceDirs(i.name).base }),
      );
      const running = pids.every((p) => p !== undefined);
      let detail: string | undefined;
      if (running) {
        const { primary, replicas } = await currentTopology().catch(() => ({
          primary: undefined,
          replicas: [] as string[],
        }));
        detail = `primary ${primary ?? 'none'}; replicas ${replicas.join(', ') || 'none'}`;
      } else {
        const down = MARIADB_INSTANCES.filter((_, i) => pids[i] === undefined).map((i) => i.name);
        detail = `not running: ${down.join(', ')}`;
      }
      return {
        name: 'mariadb',
        running,
        pids: pids.filter((p): p is number => p !== undefined),
        endpoints: MARIADB_INSTANCES.map((i) => `${i.name} 127.0.0.1:${stackPort(i.port)}`),
        detail,
      };
    },
    async down() {
      for (const instance of [...MARIADB_INSTANCES].reverse()) {
        await stopDaemon({ name: 'mariadbd', runDir: instanceDirs(instance.name).base }, 60_000);
      }
    },
  };
}

export { logFile };

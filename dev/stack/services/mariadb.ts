import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureDebianPackages, STACK_PACKAGES } from '../../tools/debian-packages';
import {
  allSettledOrThrow,
  assertPortsFree,
  freePort,
  portOpen,
  runningPid,
  sleep,
  startDaemon,
  stopDaemon,
  waitFor,
} from '../daemon';
import { stackDir, stackPort, type PortName } from '../settings';
import type { ServiceStatus, StackService } from '../service';
import { planRoles, type ObservedServer } from './mariadb-topology';

const run = promisify(execFile);

/** The MariaDB servers of the local DR pair; the first is the initial primary, the others replicate from it. */
export const MARIADB_INSTANCES: { name: string; port: PortName; serverId: number }[] = [
  { name: 'db-gra-1', port: 'MYSQL_GRA', serverId: 1 },
  { name: 'db-rbx-1', port: 'MYSQL_RBX', serverId: 2 },
  { name: 'db-rbx-2', port: 'MYSQL_RBX2', serverId: 3 },
];

/** Accounts the stack creates; their passwords are generated into `.stack/secrets/<file>`. */
export const MARIADB_ACCOUNTS = {
  orchestrator: { user: 'dr_orchestrator', secretFile: 'mysql-orchestrator.password' },
  replication: { user: 'dr_repl', secretFile: 'mysql-replication.password' },
  app: { user: 'app', secretFile: 'mysql-app.password' },
} as const;

export const APP_DATABASE = 'app';

/** Only the MariaDB programs (scratch clusters need nothing else of the stack). */
const MARIADB_PACKAGES = STACK_PACKAGES.filter((t) => t.pkg.startsWith('mariadb-'));

/** One server of a MariaDB GTID cluster. */
export interface MariadbInstanceSpec {
  name: string;
  port: number;
  serverId: number;
  /** The DR_STACK_PORT_<name> variable that moves this port, named when the port is taken. */
  portVariable?: string;
  /** Extra `[mariadbd]` lines of this server only (after the cluster's), e.g. `log_slave_updates=OFF`. */
  extraConfig?: string[];
}

/** Everything needed to build a MariaDB GTID cluster: where it lives, its servers, where the passwords are. */
export interface MariadbClusterSpec {
  /** Shown in logs and errors, e.g. "mariadb" or "scratch mariadb 1a2b". */
  label: string;
  /** Holds one folder per instance (data, socket, config, logs, pid) and the bootstrap marker. */
  dir: string;
  /** Folder of the generated account passwords, `<secretsDir>/<MARIADB_ACCOUNTS[*].secretFile>`. */
  secretsDir: string;
  /** The first is the initial primary; the others become read-only GTID replicas of it. */
  instances: MariadbInstanceSpec[];
  /** Extra `[mariadbd]` lines, e.g. a smaller InnoDB log for throw-away clusters. */
  extraConfig?: string[];
  /** Where new servers' data folders are copied from (initialised once, with `extraConfig`); unset: install-db. */
  dataTemplate?: string;
}

/** mariadbd refuses to run as root unless told to. */
const asRoot = (): string[] => (process.getuid?.() === 0 ? ['--user=root'] : []);

/** Runs mariadb-install-db on the data folder of a `[mariadbd]` config; its output goes to `logFile` on failure. */
async function installDb(config: string, logFile: string, label: string): Promise<void> {
  await run('mariadb-install-db', [
    `--defaults-file=${config}`,
    ...asRoot(),
    '--auth-root-authentication-method=socket',
    '--skip-test-db',
  ]).catch((err: { stderr?: string; stdout?: string; message: string }) => {
    const output = `${err.stdout ?? ''}\n${err.stderr ?? ''}`;
    writeFileSync(logFile, output);
    const errors = output.split('\n').filter((l) => /\[ERROR\]|error/i.test(l));
    throw new Error(
      `${label}: mariadb-install-db failed: ${errors.slice(0, 5).join(' | ') || err.message} (see ${logFile})`,
    );
  });
}

/**
 * Drops the `sys` schema (about a hundred view definitions, unused by the orchestrator and its tests) from a
 * template: it is half the files of a new data folder, and here creating a file costs more than copying its bytes,
 * so each scratch server starts from half as many.
 */
async function dropSysSchema(config: string): Promise<void> {
  const pending = run('mariadbd', [`--defaults-file=${config}`, ...asRoot(), '--bootstrap']);
  pending.child.stdin?.end('DROP DATABASE sys;\n');
  await pending.catch((err: { stderr?: string; message: string }) => {
    const errors = (err.stderr ?? '').split('\n').filter((l) => /\[ERROR\]/.test(l));
    throw new Error(`mariadb data template: dropping the sys schema failed: ${errors[0] ?? err.message}`);
  });
}

/** What `initialisedTemplate` does to a new data folder, part of its key: a change makes a new template. */
const TEMPLATE_RECIPE = 'mariadb-install-db --skip-test-db; DROP DATABASE sys';

/**
 * The data folder of a freshly initialised server under `root`, made once per server configuration. Concurrent
 * callers (test processes) each build in a folder of their own and rename it into place: the first rename wins,
 * the others use the winner's.
 */
async function initialisedTemplate(
  root: string,
  config: string[],
  log: (line: string) => void,
): Promise<string> {
  const key = createHash('sha256')
    .update([TEMPLATE_RECIPE, ...config].join('\n'))
    .digest('hex')
    .slice(0, 12);
  const dir = path.join(root, key);
  const data = path.join(dir, 'data');
  if (existsSync(data)) return data;
  const building = `${dir}.${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(path.join(building, 'tmp'), { recursive: true });
  const cnf = path.join(building, 'my.cnf');
  writeFileSync(
    cnf,
    [
      '[mariadbd]',
      `datadir=${path.join(building, 'data')}`,
      `socket=${path.join(building, 'mariadbd.sock')}`,
      `tmpdir=${path.join(building, 'tmp')}`,
      ...config,
      '',
    ].join('\n'),
  );
  log(`initialising a MariaDB data template in ${dir}`);
  try {
    await installDb(cnf, path.join(building, 'install-db.log'), 'mariadb data template');
    await dropSysSchema(cnf);
    renameSync(building, dir);
  } catch (err) {
    rmSync(building, { recursive: true, force: true });
    if (!existsSync(data)) throw err; // another process's rename won: use its template
  }
  return data;
}

const sqlString = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * A MariaDB GTID cluster built from a parameter set. The stack uses one for its trio; destructive tests
 * build their own scratch clusters (see `createScratchCluster`) so they never break the shared one.
 */
export class MariadbCluster {
  constructor(
    readonly spec: MariadbClusterSpec,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  get names(): string[] {
    return this.spec.instances.map((i) => i.name);
  }

  instance(name: string): MariadbInstanceSpec {
    const found = this.spec.instances.find((i) => i.name === name);
    if (!found) throw new Error(`${this.spec.label}: no instance "${name}" (have ${this.names.join(', ')})`);
    return found;
  }

  dirs(name: string) {
    const base = path.join(this.spec.dir, name);
    return {
      base,
      data: path.join(base, 'data'),
      socket: path.join(base, 'mariadbd.sock'),
      config: path.join(base, 'my.cnf'),
      roleConfig: path.join(base, 'role.cnf'),
      errorLog: path.join(base, 'error.log'),
      tmp: path.join(base, 'tmp'),
      replicationMarker: path.join(base, 'replication.configured'),
    };
  }

  private daemon(name: string) {
    return { name: 'mariadbd', runDir: this.dirs(name).base };
  }

  secret(file: string): string {
    const full = path.join(this.spec.secretsDir, file);
    if (!existsSync(full)) {
      mkdirSync(this.spec.secretsDir, { recursive: true, mode: 0o700 });
      writeFileSync(full, randomBytes(18).toString('base64url') + '\n', { mode: 0o600 });
    }
    return readFileSync(full, 'utf8').trim();
  }

  pid(name: string): number | undefined {
    return runningPid(this.daemon(name));
  }

  /**
   * Runs SQL as the local administrator (unix-socket authentication of the OS user). The SQL goes through the
   * client's stdin, never its command line, which any local user can read (ps, /proc/<pid>/cmdline).
   */
  async sql(name: string, sql: string): Promise<string[][]> {
    return (await this.client(name, sql, ['--skip-column-names'])).map((line) => line.split('\t'));
  }

  /** The rows of one statement's result, each by column name. */
  async records(name: string, sql: string): Promise<Record<string, string>[]> {
    const [header, ...rows] = (await this.client(name, sql, [])).map((line) => line.split('\t'));
    return rows.map((row) => Object.fromEntries((header ?? []).map((column, i) => [column, row[i] ?? ''])));
  }

  /** The client's non-empty output lines (batch mode: tab-separated columns). */
  private async client(name: string, sql: string, options: string[]): Promise<string[]> {
    const user = process.getuid?.() === 0 ? 'root' : os.userInfo().username;
    const pending = run('mariadb', ['--socket', this.dirs(name).socket, '-u', user, '--batch', ...options]);
    pending.child.stdin?.end(sql);
    const { stdout } = await pending;
    return stdout.split('\n').filter((line) => line !== '');
  }

  private writeConfig(instance: MariadbInstanceSpec): void {
    const dirs = this.dirs(instance.name);
    mkdirSync(dirs.tmp, { recursive: true });
    writeFileSync(
      dirs.config,
      [
        '[mariadbd]',
        `datadir=${dirs.data}`,
        `socket=${dirs.socket}`,
        `pid-file=${path.join(dirs.base, 'mariadbd.pid')}`,
        `log-error=${dirs.errorLog}`,
        // Its own temporary folder: concurrent bootstraps sharing /tmp were seen to lose their temporary tables.
        `tmpdir=${dirs.tmp}`,
        `port=${instance.port}`,
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
        ...(this.spec.extraConfig ?? []),
        ...(instance.extraConfig ?? []),
        // Written when the role is set: replicas come back read-only after a restart.
        `!include ${dirs.roleConfig}`,
        '',
      ].join('\n'),
    );
    if (!existsSync(dirs.roleConfig)) writeFileSync(dirs.roleConfig, '[mariadbd]\n');
  }

  /** Whether the instance comes back read-only after a (re)start. */
  setStartReadOnly(name: string, readOnly: boolean): void {
    mkdirSync(this.dirs(name).base, { recursive: true });
    writeFileSync(this.dirs(name).roleConfig, `[mariadbd]\n${readOnly ? 'read_only=ON\n' : ''}`);
  }

  /** Initialises (first time) and starts one instance; harmless when it already runs. */
  async start(name: string, options: { readOnly?: boolean } = {}): Promise<void> {
    const instance = this.instance(name);
    const dirs = this.dirs(name);
    if (this.pid(name) !== undefined) return;
    if (instance.portVariable) {
      await assertPortsFree(`${this.spec.label} ${name}`, [
        { name: instance.portVariable, port: instance.port },
      ]);
    } else if (await portOpen(instance.port)) {
      throw new Error(`${this.spec.label} ${name}: port ${instance.port} is already in use`);
    }
    mkdirSync(dirs.base, { recursive: true });
    if (options.readOnly !== undefined) this.setStartReadOnly(name, options.readOnly);
    this.writeConfig(instance);
    if (!existsSync(path.join(dirs.data, 'mysql'))) await this.initialise(name);
    startDaemon({
      ...this.daemon(name),
      command: 'mariadbd',
      args: [`--defaults-file=${dirs.config}`, ...asRoot()],
    });
    await waitFor(`${this.spec.label} ${name}`, () => portOpen(instance.port), 60_000, dirs.errorLog);
  }

  /**
   * A new data folder: a copy of the cluster's initialised template when it has one (scratch clusters: one
   * mariadb-install-db per stack folder instead of one per server), else mariadb-install-db for this server.
   */
  private async initialise(name: string): Promise<void> {
    const dirs = this.dirs(name);
    if (this.spec.dataTemplate) {
      // Only the InnoDB settings shape a new data folder (its log and system tablespace).
      const innodb = (this.spec.extraConfig ?? []).filter((line) => line.startsWith('innodb_'));
      const template = await initialisedTemplate(this.spec.dataTemplate, innodb, this.log);
      cpSync(template, dirs.data, { recursive: true });
      return;
    }
    this.log(`${this.spec.label} ${name}: initialising ${dirs.data}`);
    await installDb(dirs.config, path.join(dirs.base, 'install-db.log'), `${this.spec.label} ${name}`);
  }

  /** Stops one instance: SIGTERM (clean shutdown), SIGKILL after the grace period. */
  async stop(name: string, graceMs = 60_000): Promise<void> {
    await stopDaemon(this.daemon(name), graceMs);
  }

  /** Kills one instance at once (a crash: no clean shutdown) and waits until the process is gone. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = this.pid(name);
    if (pid === undefined) return;
    process.kill(pid, signal);
    const deadline = Date.now() + 30_000;
    while (this.pid(name) !== undefined) {
      if (Date.now() > deadline) throw new Error(`${this.spec.label} ${name}: pid ${pid} survived ${signal}`);
      await sleep(20);
    }
    rmSync(path.join(this.dirs(name).base, 'mariadbd.pid'), { force: true });
  }

  /**
   * The accounts on every server, out of the binlog (sql_log_bin=0: a password never travels in replication and
   * no server gets a transaction of its own), then the app database on the primary (once, replicated), then
   * replication on every replica not yet configured.
   */
  private async bootstrap(): Promise<void> {
    const [first] = this.spec.instances;
    if (!first) throw new Error(`${this.spec.label}: no instance defined`);
    const { orchestrator, replication, app } = MARIADB_ACCOUNTS;
    for (const instance of this.spec.instances) {
      const marker = path.join(this.dirs(instance.name).base, 'accounts.created');
      if (existsSync(marker)) continue;
      this.log(`${this.spec.label}: creating accounts on ${instance.name}`);
      await this.sql(
        instance.name,
        [
          'SET SESSION sql_log_bin=0',
          `CREATE USER IF NOT EXISTS ${sqlString(replication.user)}@'%' IDENTIFIED BY ${sqlString(this.secret(replication.secretFile))}`,
          `GRANT REPLICATION SLAVE ON *.* TO ${sqlString(replication.user)}@'%'`,
          `CREATE USER IF NOT EXISTS ${sqlString(orchestrator.user)}@'%' IDENTIFIED BY ${sqlString(this.secret(orchestrator.secretFile))}`,
          `GRANT ALL PRIVILEGES ON *.* TO ${sqlString(orchestrator.user)}@'%' WITH GRANT OPTION`,
          `CREATE USER IF NOT EXISTS ${sqlString(app.user)}@'%' IDENTIFIED BY ${sqlString(this.secret(app.secretFile))}`,
          `GRANT ALL PRIVILEGES ON ${APP_DATABASE}.* TO ${sqlString(app.user)}@'%'`,
        ].join(';\n'),
      );
      writeFileSync(marker, new Date().toISOString() + '\n');
    }
    const marker = path.join(this.spec.dir, 'bootstrapped');
    if (!existsSync(marker)) {
      this.log(`${this.spec.label}: creating the ${APP_DATABASE} database on ${first.name}`);
      await this.sql(
        first.name,
        [
          `CREATE DATABASE IF NOT EXISTS ${APP_DATABASE}`,
          `CREATE TABLE IF NOT EXISTS ${APP_DATABASE}.stack_check (id INT AUTO_INCREMENT PRIMARY KEY, token VARCHAR(64) NOT NULL, at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6))`,
        ].join(';\n'),
      );
      writeFileSync(marker, new Date().toISOString() + '\n');
    }
    const pending = this.spec.instances
      .slice(1)
      .filter((i) => !existsSync(this.dirs(i.name).replicationMarker));
    if (pending.length === 0) return;
    // A replica added later (e.g. db-rbx-2 on an existing stack) follows whoever is the primary now.
    const settled = this.names.filter((name) => !pending.some((p) => p.name === name));
    const primaryName = (await this.topology(settled)).primary ?? first.name;
    const primary = this.instance(primaryName);
    for (const replica of pending) {
      const dirs = this.dirs(replica.name);
      if ((await this.sql(replica.name, 'SHOW SLAVE STATUS')).length > 0) {
        // Configured by an earlier version of the stack manager (one marker for the whole cluster).
        writeFileSync(dirs.replicationMarker, new Date().toISOString() + '\n');
        continue;
      }
      this.log(`${this.spec.label}: ${replica.name} replicates from ${primary.name} with GTID (read-only)`);
      this.setStartReadOnly(replica.name, true);
      await this.sql(
        replica.name,
        [
          'STOP SLAVE',
          `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, ` +
            `MASTER_USER=${sqlString(replication.user)}, MASTER_PASSWORD=${sqlString(this.secret(replication.secretFile))}, ` +
            'MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1',
          'SET GLOBAL read_only=ON',
          'START SLAVE',
        ].join(';\n'),
      );
      writeFileSync(dirs.replicationMarker, new Date().toISOString() + '\n');
    }
  }

  /**
   * The writable server without a replication source, the servers replicating, and the read-only ones replicating
   * from nobody, e.g. an old primary a move fenced (running instances only).
   */
  async topology(
    names = this.names,
  ): Promise<{ primary?: string; replicas: string[]; standalone: string[] }> {
    const replicas: string[] = [];
    const standalone: string[] = [];
    let primary: string | undefined;
    for (const name of names) {
      if (this.pid(name) === undefined) continue;
      const [[readOnly] = []] = await this.sql(name, 'SELECT @@global.read_only');
      const slave = await this.sql(name, 'SHOW SLAVE STATUS');
      if (slave.length > 0) replicas.push(name);
      else if (readOnly === '0') primary = name;
      else standalone.push(name);
    }
    return { primary, replicas, standalone };
  }

  /** Each running server's read_only flag and the port it replicates from. */
  async observe(): Promise<ObservedServer[]> {
    const running = this.names.filter((name) => this.pid(name) !== undefined);
    return Promise.all(
      running.map(async (name) => {
        const [[readOnly] = []] = await this.sql(name, 'SELECT @@global.read_only');
        const [source] = await this.records(name, 'SHOW SLAVE STATUS');
        return {
          name,
          readOnly: readOnly !== '0',
          ...(source ? { sourcePort: Number(source.Master_Port) } : {}),
        };
      }),
    );
  }

  /** Written by a `down` that recorded every server's role before stopping it; removed by the next `up`. */
  private get rolesRecorded(): string {
    return path.join(this.spec.dir, 'roles.recorded');
  }

  /**
   * Gives the servers this `up` restarted their roles (see planRoles) and says so when the topology is not the
   * initial one: every other server read-only first, then the primary writable (a promoted server restarts
   * read-only, as its configuration says), each configured to restart in that role.
   */
  private async keepTopology(recordedAtStop: boolean): Promise<void> {
    // A replica not configured yet (added to an existing cluster) is bootstrap's to set up, not a fenced server.
    const settled = (name: string) => name === this.names[0] || existsSync(this.dirs(name).replicationMarker);
    const observed = (await this.observe()).filter((s) => settled(s.name));
    const ports = new Map(this.spec.instances.map((i) => [i.port, i.name]));
    const plan = planRoles(this.spec.label, observed, ports, this.names[0]!, recordedAtStop);
    if (!plan) return;
    const readOnly = new Map(observed.map((s) => [s.name, s.readOnly]));
    for (const name of plan.readOnly) {
      this.setStartReadOnly(name, true);
      if (!readOnly.get(name)) await this.sql(name, 'SET GLOBAL read_only=ON');
    }
    if (plan.writable) {
      this.setStartReadOnly(plan.writable, false);
      if (readOnly.get(plan.writable)) await this.sql(plan.writable, 'SET GLOBAL read_only=OFF');
    }
    if (plan.sentence) this.log(plan.sentence);
  }

  /**
   * Configures every running server to restart in the role it has now (read-only or writable); true when that
   * was every server of the cluster.
   */
  private async rememberRoles(): Promise<boolean> {
    const running = await this.observe();
    for (const server of running) this.setStartReadOnly(server.name, server.readOnly);
    return running.length === this.names.length;
  }

  /** Writes a row on the primary and waits until every replica has it. */
  async checkReplication(timeoutMs = 20_000): Promise<string> {
    const { primary, replicas } = await this.topology();
    if (!primary)
      throw new Error(`${this.spec.label}: no writable primary found among ${this.names.join(', ')}`);
    const token = randomBytes(8).toString('hex');
    await this.sql(primary, `INSERT INTO ${APP_DATABASE}.stack_check (token) VALUES ('${token}')`);
    for (const replica of replicas) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rows = await this.sql(
          replica,
          `SELECT COUNT(*) FROM ${APP_DATABASE}.stack_check WHERE token='${token}'`,
        );
        if (rows[0]?.[0] === '1') break;
        if (Date.now() > deadline) {
          const status = await this.sql(replica, 'SHOW SLAVE STATUS');
          throw new Error(
            `${this.spec.label}: a row written on ${primary} did not reach ${replica} within ${timeoutMs / 1000}s ` +
              `(${status.length ? 'replication configured' : 'no replication'})`,
          );
        }
        await sleep(50);
      }
    }
    return `row written on ${primary} read on ${replicas.join(', ') || 'no replica'}`;
  }

  /** Starts every instance (initialising the missing ones), sets up replication, checks it. Idempotent. */
  async up(): Promise<void> {
    ensureDebianPackages(MARIADB_PACKAGES, this.log);
    const stopped = this.names.filter((name) => this.pid(name) === undefined);
    await allSettledOrThrow(this.names.map((name) => this.start(name)));
    // Servers that kept running keep their roles: a move may be changing them right now.
    if (stopped.length > 0)
      await this.keepTopology(existsSync(this.rolesRecorded) && stopped.length === this.names.length);
    rmSync(this.rolesRecorded, { force: true });
    await this.bootstrap();
    this.log(`${this.spec.label}: replication check: ${await this.checkReplication()}`);
  }

  async status(): Promise<ServiceStatus> {
    const pids = this.names.map((name) => this.pid(name));
    const running = pids.every((p) => p !== undefined);
    let detail: string | undefined;
    if (running) {
      const { primary, replicas, standalone } = await this.topology().catch(() => ({
        primary: undefined,
        replicas: [] as string[],
        standalone: [] as string[],
      }));
      const [[version] = []] = await this.sql(this.names[0]!, 'SELECT VERSION()').catch(() => [
        ['version unknown'],
      ]);
      detail =
        `${version}; primary ${primary ?? 'none'}; replicas ${replicas.join(', ') || 'none'}` +
        (standalone.length > 0 ? `; read-only, replicating from nobody: ${standalone.join(', ')}` : '');
    } else {
      detail = `not running: ${this.names.filter((_, i) => pids[i] === undefined).join(', ')}`;
    }
    return {
      name: 'mariadb',
      running,
      pids: pids.filter((p): p is number => p !== undefined),
      endpoints: this.spec.instances.map((i) => `${i.name} 127.0.0.1:${i.port}`),
      detail,
    };
  }

  /**
   * Stops every instance cleanly; harmless when nothing runs. Each is first configured to restart in the role
   * it has (a move changes roles at run time only); a server that does not answer keeps its configuration.
   */
  async down(): Promise<void> {
    rmSync(this.rolesRecorded, { force: true });
    const recorded = await this.rememberRoles().catch((err: Error) => {
      this.log(`${this.spec.label}: roles not recorded before the stop: ${err.message}`);
      return false;
    });
    for (const name of [...this.names].reverse()) await this.stop(name);
    if (recorded) writeFileSync(this.rolesRecorded, new Date().toISOString() + '\n');
  }

  /**
   * Stops every instance and deletes its data (the generated passwords are kept): the next `up` builds the
   * initial topology again, the first server primary and the others its replicas.
   */
  async reset(): Promise<void> {
    await this.down();
    for (const name of this.names) rmSync(this.dirs(name).base, { recursive: true, force: true });
    rmSync(path.join(this.spec.dir, 'bootstrapped'), { force: true });
    rmSync(this.rolesRecorded, { force: true });
  }

  /** Kills every instance and deletes the cluster's folder (scratch clusters only). */
  async destroy(): Promise<void> {
    await Promise.all(this.names.map((name) => this.kill(name)));
    rmSync(this.spec.dir, { recursive: true, force: true });
  }
}

/** The stack's own cluster: db-gra-1 primary, db-rbx-1 and db-rbx-2 replicas, under `.stack/mariadb`. */
export function stackMariadbCluster(log?: (line: string) => void): MariadbCluster {
  return new MariadbCluster(
    {
      label: 'mariadb',
      dir: path.join(stackDir(), 'mariadb'),
      secretsDir: path.join(stackDir(), 'secrets'),
      instances: MARIADB_INSTANCES.map((i) => ({
        name: i.name,
        port: stackPort(i.port),
        serverId: i.serverId,
        portVariable: i.port,
      })),
    },
    log,
  );
}

/** Runs SQL as the local administrator on one instance of the stack's cluster. */
export function adminSql(instance: string, sql: string): Promise<string[][]> {
  return stackMariadbCluster().sql(instance, sql);
}

export const scratchRoot = () => path.join(stackDir(), 'scratch');

/**
 * Throw-away servers: small memory, and the InnoDB log written to the OS at each commit but flushed to disk once a
 * second. Tests kill mariadbd, never the machine, and a killed process loses nothing the OS already holds; the
 * saved fsyncs are most of the disk and kernel time of a suite that starts dozens of these servers.
 */
const SCRATCH_CONFIG = [
  'innodb_log_file_size=8M',
  'innodb_buffer_pool_size=32M',
  'innodb_flush_log_at_trx_commit=2',
  'sync_binlog=0',
];

/**
 * Builds (does not start) a throw-away cluster under `.stack/scratch/<id>` on free ports, with the stack's
 * account passwords, for tests that kill or promote servers. Call `up()`, then `destroy()` when done.
 * `dir` and `secretsDir` put it (and its generated passwords) elsewhere, e.g. in a test's own folder.
 */
export async function createScratchCluster(
  options: {
    names?: string[];
    id?: string;
    log?: (line: string) => void;
    /** Extra `[mariadbd]` lines for every server (e.g. TLS certificates). */
    extraConfig?: string[];
    /** Extra `[mariadbd]` lines per server name. */
    instanceConfig?: Record<string, string[]>;
    dir?: string;
    secretsDir?: string;
  } = {},
): Promise<MariadbCluster> {
  const names = options.names ?? MARIADB_INSTANCES.map((i) => i.name);
  const id = options.id ?? `mariadb-${randomBytes(4).toString('hex')}`;
  await cleanScratchLeftovers({ olderThanMs: 60 * 60_000 });
  const ports: number[] = [];
  while (ports.length < names.length) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return new MariadbCluster(
    {
      label: `scratch ${id}`,
      dir: options.dir ?? path.join(scratchRoot(), id),
      secretsDir: options.secretsDir ?? path.join(stackDir(), 'secrets'),
      instances: names.map((name, i) => ({
        name,
        port: ports[i] as number,
        serverId: i + 1,
        extraConfig: options.instanceConfig?.[name],
      })),
      extraConfig: [...SCRATCH_CONFIG, ...(options.extraConfig ?? [])],
      dataTemplate: path.join(stackDir(), 'mariadb-templates'),
    },
    options.log,
  );
}

/** Kills the mariadbd processes of scratch clusters left behind (e.g. by an interrupted test) and deletes them. */
export async function cleanScratchLeftovers(
  options: { olderThanMs?: number; ids?: string[] } = {},
): Promise<string[]> {
  const root = scratchRoot();
  if (!existsSync(root)) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(root)) {
    if (options.ids && !options.ids.includes(entry)) continue;
    const dir = path.join(root, entry);
    let daemons: { name: string; runDir: string }[];
    try {
      if (options.olderThanMs !== undefined && Date.now() - statSync(dir).mtimeMs < options.olderThanMs)
        continue;
      daemons = readdirSync(dir).map((instance) => ({ name: 'mariadbd', runDir: path.join(dir, instance) }));
    } catch {
      continue; // removed meanwhile (e.g. by the test that owned it)
    }
    for (const daemon of daemons) {
      const pid = runningPid(daemon);
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      const deadline = Date.now() + 10_000;
      while (runningPid(daemon) !== undefined && Date.now() < deadline) await sleep(20);
    }
    rmSync(dir, { recursive: true, force: true });
    removed.push(entry);
  }
  return removed;
}

export function mariadbPair(log: (line: string) => void): StackService {
  const cluster = stackMariadbCluster(log);
  return {
    name: 'mariadb',
    async up() {
      ensureDebianPackages(STACK_PACKAGES, log);
      await cluster.up();
    },
    status: () => cluster.status(),
    forget: () => cluster.reset(),
    async down() {
      await cluster.down();
      const removed = await cleanScratchLeftovers();
      if (removed.length > 0) log(`mariadb: removed scratch clusters ${removed.join(', ')}`);
    },
  };
}

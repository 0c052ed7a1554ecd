import path from 'node:path';
import { Connection } from '@temporalio/client';
import mysql from 'mysql2/promise';
import { createClients, type ActivityClients } from '../activities';
import { sshTargetOf } from '../activities/apps';
import { httpProbe } from '../activities/http-probe';
import type { LoadedRunbook } from '../config/load';
import type { Runbook } from '../config/schema';
import { resolveSecret } from '../config/secrets';
import { durationMs } from '../config/duration';
import { SEARCH_ATTRIBUTE_NAMES } from '../workflows/definitions';
import { noPollerSentence, taskQueuePollers } from './task-queue';
import { detectDialect } from '../activities/mysql/dialect';
import { missingPrivileges, missingPrivilegesSentence, type MysqlAccount } from '../common/mysql-privileges';
import { versionTooOld } from '../common/mysql-requirements';

/** A check passed (`ok`), failed (`fail`), or was read without being judged (`info`: a stopped standby app). */
export type DoctorStatus = 'ok' | 'fail' | 'info';

export interface DoctorResult {
  name: string;
  status: DoctorStatus;
  detail: string;
}

/** Runs a check: `fn` returns its detail (ok, or what `fn` says) or throws the failure. */
async function attempt(
  name: string,
  fn: () => Promise<string | { status: DoctorStatus; detail: string }>,
): Promise<DoctorResult> {
  try {
    const result = await fn();
    return typeof result === 'string' ? { name, status: 'ok', detail: result } : { name, ...result };
  } catch (err) {
    return { name, status: 'fail', detail: err instanceof Error ? err.message : String(err) };
  }
}

/** The label doctor prints before a check. */
export const DOCTOR_LABELS: Record<DoctorStatus, string> = { ok: '[ ok ]', fail: '[FAIL]', info: '[info]' };

/**
 * Checks, without changing anything, that the orchestrator could run: Temporal (its namespace, the search attributes,
 * a worker polling `taskQueue`), then every configured endpoint.
 */
export async function runDoctor(
  temporal: { address: string; namespace: string; taskQueue: string; connect: () => Promise<Connection> },
  runbooks: Map<string, LoadedRunbook>,
): Promise<DoctorResult[]> {
  const results: DoctorResult[] = [];
  let connection: Connection | undefined;
  results.push(
    await attempt(`temporal ${temporal.address}`, async () => {
      connection = await temporal.connect();
      const info = await connection.workflowService.getSystemInfo({});
      return `reachable (server ${info.serverVersion || 'version not reported'})`;
    }),
  );
  if (connection) {
    const conn = connection;
    results.push(
      await attempt(`namespace ${temporal.namespace}`, async () => {
        const ns = await conn.workflowService.describeNamespace({ namespace: temporal.namespace });
        return `registered (retention ${Number(ns.config?.workflowExecutionRetentionTtl?.seconds ?? 0) / 86400} days)`;
      }),
    );
    results.push(
      await attempt('search attributes', async () => {
        const { customAttributes } = await conn.operatorService.listSearchAttributes({
          namespace: temporal.namespace,
        });
        const missing = SEARCH_ATTRIBUTE_NAMES.filter((n) => !(customAttributes && n in customAttributes));
        if (missing.length > 0) {
          throw new Error(
            `missing ${missing.join(', ')}: temporal operator search-attribute create --name <NAME> --type Keyword`,
          );
        }
        return SEARCH_ATTRIBUTE_NAMES.join(', ');
      }),
    );
    results.push(
      await attempt(`task queue ${temporal.taskQueue}`, async () => {
        const pollers = await taskQueuePollers(conn, temporal.namespace, temporal.taskQueue);
        const lacking = noPollerSentence(temporal.taskQueue, pollers);
        if (lacking) throw new Error(lacking);
        const identities = [...new Set([...pollers.workflow, ...pollers.activity])];
        return `polled by ${identities.length} worker${identities.length === 1 ? '' : 's'} (${identities.join(', ')})`;
      }),
    );
    await conn.close();
  }
  const clients = createClients(runbooks);
  try {
    for (const { runbook, file } of runbooks.values()) {
      results.push(...(await checkPair(runbook, file, clients)));
    }
  } finally {
    await clients.close();
  }
  return results;
}

/**
 * Every endpoint one runbook names, read-only: MySQL servers, Elasticsearch clusters, Redis servers, the traffic switch,
 * app hosts.
 */
async function checkPair(runbook: Runbook, file: string, clients: ActivityClients): Promise<DoctorResult[]> {
  const pair = runbook.pair;
  const baseDir = path.dirname(file);
  const checks: Promise<DoctorResult>[] = [];
  for (const server of runbook.mysql.servers) {
    checks.push(
      attempt(`${pair}: mysql ${server.name} ${server.host}:${server.port}`, async () => {
        const connection = await mysql.createConnection({
          host: server.host,
          port: server.port,
          user: runbook.mysql.user,
          password: resolveSecret(runbook.mysql.password, baseDir),
          connectTimeout: durationMs(runbook.mysql.connectTimeout),
        });
        try {
          const query: MysqlQuery = async (sql, values) =>
            (await connection.query(sql, values))[0] as Record<string, unknown>[];
          const { version, problems } = await mysqlServerProblems(query, server.name, {
            user: runbook.mysql.user,
            replicationUser: runbook.mysql.replicationUser,
          });
          if (problems.length > 0) throw new Error(problems.join(' '));
          return (
            `connected as ${runbook.mysql.user} (${version}); it and ${runbook.mysql.replicationUser} ` +
            'hold every privilege the activities need'
          );
        } finally {
          await connection.end();
        }
      }),
    );
  }
  for (const cluster of runbook.elasticsearch?.clusters ?? []) {
    checks.push(
      attempt(`${pair}: elasticsearch ${cluster.site} ${cluster.url}`, async () => {
        const health = await clients.es.cluster(pair, cluster.site).health({}, 5_000);
        return `reachable, cluster ${health.cluster_name} is ${health.status}`;
      }),
    );
  }
  for (const server of runbook.redis?.servers ?? []) {
    checks.push(
      attempt(`${pair}: redis ${server.name} ${server.host}:${server.port}`, async () => {
        const r = await clients.redis.replication(pair, server.name);
        return r.role === 'master'
          ? `reachable, a master with ${r.replicas.length} replica(s)`
          : `reachable, a replica of ${r.masterHost}:${r.masterPort} (link ${r.linkStatus})`;
      }),
    );
  }
  let primarySite = runbook.sites.primary.name;
  if (runbook.traffic) {
    const traffic = await attempt(`${pair}: traffic via ${runbook.traffic.provider}`, async () => {
      const state = await clients.traffic.get(pair).currentTarget();
      if (state.site) primarySite = state.site;
      return state.description;
    });
    checks.push(Promise.resolve(traffic));
  }
  const probeTimeout = durationMs(runbook.probes.timeout);
  for (const host of runbook.apps?.hosts ?? []) {
    checks.push(
      attempt(
        `${pair}: app ${host.name} ssh ${host.ssh.user}@${host.ssh.host}:${host.ssh.port}`,
        async () => {
          const run = await clients.ssh.exec(sshTargetOf(host, baseDir), 'true', { timeoutMs: 10_000 });
          if (run.exitCode !== 0) throw new Error(`"true" exited with ${run.exitCode}`);
          return 'logged in with the runbook key; host key matches the pinned one';
        },
      ),
      attempt(`${pair}: app ${host.name} health ${host.healthUrl}`, () =>
        judgeAppHealth(host.healthUrl, probeTimeout, host.site, primarySite),
      ),
    );
  }
  return Promise.all(checks);
}

/**
 * An app's health probe: the app of the site serving (the traffic's target, else the runbook's primary site) must be
 * healthy; another site's app is stopped while it stands by, so its probe is shown as information, not judged.
 */
async function judgeAppHealth(
  url: string,
  timeoutMs: number,
  site: string,
  primarySite: string,
): Promise<string | { status: DoctorStatus; detail: string }> {
  const probe = await httpProbe(url, timeoutMs);
  if (site === primarySite) {
    if (!probe.ok)
      throw new Error(`not healthy (${probe.detail}): ${site} is the primary site, its app must answer`);
    return `healthy (${probe.detail})`;
  }
  return {
    status: 'info',
    detail: `${probe.ok ? 'healthy' : 'not healthy'} (${probe.detail}); ${site} stands by, so its app is not judged`,
  };
}

export type MysqlQuery = (sql: string, values?: unknown[]) => Promise<Record<string, unknown>[]>;

/** The first column of each row: SHOW GRANTS names its column after the account. */
const firstColumns = (rows: Record<string, unknown>[]) =>
  rows.map((row) => String(Object.values(row)[0] ?? ''));

/**
 * What stops the orchestrator on one MySQL/MariaDB server, read through its own account: a version older than the
 * activities need, and each privilege its account or the replication account lacks (common/mysql-privileges.ts),
 * as sentences. The replication account is read from mysql.user and SHOW GRANTS FOR each of its hosts.
 */
export async function mysqlServerProblems(
  query: MysqlQuery,
  server: string,
  accounts: { user: string; replicationUser: string },
): Promise<{ version: string; problems: string[] }> {
  const [row] = await query('SELECT VERSION() AS version');
  const version = String(row?.version ?? '');
  const dialect = detectDialect(version);
  const problems: string[] = [];
  const old = versionTooOld(server, dialect, version);
  if (old) problems.push(old);
  const lacking = (account: MysqlAccount, user: string, grants: string[]) => {
    const sentence = missingPrivilegesSentence(
      server,
      user,
      missingPrivileges(dialect, account, version, grants),
    );
    if (sentence) problems.push(sentence);
  };
  lacking('orchestrator', accounts.user, firstColumns(await query('SHOW GRANTS')));
  try {
    const hosts = await query('SELECT Host AS host FROM mysql.user WHERE User = ?', [
      accounts.replicationUser,
    ]);
    if (hosts.length === 0)
      problems.push(`${server} has no account ${accounts.replicationUser} for replication.`);
    for (const { host } of hosts) {
      const grants = firstColumns(
        await query('SHOW GRANTS FOR ?@?', [accounts.replicationUser, String(host)]),
      );
      lacking('replication', `${accounts.replicationUser}@${String(host)}`, grants);
    }
  } catch (err) {
    problems.push(
      `${accounts.user} cannot read the grants of ${accounts.replicationUser} on ${server}: ${(err as Error).message}.`,
    );
  }
  return { version, problems };
}

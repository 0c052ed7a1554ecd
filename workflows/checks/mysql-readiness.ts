import { tryGtidsMissing } from '../../common/gtid';
import { gtidNotInUse, versionTooOld } from '../../common/mysql-requirements';
import type { MysqlServerStatus } from '../../activities/mysql/status';
import type { PairSettings } from '../../activities/pair-settings';
import type { Check } from './check';

export type { Check } from './check';

type ServerConfig = PairSettings['mysql']['servers'][number];

/** Judges the MySQL part of a pair from the servers' statuses: pure, so it runs inside the workflow. */
export function evaluateMysqlReadiness(settings: PairSettings, statuses: MysqlServerStatus[]): Check[] {
  const byName = new Map(statuses.map((s) => [s.server, s]));
  const primaryConfig = settings.mysql.servers.find((s) => s.role === 'primary');
  const primary = primaryConfig && byName.get(primaryConfig.name);
  const checks = [
    ...statuses.map(reachabilityCheck),
    ...statuses.flatMap(logSlaveUpdatesCheck),
    ...requirementChecks(statuses, primaryConfig?.name),
    ...statuses.flatMap(rebuildCheck),
    ...sourceReadOnlyChecks(settings, statuses),
  ];
  if (!primaryConfig || !primary?.reachable) return checks;
  checks.push(...primaryChecks(primary));
  for (const config of settings.mysql.servers.filter((s) => s.role === 'replica')) {
    const replica = byName.get(config.name);
    if (replica?.reachable) checks.push(...replicaChecks(settings, replica, primary, primaryConfig));
  }
  return checks;
}

function reachabilityCheck(status: MysqlServerStatus): Check {
  return status.reachable
    ? {
        name: `${status.server}.reachable`,
        ok: true,
        sentence: `${status.server} answers (${status.dialect} ${status.version}).`,
      }
    : {
        name: `${status.server}.reachable`,
        ok: false,
        sentence: `${status.server} is unreachable: ${status.error?.type} ${status.error?.message}.`,
      };
}

/** MariaDB only: MySQL's gtid_executed holds replicated GTIDs anyway. */
function logSlaveUpdatesCheck(status: MysqlServerStatus): Check[] {
  if (status.logSlaveUpdates === undefined) return [];
  return [
    status.logSlaveUpdates
      ? {
          name: `${status.server}.log-slave-updates`,
          ok: true,
          sentence: `${status.server} writes the transactions it replicates to its binlog (log_slave_updates=ON).`,
        }
      : {
          name: `${status.server}.log-slave-updates`,
          ok: false,
          sentence:
            `${status.server} has log_slave_updates=OFF: its binlog lacks the transactions it replicates, so ` +
            'errant transactions cannot be checked against it; set log_slave_updates=ON in its configuration ' +
            'and restart it.',
        },
  ];
}

function rebuildCheck(status: MysqlServerStatus): Check[] {
  const mark = status.rebuildIncomplete;
  if (!mark) return [];
  return [
    {
      name: `${status.server}.rebuild-incomplete`,
      ok: false,
      sentence: `${status.server} holds an incomplete rebuild (started at ${mark.startedAt} from ${mark.source}): run the rebuild again before repointing or promoting it.`,
    },
  ];
}

/** The suffix of the check's name, `<server>.source-read-only`: stable, for `drctl status` and alert rules. */
export const SOURCE_READ_ONLY = 'source-read-only';
export const sourceReadOnlyCheckName = (server: string) => `${server}.${SOURCE_READ_ONLY}`;

/**
 * A primary restarted read-only by its own configuration (a promoted replica whose configuration still says
 * read_only): the server the others replicate from is read-only and replicates from nobody, so nothing can write.
 * Judged from the replication links, whatever roles the runbook declares (a move changes them). The repair is a
 * human's, after checking that the old primary is fenced: making a server writable beside another writable one
 * splits the data.
 */
export function sourceReadOnlyChecks(settings: PairSettings, statuses: MysqlServerStatus[]): Check[] {
  const reachable = statuses.filter((s) => s.reachable);
  const replicasOf = new Map<string, string[]>();
  for (const status of reachable) {
    const source = status.replication && sourceOf(settings, reachable, status.replication);
    if (source) replicasOf.set(source, [...(replicasOf.get(source) ?? []), status.server]);
  }
  const checks: Check[] = [];
  for (const [name, replicas] of replicasOf) {
    const source = reachable.find((s) => s.server === name)!;
    if (source.replication || !(source.readOnly || source.superReadOnly)) continue;
    const others = statuses.filter((s) => s.server !== name && !replicas.includes(s.server));
    checks.push({
      name: sourceReadOnlyCheckName(name),
      ok: false,
      sentence:
        `${name}, which ${replicas.join(' and ')} ${replicas.length > 1 ? 'replicate' : 'replicates'} from, is ` +
        'read-only and replicates from nobody (a primary restarted read-only by its own configuration?), so the ' +
        `application cannot write; ${fencingAdvice(others)} before making it writable, then run ` +
        `\`SET GLOBAL read_only=OFF\` on ${name} and set read_only=OFF in its configuration (not repaired ` +
        'automatically: two writable servers would split the data).',
    });
  }
  return checks;
}

/** The replica's source among the reachable servers: by address, else by the server_id it last saw. */
function sourceOf(
  settings: PairSettings,
  reachable: MysqlServerStatus[],
  replication: NonNullable<MysqlServerStatus['replication']>,
): string | undefined {
  const byAddress = settings.mysql.servers.find(
    (s) => s.port === replication.sourcePort && sameHost(s.host, replication.sourceHost),
  )?.name;
  if (byAddress) return reachable.some((s) => s.server === byAddress) ? byAddress : undefined;
  const id = replication.sourceServerId;
  return id ? reachable.find((s) => s.serverId === String(id))?.server : undefined;
}

/** What must be checked of the servers outside the source's replication before it takes writes. */
function fencingAdvice(others: MysqlServerStatus[]): string {
  if (others.length === 0) return 'check that no other server takes writes';
  const state = (s: MysqlServerStatus) =>
    !s.reachable
      ? `${s.server} does not answer`
      : s.readOnly || s.superReadOnly
        ? `${s.server} is read-only`
        : `${s.server} is WRITABLE`;
  return (
    `check that the old primary is fenced (${others.map(state).join(', ')}: it must stay stopped or ` +
    'read-only, its configuration included)'
  );
}

/** The primary takes writes and replicates from nobody. */
function primaryChecks(primary: MysqlServerStatus): Check[] {
  const checks: Check[] = [
    primary.readOnly || primary.superReadOnly
      ? {
          name: `${primary.server}.writable`,
          ok: false,
          sentence: `primary ${primary.server} is read-only, so the application cannot write.`,
        }
      : { name: `${primary.server}.writable`, ok: true, sentence: `primary ${primary.server} is writable.` },
  ];
  if (primary.replication)
    checks.push({
      name: `${primary.server}.no-source`,
      ok: false,
      sentence: `primary ${primary.server} itself replicates from ${primary.replication.sourceHost}:${primary.replication.sourcePort}.`,
    });
  return checks;
}

/** A replica is read-only and replicates from the primary: threads running, close behind, same GTID history. */
function replicaChecks(
  settings: PairSettings,
  replica: MysqlServerStatus,
  primary: MysqlServerStatus,
  primaryConfig: ServerConfig,
): Check[] {
  const name = replica.server;
  const readOnly: Check = replica.readOnly
    ? { name: `${name}.read-only`, ok: true, sentence: `replica ${name} is read-only.` }
    : {
        name: `${name}.read-only`,
        ok: false,
        sentence: `replica ${name} is writable: writes there would diverge from the primary.`,
      };
  if (!replica.replication)
    return [
      readOnly,
      { name: `${name}.replicating`, ok: false, sentence: `replica ${name} has no replication configured.` },
    ];
  const checks = [
    readOnly,
    ...replicationChecks(settings, name, replica.replication, primary, primaryConfig),
  ];
  if (primary.semiSync?.source?.enabled) checks.push(semiSyncCheck(replica, primary.server));
  if (replica.dialect && primary.gtidExecuted !== undefined && replica.gtidExecuted !== undefined)
    checks.push(
      gtidCheck(replica.dialect, name, replica.gtidExecuted, primary.gtidExecuted, primary.serverId),
    );
  return checks;
}

/** The replica's threads, its source and its lag. */
function replicationChecks(
  settings: PairSettings,
  name: string,
  repl: NonNullable<MysqlServerStatus['replication']>,
  primary: MysqlServerStatus,
  primaryConfig: ServerConfig,
): Check[] {
  const threadsOk = repl.ioRunning === 'Yes' && repl.sqlRunning === 'Yes';
  const threadErrors = [repl.lastIoError, repl.lastSqlError].filter(Boolean).join('; ');
  const sourceOk = repl.sourcePort === primaryConfig.port && sameHost(repl.sourceHost, primaryConfig.host);
  const lagOk = repl.lagSeconds !== null && repl.lagSeconds <= settings.mysql.maxLagSeconds;
  return [
    {
      name: `${name}.threads`,
      ok: threadsOk,
      sentence: threadsOk
        ? `replica ${name} IO and SQL threads are running.`
        : `replica ${name} is not replicating: IO thread ${repl.ioRunning}, SQL thread ${repl.sqlRunning}${threadErrors ? ` (${threadErrors})` : ''}.`,
    },
    {
      name: `${name}.source`,
      ok: sourceOk,
      sentence: sourceOk
        ? `replica ${name} replicates from primary ${primary.server}.`
        : `replica ${name} replicates from ${repl.sourceHost}:${repl.sourcePort}, not from primary ${primary.server} (${primaryConfig.host}:${primaryConfig.port}).`,
    },
    {
      name: `${name}.lag`,
      ok: lagOk,
      sentence:
        repl.lagSeconds === null
          ? `replica ${name} reports no lag figure because replication is not running.`
          : `replica ${name} is ${repl.lagSeconds}s behind (limit ${settings.mysql.maxLagSeconds}s).`,
    },
  ];
}

/**
 * Whether each reachable server is recent enough and really uses GTIDs. Statuses read by older activity code (in
 * the histories of runs started before) lack the semi-sync facts read with these ones: they are not judged, so
 * that such a run takes the same decisions when it is replayed.
 */
function requirementChecks(statuses: MysqlServerStatus[], primaryName: string | undefined): Check[] {
  const checks: Check[] = [];
  for (const status of statuses) {
    if (!status.reachable || !status.dialect || status.semiSync === undefined) continue;
    const old = versionTooOld(status.server, status.dialect, status.version ?? '');
    checks.push({
      name: `${status.server}.version`,
      ok: old === undefined,
      sentence: old ?? `${status.server} runs ${status.version}, recent enough for every activity.`,
    });
    const noGtid = gtidNotInUse(status, status.server === primaryName);
    checks.push({
      name: `${status.server}.gtid-mode`,
      ok: noGtid === undefined,
      sentence: noGtid ?? `${status.server} uses GTIDs.`,
    });
  }
  return checks;
}

/** While the primary waits for semi-sync acknowledgements, a replica that sends none is not one it can count on. */
function semiSyncCheck(replica: MysqlServerStatus, primary: string): Check {
  const side = replica.semiSync?.replica;
  return side?.enabled
    ? {
        name: `${replica.server}.semi-sync`,
        ok: true,
        sentence: `replica ${replica.server} acknowledges transactions to primary ${primary} (semi-synchronous).`,
      }
    : {
        name: `${replica.server}.semi-sync`,
        ok: false,
        sentence:
          `primary ${primary} replicates semi-synchronously but replica ${replica.server} does not ` +
          `(${side ? `${side.variable}=OFF` : 'no semi-sync replica plugin loaded'}): it acknowledges nothing, ` +
          'and once promoted its own replicas would not either; enable it there.',
      };
}

/**
 * The replica's GTIDs against the primary's; a GTID set it cannot read is a failed check, never an exception.
 * The statuses are read at the same time, so under writes a replica read a moment after the primary already
 * holds the primary's next transactions: those (the primary's own origin, `primaryId`) are not errant.
 */
function gtidCheck(
  dialect: 'mysql' | 'mariadb',
  name: string,
  replicaGtid: string,
  primaryGtid: string,
  primaryId: string | undefined,
): Check {
  const behind = tryGtidsMissing(dialect, primaryGtid, replicaGtid);
  const errant = tryGtidsMissing(dialect, withoutOrigin(dialect, replicaGtid, primaryId), primaryGtid);
  if ('error' in behind || 'error' in errant) {
    const why = 'error' in errant ? errant.error : 'error' in behind ? behind.error : '';
    return {
      name: `${name}.gtid`,
      ok: false,
      sentence: `cannot compare the GTIDs of replica ${name} with the primary's: ${why}.`,
    };
  }
  return {
    name: `${name}.gtid`,
    ok: errant.count === 0,
    sentence:
      errant.count > 0
        ? `replica ${name} has ${errant.count} transaction(s) the primary lacks (errant): GTID ${replicaGtid} vs ${primaryGtid}.`
        : `replica ${name} is at GTID ${replicaGtid || '(empty)'}, ${behind.count} transaction(s) behind the primary's ${primaryGtid || '(empty)'}.`,
  };
}

/**
 * A GTID set (MySQL) or position (MariaDB) without the GTIDs that originate on server `origin` (its server_uuid,
 * or MariaDB server_id). MariaDB positions keep the last GTID per domain only: a domain whose last GTID comes
 * from `origin` is dropped. Text it cannot split is returned as it is, for the comparison to judge.
 */
function withoutOrigin(dialect: 'mysql' | 'mariadb', gtids: string, origin: string | undefined): string {
  if (!origin) return gtids;
  const originOf = (element: string) =>
    dialect === 'mysql' ? element.split(':')[0]!.toLowerCase() : element.split('-')[1];
  const own = dialect === 'mysql' ? origin.toLowerCase() : origin;
  return gtids
    .replace(/\s+/g, '')
    .split(',')
    .filter((element) => element !== '' && originOf(element) !== own)
    .join(',');
}

function sameHost(a: string, b: string): boolean {
  const loopback = (h: string) => (h === 'localhost' || h.startsWith('127.') ? 'loopback' : h.toLowerCase());
  return loopback(a) === loopback(b);
}

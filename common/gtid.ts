/**
 * GTID arithmetic without I/O, usable from workflow code.
 * MySQL: GTID sets "uuid:1-5:7-9,uuid2:1-3"; from 8.3 a GTID may carry a tag ("uuid:tag:7"), and a set lists a
 * uuid's untagged intervals first, then each tag followed by its intervals ("uuid:1-5:batch:1-3:11"). MariaDB:
 * positions "domain-server-seq,…" (one per replication domain).
 * Malformed input raises a `GtidParseError`; workflow code uses `tryGtidsMissing`, which never throws.
 */

type Intervals = [number, number][];

/** A GTID set or position that is not in the server's notation. */
export class GtidParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GtidParseError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** MySQL 8.3+: a letter or underscore, then letters, digits and underscores; 32 characters at most. */
const TAG = /^[a-z_][a-z0-9_]{0,31}$/i;
const INTERVAL = /^(\d+)(?:-(\d+))?$/;

/**
 * A MySQL GTID set as intervals per source: the key is the uuid, or "uuid:tag" for tagged GTIDs (lower case,
 * as the server compares them). Accepts the server's notation and one element per tag ("uuid:tag:1-3,uuid:t2:5").
 */
export function parseMysqlGtidSet(set: string): Map<string, Intervals> {
  const result = new Map<string, Intervals>();
  for (const part of set.replace(/\s+/g, '').split(',').filter(Boolean)) {
    const [uuid = '', ...tokens] = part.split(':');
    if (!UUID.test(uuid) || tokens.length === 0)
      throw new GtidParseError(`invalid GTID set element "${part}"`);
    let key = uuid.toLowerCase();
    let tagWithoutInterval = false;
    for (const token of tokens) {
      const interval = INTERVAL.exec(token);
      if (interval) {
        const from = Number(interval[1]);
        const to = interval[2] === undefined ? from : Number(interval[2]);
        if (from < 1 || to < from) throw new GtidParseError(`invalid GTID range "${token}" in "${part}"`);
        result.set(key, [...(result.get(key) ?? []), [from, to]]);
        tagWithoutInterval = false;
      } else if (TAG.test(token) && !tagWithoutInterval) {
        key = `${uuid.toLowerCase()}:${token.toLowerCase()}`;
        tagWithoutInterval = true;
      } else {
        throw new GtidParseError(`invalid GTID range "${token}" in "${part}"`);
      }
    }
    if (tagWithoutInterval) throw new GtidParseError(`GTID tag without transactions in "${part}"`);
  }
  return result;
}

function countOutside(interval: [number, number], others: Intervals): number {
  let [from] = interval;
  const [, to] = interval;
  let missing = 0;
  for (const [oFrom, oTo] of [...others].sort((a, b) => a[0] - b[0])) {
    if (oTo < from) continue;
    if (oFrom > to) break;
    if (oFrom > from) missing += oFrom - from;
    from = Math.max(from, oTo + 1);
    if (from > to) return missing;
  }
  return missing + (to - from + 1);
}

/** Number of transactions in MySQL GTID set `a` that are not in `b` (GTID_SUBTRACT(a, b), counted). */
export function mysqlGtidsMissing(a: string, b: string): number {
  const right = parseMysqlGtidSet(b);
  let missing = 0;
  for (const [uuid, intervals] of parseMysqlGtidSet(a)) {
    for (const interval of intervals) missing += countOutside(interval, right.get(uuid) ?? []);
  }
  return missing;
}

/** One MariaDB GTID "domain-server-seq". */
function parseMariadbGtid(part: string): MariadbStateEntry {
  const numbers = part.split('-').map(Number);
  const [domain, serverId, seq] = numbers;
  if (
    numbers.length !== 3 ||
    domain === undefined ||
    serverId === undefined ||
    seq === undefined ||
    numbers.some((n) => !Number.isInteger(n))
  ) {
    throw new GtidParseError(`invalid MariaDB GTID "${part}"`);
  }
  return { domain, serverId, seq };
}

export function parseMariadbGtidPos(pos: string): Map<number, { serverId: number; seq: number }> {
  const result = new Map<number, { serverId: number; seq: number }>();
  for (const part of pos.replace(/\s+/g, '').split(',').filter(Boolean)) {
    const { domain, serverId, seq } = parseMariadbGtid(part);
    result.set(domain, { serverId, seq });
  }
  return result;
}

/** Per replication domain, how many sequence numbers position `a` is ahead of position `b` (summed). */
export function mariadbGtidsAhead(a: string, b: string): number {
  const right = parseMariadbGtidPos(b);
  let ahead = 0;
  for (const [domain, { seq }] of parseMariadbGtidPos(a)) {
    ahead += Math.max(0, seq - (right.get(domain)?.seq ?? 0));
  }
  return ahead;
}

/** Transactions `a` has that `b` lacks, in the dialect's notation. */
export function gtidsMissing(dialect: 'mysql' | 'mariadb', a: string, b: string): number {
  return dialect === 'mysql' ? mysqlGtidsMissing(a, b) : mariadbGtidsAhead(a, b);
}

/** `gtidsMissing` for workflow code: a malformed GTID becomes a reason to state, never an exception. */
export function tryGtidsMissing(
  dialect: 'mysql' | 'mariadb',
  a: string,
  b: string,
): { count: number } | { error: string } {
  try {
    return { count: gtidsMissing(dialect, a, b) };
  } catch (err) {
    if (err instanceof GtidParseError) return { error: err.message };
    throw err;
  }
}

/** The union of MySQL GTID sets, as a set string (the manual's GTID_UNION: the sets joined with commas). */
export function mysqlGtidUnion(...sets: string[]): string {
  return sets
    .map((s) => s.replace(/\s+/g, ''))
    .filter(Boolean)
    .join(',');
}

/** Per replication domain, the most advanced of several MariaDB positions ("0-1-10,1-2-5"). */
export function mariadbMaxPos(...positions: string[]): string {
  const best = new Map<number, { serverId: number; seq: number }>();
  for (const pos of positions) {
    for (const [domain, gtid] of parseMariadbGtidPos(pos)) {
      const current = best.get(domain);
      if (!current || gtid.seq > current.seq) best.set(domain, gtid);
    }
  }
  return [...best.entries()]
    .sort(([a], [b]) => a - b)
    .map(([domain, { serverId, seq }]) => `${domain}-${serverId}-${seq}`)
    .join(',');
}

/** Everything in any of the positions/sets, in the dialect's notation. */
export function gtidUnion(dialect: 'mysql' | 'mariadb', ...values: string[]): string {
  return dialect === 'mysql' ? mysqlGtidUnion(...values) : mariadbMaxPos(...values);
}

export interface MariadbStateEntry {
  domain: number;
  serverId: number;
  seq: number;
}

/** MariaDB gtid_binlog_state: the last GTID of every (domain, server_id) pair in the binlog. */
export function parseMariadbBinlogState(state: string): MariadbStateEntry[] {
  return state.replace(/\s+/g, '').split(',').filter(Boolean).map(parseMariadbGtid);
}

/** Transactions of one originating server that a MariaDB server has and a reference lacks. */
export interface MariadbErrantRange {
  domain: number;
  serverId: number;
  /** The reference's last GTID from that server in that domain (0: none). */
  referenceSeq: number;
  /** The server's last GTID from that server in that domain. */
  lastSeq: number;
}

/**
 * Errant transactions on a MariaDB server relative to a reference (e.g. the new primary), from both
 * servers' gtid_binlog_state. Sequence numbers are shared by a whole domain, so per (domain, server_id)
 * the server's last GTID must not be beyond the reference's; with gtid_strict_mode the binlogs are
 * ordered, so a later GTID of that origin on the server is one the reference never received.
 */
export function mariadbErrantRanges(serverState: string, referenceState: string): MariadbErrantRange[] {
  const reference = new Map(
    parseMariadbBinlogState(referenceState).map((e) => [`${e.domain}-${e.serverId}`, e.seq]),
  );
  return parseMariadbBinlogState(serverState)
    .map((e) => ({
      domain: e.domain,
      serverId: e.serverId,
      referenceSeq: reference.get(`${e.domain}-${e.serverId}`) ?? 0,
      lastSeq: e.seq,
    }))
    .filter((r) => r.lastSeq > r.referenceSeq);
}

/** Splits a MySQL GTID set into its elements ("uuid:1-5:7", one per source uuid), for listing. */
export function mysqlGtidElements(set: string): string[] {
  return set.replace(/\s+/g, '').split(',').filter(Boolean);
}

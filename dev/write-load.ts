/**
 * Write load for failover tests and benchmarks: writes numbered rows at a set rate, through the application
 * account, to whichever server is the current write target (the one that is writable), and records which
 * writes were acknowledged — so that after a failover the lost acknowledged writes can be counted (RPO).
 *
 *   npx tsx dev/write-load.ts [--runbook config/runbooks/local.yaml] [--rate 100] [--duration 10s]
 *                             [--password-file .stack/secrets/mysql-app.password] [--user app] [--database app]
 *
 * prints a JSON summary: attempts, acknowledged, failed, unknown outcome, per-server counts, target changes,
 * and the verification against the final write target (acknowledged rows missing there = lost).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { DEFAULT_LOCAL_RUNBOOK, loadRunbooks } from '../config/load';
import { httpWriteOutcome, type WriteOutcome } from '../common/write-outcome';
import { stackDir } from './stack/settings';

export interface WriteTarget {
  name: string;
  host: string;
  port: number;
}

export interface WriteLoadOptions {
  targets: WriteTarget[];
  user: string;
  password: string;
  database?: string;
  table?: string;
  /** Writes per second (one in flight at a time; a slow server lowers the achieved rate). */
  ratePerSecond: number;
  runId?: string;
  /** Client-side limit of one write; past it the outcome is unknown. */
  writeTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export { httpWriteOutcome, type WriteOutcome } from '../common/write-outcome';

export interface WriteRecord {
  seq: number;
  server: string | null;
  outcome: WriteOutcome;
  at: number;
  error?: string;
}

export interface WriteLoadSummary {
  runId: string;
  durationMs: number;
  attempted: number;
  acknowledged: number;
  failed: number;
  unknown: number;
  achievedRatePerSecond: number;
  acknowledgedBy: Record<string, number>;
  targetChanges: { at: number; from: string | null; to: string | null }[];
  /** Moments when more than one server was writable (split brain), with their names. */
  multipleWritable: { at: number; servers: string[] }[];
  /** The longest stretch without an acknowledged write (the write outage). */
  longestGapMs: number;
}

export interface WriteVerification {
  server: string;
  acknowledged: number;
  present: number;
  /** Acknowledged writes missing on `server`: the lost writes. */
  lost: number[];
  /** Writes whose outcome the client did not know (or that failed) but which are on `server`. */
  presentUnacknowledged: number[];
}

const DEFAULT_TABLE = 'write_load';

export class WriteLoad {
  readonly runId: string;
  readonly records: WriteRecord[] = [];
  private readonly connections = new Map<string, Connection>();
  private target: string | null = null;
  private running = false;
  private loop?: Promise<void>;
  private startedAt = 0;
  private stoppedAt = 0;
  private readonly targetChanges: WriteLoadSummary['targetChanges'] = [];
  private readonly multipleWritable: WriteLoadSummary['multipleWritable'] = [];

  constructor(private readonly options: WriteLoadOptions) {
    this.runId = options.runId ?? randomUUID();
  }

  private get table(): string {
    return `\`${this.options.database ?? 'app'}\`.\`${this.options.table ?? DEFAULT_TABLE}\``;
  }

  /** Creates the table (on the current write target) if it does not exist. */
  async prepare(): Promise<void> {
    const target = await this.discover();
    if (!target) throw new Error('write load: no writable server to create the table on');
    const conn = await this.connection(target);
    await conn.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (run_id CHAR(36) NOT NULL, seq INT NOT NULL, ` +
        'written_to VARCHAR(64) NOT NULL, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ' +
        'PRIMARY KEY (run_id, seq)) ENGINE=InnoDB',
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = Date.now();
    this.loop = this.run();
  }

  async stop(): Promise<WriteLoadSummary> {
    this.running = false;
    await this.loop;
    this.stoppedAt = Date.now();
    return this.summary();
  }

  currentTarget(): string | null {
    return this.target;
  }

  /** Waits until at least `count` more writes are acknowledged (or the timeout passes). */
  async waitForAcknowledged(count: number, timeoutMs = 10_000): Promise<void> {
    const goal = this.acknowledgedCount() + count;
    const deadline = Date.now() + timeoutMs;
    while (this.acknowledgedCount() < goal) {
      if (Date.now() > deadline)
        throw new Error(`write load: ${count} acknowledged writes did not happen within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  acknowledgedCount(): number {
    return this.records.filter((r) => r.outcome === 'acknowledged').length;
  }

  summary(): WriteLoadSummary {
    return summarizeWrites(this.runId, this.records, this.startedAt, this.stoppedAt, {
      targetChanges: this.targetChanges,
      multipleWritable: this.multipleWritable,
    });
  }

  /** Compares what was acknowledged with what `server` holds for this run. */
  async verify(server: string): Promise<WriteVerification> {
    const conn = await this.connection(server);
    const [rows] = await conn.query<RowDataPacket[]>(`SELECT seq FROM ${this.table} WHERE run_id = ?`, [
      this.runId,
    ]);
    return compareWrites(server, this.records, new Set(rows.map((r) => Number(r.seq))));
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.end().catch(() => c.destroy())));
    this.connections.clear();
  }

  private async run(): Promise<void> {
    const interval = 1000 / this.options.ratePerSecond;
    let seq = 0;
    while (this.running) {
      seq++;
      const due = this.startedAt + (seq - 1) * interval;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      if (!this.running) break;
      if (!this.target) {
        await this.discover();
        if (!this.target) {
          this.records.push({
            seq,
            server: null,
            outcome: 'failed',
            at: Date.now(),
            error: 'no writable server',
          });
          await sleep(Math.min(interval, 50));
          continue;
        }
      }
      await this.write(seq, this.target);
    }
  }

  private async write(seq: number, server: string): Promise<void> {
    let conn: Connection;
    try {
      conn = await this.connection(server);
    } catch (err) {
      // Not connected: nothing was sent, so nothing was committed.
      this.records.push({ seq, server, outcome: 'failed', at: Date.now(), error: errorCode(err) });
      this.target = null;
      return;
    }
    try {
      await conn.query({
        sql: `INSERT INTO ${this.table} (run_id, seq, written_to) VALUES (?, ?, ?)`,
        values: [this.runId, seq, server],
        timeout: this.options.writeTimeoutMs ?? 2_000,
      });
      this.records.push({ seq, server, outcome: 'acknowledged', at: Date.now() });
    } catch (err) {
      // An error reply from the server (SQLSTATE, e.g. 1290 read-only) means the write was not committed;
      // a connection that died or a timeout leaves the outcome unknown.
      const { sqlState, fatal } = err as { sqlState?: string; fatal?: boolean };
      const outcome: WriteOutcome = sqlState && !fatal ? 'failed' : 'unknown';
      this.records.push({ seq, server, outcome, at: Date.now(), error: errorCode(err) });
      if (fatal || !sqlState) this.drop(server);
      this.target = null; // find the write target again before the next write
    }
  }

  /** The writable server among the targets (read_only = 0), or null. */
  private async discover(): Promise<string | null> {
    const results = await Promise.all(
      this.options.targets.map(async (t) => {
        try {
          const conn = await this.connection(t.name);
          const [rows] = await conn.query<RowDataPacket[]>({
            sql: 'SELECT @@global.read_only AS ro',
            timeout: 1_000,
          });
          return Number(rows[0]?.ro) === 0 ? t.name : null;
        } catch {
          this.drop(t.name);
          return null;
        }
      }),
    );
    const writable = results.filter((r): r is string => r !== null);
    if (writable.length > 1) this.multipleWritable.push({ at: Date.now(), servers: writable });
    const next = writable[0] ?? null;
    if (next !== this.target) this.targetChanges.push({ at: Date.now(), from: this.target, to: next });
    this.target = next;
    return next;
  }

  private async connection(name: string): Promise<Connection> {
    const existing = this.connections.get(name);
    if (existing) return existing;
    const target = this.options.targets.find((t) => t.name === name);
    if (!target) throw new Error(`write load: unknown target ${name}`);
    const conn = await mysql.createConnection({
      host: target.host,
      port: target.port,
      user: this.options.user,
      password: this.options.password,
      connectTimeout: this.options.connectTimeoutMs ?? 1_000,
    });
    conn.on('error', () => this.drop(name));
    this.connections.set(name, conn);
    return conn;
  }

  private drop(name: string): void {
    const conn = this.connections.get(name);
    this.connections.delete(name);
    conn?.destroy();
  }
}

export interface FrontendWriteLoadOptions {
  /** The public entry point's base URL, e.g. http://127.0.0.1:18000; each write is `POST <url>/orders`. */
  frontendUrl: string;
  /** The database servers `verify()` can read (their own addresses), and the account it reads them with. */
  servers: WriteTarget[];
  user: string;
  password: string;
  database?: string;
  /** Writes started per second. */
  ratePerSecond: number;
  /**
   * Writes in flight at once (default 16): a slow app makes them queue (in HAProxy and the app) rather than
   * lowering the offered rate, until this many wait.
   */
  maxInFlight?: number;
  /** Client-side limit of one request (default 5 s); past it the outcome is unknown. */
  requestTimeoutMs?: number;
  runId?: string;
}

export interface FrontendWriteLoadSummary extends WriteLoadSummary {
  /** Writes started per second while the load ran: what it asked of the system (the app may serve fewer). */
  offeredRatePerSecond: number;
}

/**
 * Write load through the application: `POST /orders` to the public entry point (HAProxy in front of the
 * sample Perl app, which writes to its site's database), with `client_ref = <runId>:<seq>`. A write is
 * acknowledged when the app answers 2xx; its record names the site that served it. `verify(server)` reads
 * the orders table of one database server, so a failover test can count the acknowledged writes it lost.
 */
export class FrontendWriteLoad {
  readonly runId: string;
  readonly records: WriteRecord[] = [];
  private running = false;
  private loop?: Promise<void>;
  private startedAt = 0;
  private stoppedAt = 0;
  private readonly targetChanges: WriteLoadSummary['targetChanges'] = [];
  private lastSite: string | null = null;
  private writesStarted = 0;
  private lastStartAt = 0;

  private readonly ordersUrl: URL;
  // node:http rather than fetch: a fraction of the CPU per request, which matters at hundreds of writes a second.
  private readonly agent: http.Agent;

  constructor(private readonly options: FrontendWriteLoadOptions) {
    this.runId = options.runId ?? randomUUID();
    this.ordersUrl = new URL('/orders', options.frontendUrl);
    if (this.ordersUrl.protocol !== 'http:')
      throw new Error(`write load: ${options.frontendUrl} is not an http:// URL`);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: this.maxInFlight });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = Date.now();
    this.loop = this.run();
  }

  /** Stops starting writes, waits for those in flight, and closes the idle connections. */
  async stop(): Promise<FrontendWriteLoadSummary> {
    this.running = false;
    await this.loop;
    this.stoppedAt ||= Date.now();
    this.agent.destroy();
    return this.summary();
  }

  acknowledgedCount(): number {
    return this.records.filter((r) => r.outcome === 'acknowledged').length;
  }

  summary(): FrontendWriteLoadSummary {
    const sendingMs = this.lastStartAt - this.startedAt + 1000 / this.options.ratePerSecond;
    return {
      ...summarizeWrites(this.runId, this.records, this.startedAt, this.stoppedAt, {
        targetChanges: this.targetChanges,
        multipleWritable: [],
      }),
      offeredRatePerSecond: this.writesStarted > 0 ? Math.round((this.writesStarted * 1000) / sendingMs) : 0,
    };
  }

  private get maxInFlight(): number {
    return this.options.maxInFlight ?? 16;
  }

  /** Compares what was acknowledged with the orders `server` holds for this run. */
  async verify(server: string): Promise<WriteVerification> {
    const target = this.options.servers.find((t) => t.name === server);
    if (!target) throw new Error(`write load: unknown server ${server}`);
    const conn = await mysql.createConnection({
      host: target.host,
      port: target.port,
      user: this.options.user,
      password: this.options.password,
      connectTimeout: 2_000,
    });
    try {
      const [rows] = await conn.query<RowDataPacket[]>(
        `SELECT client_ref FROM \`${this.options.database ?? 'app'}\`.orders WHERE client_ref LIKE ?`,
        [`${this.runId}:%`],
      );
      const present = new Set(rows.map((r) => Number(String(r.client_ref).slice(this.runId.length + 1))));
      return compareWrites(server, this.records, present);
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  }

  private async run(): Promise<void> {
    const interval = 1000 / this.options.ratePerSecond;
    const maxInFlight = this.maxInFlight;
    const inFlight = new Set<Promise<void>>();
    let seq = 0;
    while (this.running) {
      seq++;
      const wait = this.startedAt + (seq - 1) * interval - Date.now();
      if (wait > 0) await sleep(wait);
      while (this.running && inFlight.size >= maxInFlight) await Promise.race(inFlight);
      if (!this.running) break;
      this.writesStarted++;
      this.lastStartAt = Date.now();
      const write: Promise<void> = this.write(seq).finally(() => inFlight.delete(write));
      inFlight.add(write);
    }
    await Promise.all(inFlight);
  }

  private async write(seq: number): Promise<void> {
    let answer: { status: number; body: string };
    try {
      answer = await postJson(
        this.ordersUrl,
        { item: `write-load ${seq}`, client_ref: `${this.runId}:${seq}` },
        this.agent,
        this.options.requestTimeoutMs ?? 5_000,
      );
    } catch (err) {
      // Refused: nothing was sent. Anything else (reset, timeout) may have reached the app.
      const code = errorCode(err);
      this.record(seq, null, code === 'ECONNREFUSED' ? 'failed' : 'unknown', code);
      return;
    }
    let body: { site?: unknown; error?: unknown } | undefined;
    try {
      body = JSON.parse(answer.body) as typeof body;
    } catch {
      body = undefined; // not the app's answer (HAProxy's own error page)
    }
    const site = typeof body?.site === 'string' ? body.site : null;
    this.record(
      seq,
      site,
      httpWriteOutcome(answer.status, body),
      body?.error ? String(body.error) : undefined,
    );
  }

  private record(seq: number, site: string | null, outcome: WriteOutcome, error?: string): void {
    const at = Date.now();
    this.records.push({ seq, server: site, outcome, at, ...(error ? { error } : {}) });
    if (outcome === 'acknowledged' && site !== this.lastSite) {
      this.targetChanges.push({ at, from: this.lastSite, to: site });
      this.lastSite = site;
    }
  }
}

/** POSTs a JSON body; resolves with the answer's status and body text (any status), rejects on a transport error. */
function postJson(
  url: URL,
  payload: unknown,
  agent: http.Agent,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  const data = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.once('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })),
    );
    req.once('error', reject);
    req.end(data);
  });
}

/** The summary of a run's records (in completion order) between `startedAt` and `stoppedAt` (0: still running). */
export function summarizeWrites(
  runId: string,
  records: WriteRecord[],
  startedAt: number,
  stoppedAt: number,
  targets: Pick<WriteLoadSummary, 'targetChanges' | 'multipleWritable'>,
): WriteLoadSummary {
  const ack = records.filter((r) => r.outcome === 'acknowledged');
  const acknowledgedBy: Record<string, number> = {};
  for (const r of ack) acknowledgedBy[r.server ?? '?'] = (acknowledgedBy[r.server ?? '?'] ?? 0) + 1;
  const end = stoppedAt || Date.now();
  let longestGapMs = 0;
  let previous = startedAt;
  for (const r of ack) {
    longestGapMs = Math.max(longestGapMs, r.at - previous);
    previous = r.at;
  }
  longestGapMs = Math.max(longestGapMs, end - previous);
  const durationMs = end - startedAt;
  return {
    runId,
    durationMs,
    attempted: records.length,
    acknowledged: ack.length,
    failed: records.filter((r) => r.outcome === 'failed').length,
    unknown: records.filter((r) => r.outcome === 'unknown').length,
    achievedRatePerSecond: durationMs > 0 ? Math.round((records.length * 1000) / durationMs) : 0,
    acknowledgedBy,
    targetChanges: targets.targetChanges,
    multipleWritable: targets.multipleWritable,
    longestGapMs,
  };
}

/** Compares the acknowledged writes with the sequence numbers `server` holds for the run. */
export function compareWrites(
  server: string,
  records: WriteRecord[],
  present: Set<number>,
): WriteVerification {
  const acknowledged = records.filter((r) => r.outcome === 'acknowledged');
  return {
    server,
    acknowledged: acknowledged.length,
    present: present.size,
    lost: acknowledged.filter((r) => !present.has(r.seq)).map((r) => r.seq),
    presentUnacknowledged: records
      .filter((r) => r.outcome !== 'acknowledged' && present.has(r.seq))
      .map((r) => r.seq),
  };
}

const errorCode = (err: unknown) => (err as { code?: string }).code ?? 'error';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseDuration(value: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(value);
  if (!match) throw new Error(`invalid duration "${value}" (e.g. 500ms, 10s, 2m)`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : fallback;
  };
  const runbookFile = arg('runbook', DEFAULT_LOCAL_RUNBOOK);
  const [loaded] = [...loadRunbooks([runbookFile]).values()];
  if (!loaded) throw new Error(`no runbook in ${runbookFile}`);
  const passwordFile = arg('password-file', path.join(stackDir(), 'secrets', 'mysql-app.password'));
  const load = new WriteLoad({
    targets: loaded.runbook.mysql.servers.map(({ name, host, port }) => ({ name, host, port })),
    user: arg('user', 'app'),
    password: readFileSync(passwordFile, 'utf8').trim(),
    database: arg('database', 'app'),
    ratePerSecond: Number(arg('rate', '100')),
  });
  await load.prepare();
  load.start();
  await sleep(parseDuration(arg('duration', '10s')));
  const summary = await load.stop();
  const final = summary.targetChanges.at(-1)?.to ?? load.currentTarget();
  const verification = final ? await load.verify(final) : null;
  await load.close();
  console.log(JSON.stringify({ summary, verification }, null, 2));
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`write-load: ${(err as Error).message}`);
    process.exit(1);
  });
}

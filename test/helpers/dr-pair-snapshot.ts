import { Client } from '@elastic/elasticsearch';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import {
  HaproxySocketClient,
  showServersState,
  type HaproxyAdminState,
} from '../../activities/traffic/haproxy-runtime';

/**
 * The state of every system of a DR pair, read directly from each system (not through the orchestrator's
 * activities, which it is meant to check). JSON-serialisable; two readings of an untouched pair are deep-equal.
 */
export interface DrPairSnapshot {
  /** By server name. */
  mysql: Record<string, MysqlServerView>;
  /** By site. */
  elasticsearch: Record<string, EsSiteView>;
  traffic: TrafficView;
  /** By site. */
  apps: Record<string, AppView>;
}

export interface MysqlServerView {
  reachable: boolean;
  readOnly?: boolean;
  /** The server it replicates from (a name of the pair, else `host:port`); null when no replication is set up. */
  replicatesFrom?: string | null;
  /** Slave_IO_Running (Yes, No, Connecting) and Slave_SQL_Running, when replication is set up. */
  ioRunning?: string;
  sqlRunning?: string;
}

/** `follower active|paused` (with ` closed` when closed), `open`, `closed`, or `absent`. */
export type EsIndexView =
  'absent' | 'open' | 'closed' | `follower ${'active' | 'paused'}` | `follower ${'active' | 'paused'} closed`;

export interface EsSiteView {
  reachable: boolean;
  indices?: Record<string, EsIndexView>;
  /** Those of the indices that carry the write block (`index.blocks.write`: a fence), by name. */
  writeBlocked?: string[];
  /** Auto-follow patterns of the cluster, by name. */
  autoFollowPatterns?: Record<string, 'active' | 'paused'>;
}

export interface TrafficView {
  reachable: boolean;
  /** HAProxy administrative state per server of the backend. */
  servers?: Record<string, HaproxyAdminState>;
}

export interface AppView {
  /** ok: /health answered 2xx; fail: it answered something else; down: no answer. */
  health: 'ok' | 'fail' | 'down';
  /** What the app says of its database, when it says. */
  dbReadOnly?: boolean;
}

/** Where to read each system of a pair, and the names to map addresses back to. */
export interface SnapshotTargets {
  mysql: {
    user: string;
    password: string;
    /** Each server's own address (the one its replicas use). */
    servers: { name: string; host: string; port: number }[];
  };
  elasticsearch: { sites: { site: string; url: string }[]; indices: string[] };
  traffic: { socket: string; backend: string };
  apps: { site: string; healthUrl: string }[];
}

export async function readSnapshot(targets: SnapshotTargets): Promise<DrPairSnapshot> {
  const [mysqlViews, esViews, traffic, apps] = await Promise.all([
    Promise.all(targets.mysql.servers.map((s) => readMysqlServer(targets.mysql, s))),
    Promise.all(targets.elasticsearch.sites.map((s) => readEsSite(s.url, targets.elasticsearch.indices))),
    readTraffic(targets.traffic),
    Promise.all(targets.apps.map((a) => readApp(a.healthUrl))),
  ]);
  return {
    mysql: Object.fromEntries(targets.mysql.servers.map((s, i) => [s.name, mysqlViews[i]!])),
    elasticsearch: Object.fromEntries(targets.elasticsearch.sites.map((s, i) => [s.site, esViews[i]!])),
    traffic,
    apps: Object.fromEntries(targets.apps.map((a, i) => [a.site, apps[i]!])),
  };
}

const isLoopback = (host: string) => host === 'localhost' || host.startsWith('127.');

async function readMysqlServer(
  account: SnapshotTargets['mysql'],
  server: { host: string; port: number },
): Promise<MysqlServerView> {
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({
      host: server.host,
      port: server.port,
      user: account.user,
      password: account.password,
      connectTimeout: 2_000,
    });
  } catch {
    return { reachable: false };
  }
  try {
    const [[state]] = await conn.query<RowDataPacket[]>('SELECT @@global.read_only AS ro');
    const [[replica]] = await conn.query<RowDataPacket[]>('SHOW SLAVE STATUS');
    if (!replica) return { reachable: true, readOnly: Number(state?.ro) !== 0, replicatesFrom: null };
    const host = String(replica.Master_Host);
    const port = Number(replica.Master_Port);
    const source = account.servers.find((s) => s.port === port && isLoopback(s.host) === isLoopback(host));
    return {
      reachable: true,
      readOnly: Number(state?.ro) !== 0,
      replicatesFrom: source?.name ?? `${host}:${port}`,
      ioRunning: String(replica.Slave_IO_Running),
      sqlRunning: String(replica.Slave_SQL_Running),
    };
  } catch {
    return { reachable: false };
  } finally {
    conn.destroy();
  }
}

async function readEsSite(url: string, indices: string[]): Promise<EsSiteView> {
  const client = new Client({ node: url, maxRetries: 0, requestTimeout: 3_000 });
  try {
    const [cat, follow, patterns, settings] = await Promise.all([
      client.cat.indices({ format: 'json', h: 'index,status', expand_wildcards: 'all' }),
      client.ccr.followInfo({ index: '_all' }),
      client.ccr.getAutoFollowPattern(),
      client.indices.getSettings({ flat_settings: true }),
    ]);
    const status = new Map(cat.map((i) => [String(i.index), String(i.status)]));
    const followers = new Map(follow.follower_indices.map((f) => [f.follower_index, f.status]));
    const view = (index: string): EsIndexView => {
      const state = status.get(index);
      if (state === undefined) return 'absent';
      const closed = state === 'close';
      const follower = followers.get(index);
      if (follower) return closed ? `follower ${follower} closed` : `follower ${follower}`;
      return closed ? 'closed' : 'open';
    };
    return {
      reachable: true,
      indices: Object.fromEntries(indices.map((i) => [i, view(i)])),
      writeBlocked: indices
        .filter((i) => (settings[i]?.settings as Record<string, unknown>)?.['index.blocks.write'] === 'true')
        .sort(),
      autoFollowPatterns: Object.fromEntries(
        patterns.patterns.map((p) => [p.name, p.pattern.active === false ? 'paused' : 'active']),
      ),
    };
  } catch {
    return { reachable: false };
  } finally {
    await client.close();
  }
}

async function readTraffic(target: SnapshotTargets['traffic']): Promise<TrafficView> {
  try {
    const states = await showServersState(new HaproxySocketClient(target.socket, 3_000), target.backend);
    return { reachable: true, servers: Object.fromEntries(states.map((s) => [s.server, s.admin])) };
  } catch {
    return { reachable: false };
  }
}

async function readApp(healthUrl: string): Promise<AppView> {
  try {
    const res = await fetch(healthUrl, { signal: AbortSignal.timeout(2_000) });
    const body = (await res.json().catch(() => ({}))) as { db_read_only?: unknown };
    return {
      health: res.ok ? 'ok' : 'fail',
      ...(typeof body.db_read_only === 'boolean' ? { dbReadOnly: body.db_read_only } : {}),
    };
  } catch {
    return { health: 'down' };
  }
}

/** One replica as its master lists it in `INFO replication` (`slaveN:ip=…,port=…,state=…,offset=…,lag=…`). */
export interface RedisReplicaEntry {
  ip: string;
  port: number;
  /** `online` once the initial sync is done (`wait_bgsave`, `send_bulk` before). */
  state: string;
  offset: number;
  lag: number;
}

/** What `INFO replication` says of one server (fields as Redis 7.0's server.c writes them). */
export interface RedisReplication {
  role: 'master' | 'slave';
  /** A replica's master, as REPLICAOF gave it. */
  masterHost?: string;
  masterPort?: number;
  /** A replica's link to its master: `up` once synced, `down` otherwise. */
  linkStatus?: 'up' | 'down';
  syncInProgress?: boolean;
  /** A replica: the offset of the replication stream it has processed. */
  replicaOffset?: number;
  /** A replica refuses writes (`replica-read-only`, on by default). */
  replicaReadOnly?: boolean;
  /** The offset of the replication stream this server holds (a master: everything it wrote). */
  replOffset: number;
  replId: string;
  /** `no-failover`, `waiting-for-sync` or `failover-in-progress` (FAILOVER's progress on a master). */
  failoverState: string;
  replicas: RedisReplicaEntry[];
}

export interface RedisServerStatus {
  server: string;
  site: string;
  reachable: boolean;
  replication?: RedisReplication;
  /** Why it could not be read (the failure type and its message), when unreachable. */
  error?: { type: string; message: string };
}

/** Parses the text of `INFO replication`. */
export function parseReplicationInfo(text: string): RedisReplication {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  const num = (key: string) => (fields.has(key) ? Number(fields.get(key)) : undefined);
  const role = fields.get('role');
  if (role !== 'master' && role !== 'slave')
    throw new Error(`INFO replication has no role master or slave (role: ${role ?? 'missing'})`);
  const replicas = [...fields.entries()]
    .filter(([key]) => /^slave\d+$/.test(key))
    .map(([, value]) => replicaEntry(value));
  return {
    role,
    ...(role === 'slave'
      ? {
          masterHost: fields.get('master_host'),
          masterPort: num('master_port'),
          linkStatus: fields.get('master_link_status') === 'up' ? 'up' : 'down',
          syncInProgress: fields.get('master_sync_in_progress') === '1',
          replicaOffset: num('slave_repl_offset'),
          replicaReadOnly: fields.get('slave_read_only') === '1',
        }
      : {}),
    replOffset: num('master_repl_offset') ?? 0,
    replId: fields.get('master_replid') ?? '',
    failoverState: fields.get('master_failover_state') ?? 'no-failover',
    replicas,
  };
}

function replicaEntry(value: string): RedisReplicaEntry {
  const parts = new Map(
    value.split(',').map((kv) => {
      const at = kv.indexOf('=');
      return [kv.slice(0, at), kv.slice(at + 1)] as const;
    }),
  );
  return {
    ip: parts.get('ip') ?? '',
    port: Number(parts.get('port') ?? 0),
    state: parts.get('state') ?? '',
    offset: Number(parts.get('offset') ?? 0),
    lag: Number(parts.get('lag') ?? 0),
  };
}

/** Whether `r` replicates from `source` (REPLICAOF host port as the runbook gives it). */
export const replicatesFrom = (r: RedisReplication | undefined, source: { host: string; port: number }) =>
  r?.role === 'slave' && r.masterHost === source.host && r.masterPort === source.port;

/** One sentence for a server's replication state. */
export function describeReplication(status: RedisServerStatus): string {
  const r = status.replication;
  if (!status.reachable || !r)
    return `${status.server} does not answer (${status.error?.message ?? 'no answer'})`;
  if (r.role === 'master')
    return `${status.server} is a master at offset ${r.replOffset} with ${r.replicas.length} replica(s)${r.failoverState !== 'no-failover' ? `, FAILOVER ${r.failoverState}` : ''}`;
  return `${status.server} replicates from ${r.masterHost}:${r.masterPort} (link ${r.linkStatus}${r.syncInProgress ? ', syncing' : ''}, offset ${r.replicaOffset})`;
}

import type { PairSettings } from '../../activities/pair-settings';
import type { RedisServerStatus } from '../../activities/redis';
import type { Check } from './check';

/**
 * What the Redis servers must be for a move from `from` to `to`: the replica of `to` answers and is a replica (a
 * second master would split the sessions); planned, the server of `from` answers as the master and the replica's link
 * to it is up, its initial sync done (FAILOVER refuses a replica that is not online).
 */
export function evaluateRedisReadiness(
  redis: NonNullable<PairSettings['redis']>,
  statuses: RedisServerStatus[],
  move: { from: string; to: string; planned: boolean },
): Check[] {
  const source = redis.servers.find((s) => s.site === move.from)!;
  const replica = redis.servers.find((s) => s.site === move.to)!.name;
  const old = source.name;
  const statusOf = (name: string) => statuses.find((s) => s.server === name);
  const r = statusOf(replica);
  const checks: Check[] = [
    {
      name: `redis-${replica}.reachable`,
      ok: !!r?.reachable,
      sentence: r?.reachable
        ? `Redis ${replica} answers.`
        : `Redis ${replica} does not answer (${r?.error?.message ?? 'no answer'}).`,
    },
  ];
  if (!r?.reachable || !r.replication) return checks;
  const rr = r.replication;
  checks.push({
    name: `redis-${replica}.role`,
    ok: rr.role === 'slave',
    sentence:
      rr.role === 'slave'
        ? `Redis ${replica} is a replica of ${rr.masterHost}:${rr.masterPort}.`
        : `Redis ${replica} is a master already: a second master would split the sessions.`,
  });
  if (!move.planned) return checks;
  const o = statusOf(old);
  checks.push({
    name: `redis-${old}.master`,
    ok: !!o?.reachable && o.replication?.role === 'master',
    sentence: !o?.reachable
      ? `Redis ${old} does not answer (${o?.error?.message ?? 'no answer'}): a planned move needs it to hand over.`
      : o.replication?.role === 'master'
        ? `Redis ${old} is the master (offset ${o.replication.replOffset}).`
        : `Redis ${old} is not a master.`,
  });
  const linked =
    rr.role === 'slave' &&
    rr.masterHost === source.host &&
    rr.masterPort === source.port &&
    rr.linkStatus === 'up' &&
    !rr.syncInProgress;
  checks.push({
    name: `redis-${replica}.link`,
    ok: linked,
    sentence: linked
      ? `Redis ${replica} is synced with ${old} (offset ${rr.replicaOffset}).`
      : `Redis ${replica} is not synced with ${old} (${rr.masterHost}:${rr.masterPort}, link ${rr.linkStatus}${rr.syncInProgress ? ', initial sync in progress' : ''}).`,
  });
  return checks;
}

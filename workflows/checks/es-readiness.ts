import type { EsFollowerStatusReport, EsHealthObservation } from '../../activities/elasticsearch';
import type { Check } from './check';

/** Judges the standby Elasticsearch cluster and its follower indices: pure, so it runs inside the workflow. */
export function evaluateEsReadiness(
  health: EsHealthObservation,
  followers?: EsFollowerStatusReport,
): Check[] {
  const site = health.site;
  const checks: Check[] = [
    health.reachable && health.status !== 'red'
      ? {
          name: `es-${site}.health`,
          ok: true,
          sentence: `Elasticsearch ${site} answers, health ${health.status}.`,
        }
      : {
          name: `es-${site}.health`,
          ok: false,
          sentence: health.reachable
            ? `Elasticsearch ${site} is red: some primary shards are unassigned.`
            : `Elasticsearch ${site} does not answer: ${health.failure?.type} ${health.failure?.message}.`,
        },
  ];
  for (const index of followers?.indices ?? []) {
    checks.push({
      name: `es-${site}.${index.index}`,
      ok: index.healthy,
      // Histories recorded before the activity gave its own sentence carry none.
      sentence: index.description || followerSentence(site, index, followers?.maxLagOperations ?? 0),
    });
  }
  return checks;
}

function followerSentence(
  site: string,
  index: EsFollowerStatusReport['indices'][number],
  maxLag: number,
): string {
  const name = `follower index ${index.index} on ${site}`;
  if (index.state === 'missing') return `${name} does not exist.`;
  if (index.state === 'not-follower')
    return `${name} is a regular index, not a follower (already promoted?).`;
  if (index.fatalException)
    return `${name} has stopped on ${index.fatalException.type}: ${index.fatalException.reason}.`;
  if (index.leaderIndexMissing)
    return `${name} has lost its leader index ${index.remoteCluster}:${index.leaderIndex}.`;
  if (index.state === 'paused') return `${name} is paused: it does not receive the leader's writes.`;
  const lag = index.lagOperations ?? 0;
  const reads = index.readExceptions.length > 0 ? `, ${index.readExceptions.length} read exception(s)` : '';
  return lag > maxLag
    ? `${name} is ${lag} operations behind (limit ${maxLag})${reads}.`
    : `${name} follows ${index.remoteCluster}:${index.leaderIndex}, ${lag} operation(s) behind${reads}.`;
}

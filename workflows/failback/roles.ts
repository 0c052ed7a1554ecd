import type { MysqlServerStatus } from '../../activities/mysql/status';
import type { PairSettings } from '../../activities/pair-settings';
import type { ActivityCall } from '../activity-options';

/** Where the pair stands, read from the systems themselves, not from the runbook's labels. */
export type Standing =
  /** The standby site is the primary: reprotect, switch back, re-establish. */
  | { kind: 'failed-over'; primary: string; sentence: string }
  /**
   * The runbook's primary site is the primary again but something is missing (a switch back aborted past the point
   * of no return, or forward replication not whole): finish the switch, then re-establish.
   */
  | {
      kind: 'half-failed-back';
      primary: string;
      sentence: string;
      missing: string[];
      /** Traffic goes to the primary site alone; undefined when the runbook has no traffic switch. */
      trafficHome?: boolean;
    }
  /** Nothing to fail back, or the roles cannot be told: refused. */
  | { kind: 'refused'; sentence: string };

/** Whether `s` replicates, both threads running, from the server at `source`. */
export const replicatesFrom = (s: MysqlServerStatus, source: { host: string; port: number }) =>
  !!s.replication &&
  s.replication.sourceHost === source.host &&
  s.replication.sourcePort === source.port &&
  s.replication.ioRunning === 'Yes' &&
  s.replication.sqlRunning === 'Yes';

/**
 * Reads which MySQL server is writable, which indices follow which site and where traffic goes, and says
 * whether the pair is failed over (to the runbook's standby site), half failed back, or neither.
 */
export async function observeStanding(settings: PairSettings, call: ActivityCall): Promise<Standing> {
  const pair = settings.pair;
  const { primary: home, standby: away } = settings.sites;
  const statuses = await call('read', 'mysqlServerStatuses', { pair }, 'read every MySQL server');
  const writable = statuses.filter((s) => s.reachable && !s.readOnly && !s.superReadOnly);
  const awayWritable = writable.filter((s) => s.site === away);
  const traffic = settings.traffic
    ? await call('read', 'trafficCurrentTarget', { pair }, 'where traffic goes')
    : undefined;
  const trafficHome = !!traffic && traffic.sites.length === 1 && traffic.sites[0] === home;
  if (awayWritable.length === 1 && !trafficHome) {
    const primary = awayWritable[0]!;
    const stale = writable.filter((s) => s.site === home).map((s) => s.server);
    return {
      kind: 'failed-over',
      primary: primary.server,
      sentence:
        `${pair} is failed over: ${primary.server} in ${away} is the writable MySQL primary` +
        `${traffic ? ` and ${traffic.description.replace(/\.$/, '')}` : ''}.` +
        (stale.length ? ` ${stale.join(', ')} in ${home} took writes again and will be fenced first.` : ''),
    };
  }
  if (writable.length !== 1)
    return {
      kind: 'refused',
      sentence:
        writable.length === 0
          ? 'refusing to fail back: no MySQL server is writable, so which site is the primary cannot be told from the state; a human must look.'
          : `refusing to fail back: ${writable.map((s) => s.server).join(' and ')} are all writable and the traffic does not tell which one is the primary; a human must decide which one holds the truth.`,
    };
  const primary = writable[0]!;
  if (primary.site !== home)
    return {
      kind: 'refused',
      sentence: `refusing to fail back: ${primary.server} in ${primary.site} is writable but the traffic goes to ${home}; a human must look.`,
    };
  const missing: string[] = [];
  const source = settings.mysql.servers.find((s) => s.name === primary.server)!;
  for (const s of statuses.filter((x) => x.server !== primary.server))
    if (!replicatesFrom(s, source)) missing.push(`${s.server} does not replicate from ${primary.server}`);
  if (settings.elasticsearch) {
    const followers = await call(
      'read',
      'esFollowerStatus',
      { pair, site: away },
      `read the followers on ${away}`,
    );
    for (const i of followers.indices.filter((x) => x.state !== 'active' && x.state !== 'paused'))
      missing.push(`${away}/${i.index} is not a follower (${i.state})`);
  }
  // Runbooks without a redis section read exactly what they did.
  if (settings.redis) missing.push(...(await redisMissing(settings, call)));
  if (traffic && !trafficHome) missing.push(`traffic does not go to ${home} alone (${traffic.description})`);
  if (missing.length === 0)
    return {
      kind: 'refused',
      sentence: `refusing to fail back ${pair}: it is not failed over (${primary.server} in ${home} is the writable primary and ${away} replicates from it).`,
    };
  return {
    kind: 'half-failed-back',
    primary: primary.server,
    missing,
    ...(traffic ? { trafficHome } : {}),
    sentence: `${pair} is half failed back: ${primary.server} in ${home} is the primary again, but ${missing.join('; ')}.`,
  };
}

/** What the Redis pair lacks for forward replication: the primary site's server the master, the other its replica. */
async function redisMissing(settings: PairSettings, call: ActivityCall): Promise<string[]> {
  const { primary: home } = settings.sites;
  const statuses = await call(
    'read',
    'redisServerStatuses',
    { pair: settings.pair },
    'read every Redis server',
  );
  const master = settings.redis!.servers.find((s) => s.site === home)!;
  const replica = settings.redis!.servers.find((s) => s.site !== home)!;
  const of = (name: string) => statuses.find((s) => s.server === name)?.replication;
  const missing: string[] = [];
  if (of(master.name)?.role !== 'master') missing.push(`${master.name} is not the Redis master`);
  const r = of(replica.name);
  if (r?.role !== 'slave' || r.masterHost !== master.host || r.masterPort !== master.port)
    missing.push(`${replica.name} does not replicate from ${master.name} (Redis)`);
  return missing;
}

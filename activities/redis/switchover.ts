import { heartbeat, log } from '@temporalio/activity';
import { durationMs } from '../../config/duration';
import type { RedisServerConfig } from '../../config/schema';
import { readReplication, type RedisClients, type RedisSession } from './clients';
import { persistRoles, replicaOf } from './roles';
import { redisDecision } from './errors';
import { catchUpInput, checkedInput, promoteInput, replicateInput, serverInput } from './inputs';
import { replicatesFrom, type RedisReplication } from './status';
import { throwIfCancelled } from '../activity-context';

/** What a mutating Redis activity did: its commands in order (none when nothing was left to do) and its sentence. */
export interface RedisChangeResult {
  server: string;
  /** True when the server was already as asked: the activity changed nothing. */
  already: boolean;
  steps: string[];
  description: string;
}

export interface RedisCatchUpResult extends RedisChangeResult {
  /** The master's offset the replica reached. */
  offset: number;
  waitedMs: number;
}

export interface RedisPromoteResult extends RedisChangeResult {
  /** `failover`: FAILOVER handed over; `replicaof`: REPLICAOF NO ONE (then the old master repointed, if it answers). */
  method?: 'failover' | 'replicaof';
  /**
   * Bytes of the old master's replication stream the promoted server had not read when promoted: 0 after a
   * switchover; unknown (absent) when the old master did not answer.
   */
  lostBytes?: number;
}

const POLL_MS = 50;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function beat(details: Record<string, unknown>): void {
  try {
    heartbeat(details);
  } catch {
    // not inside an activity (direct call)
  }
}

const done = <T extends RedisChangeResult>(result: T): T => {
  log.info(result.description);
  return result;
};

/**
 * The Redis session store's changes: pause writes on a master (the fence), wait until its replica has read
 * everything, promote the replica (FAILOVER when both answer, REPLICAOF NO ONE otherwise), make a server replicate
 * from another (the repoint, the watcher's fence, the failback's reprotect). Each reads the state first and does
 * only what is left: a retry after success changes nothing and says so.
 */
export function createRedisSwitchoverActivities({ clients }: { clients: RedisClients }) {
  const timeouts = (pair: string) => {
    const s = clients.settings(pair);
    return {
      pauseMs: durationMs(s.pauseTimeout),
      catchUpMs: durationMs(s.catchUpTimeout),
      failoverMs: durationMs(s.failoverTimeout),
    };
  };

  return {
    /**
     * The fence of a planned move: the master's clients may read but every write waits (`CLIENT PAUSE <ms> WRITE`;
     * replication goes on), for the runbook's pauseTimeout at most. A replica refuses writes already: nothing to do.
     * A retry pauses again, which only moves the pause's end later.
     */
    async redisPauseWrites(unchecked: { pair: string; server: string }): Promise<RedisChangeResult> {
      const input = checkedInput('redisPauseWrites', serverInput, unchecked);
      const { pauseMs } = timeouts(input.pair);
      return clients.with(input.pair, input.server, async (session) => {
        const r = await readReplication(session);
        if (r.role === 'slave' && r.replicaReadOnly !== false)
          return done({
            server: input.server,
            already: true,
            steps: [],
            description: `${input.server} refuses writes already: it is a read-only replica of ${r.masterHost}:${r.masterPort}.`,
          });
        const command = ['CLIENT', 'PAUSE', pauseMs, 'WRITE'] as const;
        await session.command(...command);
        return done({
          server: input.server,
          already: false,
          steps: [command.join(' ')],
          description: `${input.server} holds every write for up to ${pauseMs / 1000}s (CLIENT PAUSE ${pauseMs} WRITE; reads and replication go on) at offset ${r.replOffset}.`,
        });
      });
    },

    /** Undoes the fence: `CLIENT UNPAUSE` (a no-op on a server not paused, which Redis does not tell apart). */
    async redisUnpauseWrites(unchecked: { pair: string; server: string }): Promise<RedisChangeResult> {
      const input = checkedInput('redisUnpauseWrites', serverInput, unchecked);
      return clients.with(input.pair, input.server, async (session) => {
        await session.command('CLIENT', 'UNPAUSE');
        return done({
          server: input.server,
          already: false,
          steps: ['CLIENT UNPAUSE'],
          description: `${input.server} takes writes again (CLIENT UNPAUSE).`,
        });
      });
    },

    /**
     * Waits, bounded by the runbook's catchUpTimeout, until `server` (a replica whose link to `untilServer` is up)
     * has processed the whole replication stream of `untilServer` (slave_repl_offset = master_repl_offset). Meant
     * for a paused master: otherwise the target moves with every write.
     */
    async redisCatchUp(unchecked: {
      pair: string;
      server: string;
      untilServer: string;
    }): Promise<RedisCatchUpResult> {
      const input = checkedInput('redisCatchUp', catchUpInput, unchecked);
      const { catchUpMs } = timeouts(input.pair);
      return clients.with(input.pair, input.untilServer, (master) =>
        clients.with(input.pair, input.server, async (replica) => {
          const started = Date.now();
          const reached = await waitForOffsets(master, replica, catchUpMs);
          const waitedMs = Date.now() - started;
          const already = reached.polls === 1;
          return done({
            server: input.server,
            already,
            steps: [],
            offset: reached.offset,
            waitedMs,
            description: already
              ? `${input.server} had already read everything ${input.untilServer} holds (offset ${reached.offset}).`
              : `${input.server} has read everything ${input.untilServer} holds (offset ${reached.offset}) after ${waitedMs} ms.`,
          });
        }),
      );
    },

    /**
     * Promotes `server`, the replica of `from`. Already a master: nothing to do. `from` answers as a master: a
     * zero-loss handover (its writes paused again, the offsets equal, then `FAILOVER TO <replica> TIMEOUT <ms>`,
     * which leaves `from` a replica of `server`; REPLICAOF NO ONE then REPLICAOF on `from` when `from` does not list
     * the replica). Otherwise, unless `switchoverOnly`: `REPLICAOF NO ONE` on `server`, keeping what it has.
     */
    async redisPromote(unchecked: {
      pair: string;
      server: string;
      from: string;
      switchoverOnly: boolean;
    }): Promise<RedisPromoteResult> {
      const input = checkedInput('redisPromote', promoteInput, unchecked);
      const target = clients.server(input.pair, input.server);
      const current = await clients.replication(input.pair, input.server);
      if (current.role === 'master')
        return done({
          server: input.server,
          already: true,
          steps: [],
          description: `${input.server} is a master already (offset ${current.replOffset}).`,
        });
      const old = await clients.replication(input.pair, input.from).catch((err: unknown) => err as Error);
      if (!(old instanceof Error) && old.role === 'master') {
        if (input.switchoverOnly || current.linkStatus === 'up')
          return clients.with(input.pair, input.from, (master) =>
            clients.with(input.pair, input.server, (replica) =>
              switchover(master, replica, target, timeouts(input.pair)),
            ),
          );
        // Unplanned, the replica cut from a master that still answers the worker: no handover can be checked; the
        // replica takes over and the old master becomes its replica, so that it takes no more writes.
        return clients.with(input.pair, input.from, (master) =>
          clients.with(input.pair, input.server, (replica) =>
            takeover(replica, current, `its link to ${input.from} is down`, {
              master,
              offset: old.replOffset,
            }),
          ),
        );
      }
      const why =
        old instanceof Error
          ? `${input.from} does not answer (${old.message})`
          : `${input.from} is not a master (it replicates from ${old.masterHost}:${old.masterPort})`;
      if (input.switchoverOnly)
        throw redisDecision(
          'RedisMasterUnreachableForSwitchover',
          `refusing to promote ${input.server} in a planned move: ${why}, so whether ${input.server} has everything it wrote cannot be checked.`,
          { server: input.server, from: input.from },
        );
      return clients.with(input.pair, input.server, (replica) => takeover(replica, current, why));
    },

    /**
     * Makes `server` a read-only replica of `source` (`REPLICAOF host port`; masterauth set first when the runbook
     * has a password), after checking that `source` is a master: the repoint after a promotion, the watcher's fence
     * of a returning old master, the failback's reprotect. `unpause` also lifts a write pause left on it. A server
     * already replicating from `source` is left as it is (its pause lifted when asked).
     */
    async redisReplicate(unchecked: {
      pair: string;
      server: string;
      source: string;
      unpause?: boolean;
    }): Promise<RedisChangeResult> {
      const input = checkedInput('redisReplicate', replicateInput, unchecked);
      const source = clients.server(input.pair, input.source);
      const sourceState = await clients.replication(input.pair, input.source);
      if (sourceState.role !== 'master')
        throw redisDecision(
          'RedisSourceNotMaster',
          `refusing to make ${input.server} replicate from ${input.source}: ${input.source} is not a master (it replicates from ${sourceState.masterHost}:${sourceState.masterPort}).`,
          { server: input.server, source: input.source },
        );
      return clients.with(input.pair, input.server, async (session) => {
        const before = await readReplication(session);
        const steps: string[] = [];
        if (!replicatesFrom(before, source)) steps.push(...(await replicaOf(session, source)));
        if (input.unpause) {
          await session.command('CLIENT', 'UNPAUSE');
          steps.push('CLIENT UNPAUSE');
        }
        const after = await readReplication(session);
        if (!replicatesFrom(after, source) || after.replicaReadOnly === false)
          throw redisDecision(
            'RedisRoleNotReached',
            `${input.server} is not a read-only replica of ${input.source} after ${steps.join('; ') || 'checking it'} (role ${after.role}${after.role === 'slave' ? `, master ${after.masterHost}:${after.masterPort}, read-only ${after.replicaReadOnly}` : ''}).`,
            { server: input.server, source: input.source },
          );
        const already = !steps.some((s) => s.startsWith('REPLICAOF'));
        const unpaused = input.unpause ? '; its write pause is lifted' : '';
        if (already)
          return done({
            server: input.server,
            already,
            steps,
            description: `${input.server} already replicates from ${input.source} (read-only, link ${after.linkStatus})${unpaused}.`,
          });
        const saved = await persistRoles([session]);
        return done({
          server: input.server,
          already,
          steps: [...steps, ...saved.steps],
          description: `${input.server} is a read-only replica of ${input.source} (${steps.join('; ')}; link ${after.linkStatus}); what it held beyond ${input.source} is replaced by ${input.source}'s data. ${saved.sentence}`,
        });
      });
    },
  };
}

/**
 * Polls both servers until the replica's link to the master is up and its offset equals the master's, or
 * `timeoutMs` passes (non-retryable RedisNotCaughtUp, with both offsets).
 */
async function waitForOffsets(
  master: RedisSession,
  replica: RedisSession,
  timeoutMs: number,
): Promise<{ offset: number; polls: number }> {
  const deadline = Date.now() + timeoutMs;
  for (let polls = 1; ; polls++) {
    const [m, r] = [await readReplication(master), await readReplication(replica)];
    if (!replicatesFrom(r, master.server))
      throw redisDecision(
        'RedisRoleNotReached',
        `${replica.server.name} does not replicate from ${master.server.name} (role ${r.role}${r.role === 'slave' ? `, master ${r.masterHost}:${r.masterPort}` : ''}), so it cannot catch up with it.`,
      );
    if (r.linkStatus === 'up' && r.replicaOffset === m.replOffset) return { offset: m.replOffset, polls };
    if (Date.now() > deadline)
      throw redisDecision(
        'RedisNotCaughtUp',
        `${replica.server.name} did not read everything ${master.server.name} holds within ${timeoutMs / 1000}s: offset ${r.replicaOffset} of ${m.replOffset}, link ${r.linkStatus}${r.syncInProgress ? ', initial sync in progress' : ''}.`,
        { replicaOffset: r.replicaOffset, masterOffset: m.replOffset, linkStatus: r.linkStatus },
      );
    beat({ replicaOffset: r.replicaOffset, masterOffset: m.replOffset });
    throwIfCancelled();
    await sleep(POLL_MS);
  }
}

/**
 * The zero-loss handover from a master that answers: its writes paused (again: the fence's pause may have run out),
 * the replica caught up, then FAILOVER (or REPLICAOF NO ONE and the old master repointed, when the master does not
 * list the replica at its runbook port), and both roles checked.
 */
async function switchover(
  master: RedisSession,
  replica: RedisSession,
  target: RedisServerConfig,
  { pauseMs, catchUpMs, failoverMs }: { pauseMs: number; catchUpMs: number; failoverMs: number },
): Promise<RedisPromoteResult> {
  const steps = [`CLIENT PAUSE ${pauseMs} WRITE on ${master.server.name}`];
  await master.command('CLIENT', 'PAUSE', pauseMs, 'WRITE');
  const { offset } = await waitForOffsets(master, replica, catchUpMs);
  steps.push(`offsets equal at ${offset}`);
  const m = await readReplication(master);
  const entry = listedReplica(m, target);
  let method: 'failover' | 'replicaof';
  if (entry) {
    method = 'failover';
    await master.command('FAILOVER', 'TO', entry.ip, entry.port, 'TIMEOUT', failoverMs);
    steps.push(`FAILOVER TO ${entry.ip} ${entry.port} TIMEOUT ${failoverMs} on ${master.server.name}`);
    await waitForFailoverEnd(master, failoverMs + 5_000);
  } else {
    method = 'replicaof';
    await replica.command('REPLICAOF', 'NO', 'ONE');
    steps.push(`REPLICAOF NO ONE on ${replica.server.name}`);
    steps.push(...(await replicaOf(master, target)).map((s) => `${s} on ${master.server.name}`));
  }
  const [newRole, oldRole] = [await readReplication(replica), await readReplication(master)];
  if (newRole.role !== 'master')
    throw redisDecision(
      method === 'failover' ? 'RedisFailoverRolledBack' : 'RedisRoleNotReached',
      `${replica.server.name} is not a master after ${steps.join('; ')}: ${method === 'failover' ? `FAILOVER did not hand over (it rolls back when the replica does not confirm within ${failoverMs} ms); ${master.server.name} is ${oldRole.role === 'master' ? 'still the master, its writes paused' : `a replica of ${oldRole.masterHost}:${oldRole.masterPort}`}` : 'REPLICAOF NO ONE did not take'}.`,
      { server: replica.server.name, steps },
    );
  const via =
    method === 'failover'
      ? `FAILOVER handed over; ${master.server.name} is a replica of it`
      : `REPLICAOF NO ONE, ${master.server.name} repointed to it`;
  const saved = await persistRoles([replica, master]);
  return done({
    server: replica.server.name,
    already: false,
    steps: [...steps, ...saved.steps],
    method,
    lostBytes: 0,
    description: `${replica.server.name} is the master with everything ${master.server.name} held (offset ${offset}; ${via}). ${saved.sentence}`,
  });
}

/** The master's entry for `target`: the one at its port (and, among several, its host), once its sync is done. */
function listedReplica(m: RedisReplication, target: RedisServerConfig) {
  const atPort = m.replicas.filter((r) => r.port === target.port && r.state === 'online');
  return atPort.length === 1 ? atPort[0] : atPort.find((r) => r.ip === target.host);
}

async function waitForFailoverEnd(master: RedisSession, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await readReplication(master)).failoverState !== 'no-failover' && Date.now() < deadline) {
    beat({ failover: 'in progress' });
    throwIfCancelled();
    await sleep(POLL_MS);
  }
}

/**
 * The old master is gone, not a master, or cut from the replica: REPLICAOF NO ONE on the replica, keeping what it
 * read. An old master that still answers the worker (`old`) is made a replica of the promoted one at once, so that it
 * takes no more writes; what it held beyond the replica (its offset minus the replica's) is then counted as lost.
 */
async function takeover(
  replica: RedisSession,
  before: RedisReplication,
  why: string,
  old?: { master: RedisSession; offset: number },
): Promise<RedisPromoteResult> {
  await replica.command('REPLICAOF', 'NO', 'ONE');
  const steps = ['REPLICAOF NO ONE'];
  const after = await readReplication(replica);
  if (after.role !== 'master')
    throw redisDecision(
      'RedisRoleNotReached',
      `${replica.server.name} is not a master after REPLICAOF NO ONE.`,
    );
  const read = before.replicaOffset ?? 0;
  const lostBytes = old ? Math.max(0, old.offset - read) : undefined;
  if (old)
    steps.push(
      ...(await replicaOf(old.master, replica.server)).map((s) => `${s} on ${old.master.server.name}`),
    );
  const lost = old
    ? `the ${lostBytes} byte(s) of ${old.master.server.name}'s replication stream it had not read are lost, and ${old.master.server.name} replicates from it now`
    : 'what the old master wrote after that is lost';
  const saved = await persistRoles(old ? [replica, old.master] : [replica]);
  return done<RedisPromoteResult>({
    server: replica.server.name,
    already: false,
    steps: [...steps, ...saved.steps],
    method: 'replicaof',
    ...(lostBytes !== undefined ? { lostBytes } : {}),
    description: `${replica.server.name} is the master (REPLICAOF NO ONE) with what it had read (offset ${read}, link ${before.linkStatus}): ${why}, so ${lost}. ${saved.sentence}`,
  });
}

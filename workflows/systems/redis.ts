import type { RedisChangeResult, RedisServerStatus } from '../../activities/redis';
import type { Check } from '../checks/check';
import { evaluateRedisReadiness } from '../checks/redis-readiness';
import type { DataLossEstimate } from '../definitions';
import type { PlanStep } from '../steps';
import type { Observation, RunContext, SystemContribution, SystemPlan } from './system';

/** The runbook's Redis server of `site`. */
export function redisServerOf(ctx: RunContext, site: string): { name: string; host: string; port: number } {
  const server = ctx.settings.redis!.servers.find((s) => s.site === site);
  if (!server) throw new Error(`the runbook has no Redis server in site ${site}`);
  return server;
}

/**
 * The Redis session store: the old site's master holds every write (CLIENT PAUSE WRITE: the fence, lifted if the
 * run is undone before the point of no return), its replica reads everything it holds (planned), is promoted
 * (FAILOVER when both answer, REPLICAOF NO ONE otherwise), and the old master replicates from it, its pause lifted.
 * Unplanned, an old master that cannot be paused is left to the old-site watcher, which makes it a replica of the
 * promoted one as soon as it answers.
 */
export function redisContribution(): SystemContribution {
  let statuses: RedisServerStatus[] = [];
  const read = async (ctx: RunContext) => {
    statuses = await ctx.call(
      'read',
      'redisServerStatuses',
      { pair: ctx.settings.pair },
      'read every Redis server',
    );
    return statuses;
  };
  const statusOf = (name: string) => statuses.find((s) => s.server === name);

  return {
    system: 'redis',

    async observe(ctx): Promise<Observation[]> {
      await read(ctx);
      const old = redisServerOf(ctx, ctx.from);
      const replica = redisServerOf(ctx, ctx.to);
      const o = statusOf(old.name);
      const r = statusOf(replica.name);
      const link = r?.reachable && r.replication?.role === 'slave' ? r.replication.linkStatus : undefined;
      return [
        {
          system: 'redis',
          vantage: `worker → ${old.name}`,
          kind: 'worker',
          down: !o?.reachable,
          sentence: o?.reachable
            ? `the worker reaches ${old.name}.`
            : `the worker cannot reach ${old.name} (${o?.error?.type ?? 'no answer'}).`,
        },
        {
          system: 'redis',
          vantage: `${replica.name} link`,
          kind: 'peer',
          down: link === undefined ? undefined : link !== 'up',
          sentence: !r?.reachable
            ? `${replica.name} does not answer, so it cannot tell.`
            : link === undefined
              ? `${replica.name} replicates from nothing, so it cannot tell.`
              : link === 'up'
                ? `${replica.name}'s link to its master is up.`
                : `${replica.name} has lost its link to its master.`,
        },
      ];
    },

    async assess(ctx): Promise<Check[]> {
      await read(ctx);
      return evaluateRedisReadiness(ctx.settings.redis!, statuses, ctx);
    },

    async plan(ctx): Promise<SystemPlan> {
      const pair = ctx.settings.pair;
      const old = redisServerOf(ctx, ctx.from).name;
      const promoted = redisServerOf(ctx, ctx.to).name;
      let fence: RedisChangeResult | undefined;
      // A master that did not answer when the plan was made, and whose fence did not succeed, was paused by no one:
      // its undo does not wait for it (and then for a human).
      const answered = !!statusOf(old)?.reachable;
      const steps: PlanStep[] = [
        {
          id: 'redis.fence',
          phase: 'fence',
          system: 'redis',
          title: `hold every write on Redis ${old} (CLIENT PAUSE WRITE)`,
          target: old,
          compensation: `lift the write pause on ${old}`,
          run: async () => {
            fence = await ctx.call(
              ctx.planned ? 'change' : 'read',
              'redisPauseWrites',
              { pair, server: old },
              `pause writes on ${old}`,
            );
            return fence.description;
          },
          undo: async () => {
            if (!fence && !answered) return `${old} did not answer, so the run paused nothing on it.`;
            if (fence?.already) return `${old} was not paused by the run (${fence.description})`;
            return (
              await ctx.call(
                'change',
                'redisUnpauseWrites',
                { pair, server: old },
                `unpause writes on ${old}`,
              )
            ).description;
          },
        },
        ...(ctx.planned
          ? [
              {
                id: 'redis.catch-up',
                phase: 'prepare',
                system: 'redis',
                title: `let ${promoted} read everything ${old} holds`,
                target: promoted,
                run: async () =>
                  (
                    await ctx.call(
                      'catchUp',
                      'redisCatchUp',
                      { pair, server: promoted, untilServer: old },
                      `catch up ${promoted}`,
                    )
                  ).description,
              } satisfies PlanStep,
            ]
          : []),
        {
          id: 'redis.promote',
          phase: 'promote',
          system: 'redis',
          title: `promote Redis ${promoted} (FAILOVER, or REPLICAOF NO ONE when ${old} does not answer)`,
          target: promoted,
          run: async () =>
            (
              await ctx.call(
                'catchUp',
                'redisPromote',
                { pair, server: promoted, from: old, switchoverOnly: ctx.planned },
                `promote ${promoted}`,
              )
            ).description,
        },
        {
          id: 'redis.repoint',
          phase: 'verify',
          system: 'redis',
          title: `make ${old} a replica of ${promoted} and lift its write pause`,
          target: old,
          run: async () => {
            if (!ctx.planned && !fence)
              return `${old} was not fenced by the run: the old-site watcher makes it a replica of ${promoted} as soon as it answers.`;
            return (
              await ctx.call(
                'change',
                'redisReplicate',
                { pair, server: old, source: promoted, unpause: true },
                `repoint ${old}`,
              )
            ).description;
          },
        },
      ];
      return { steps, dataLoss: redisDataLoss(ctx, statusOf(old), statusOf(promoted)) };
    },
  };
}

function redisDataLoss(
  ctx: RunContext,
  old: RedisServerStatus | undefined,
  replica: RedisServerStatus | undefined,
): DataLossEstimate {
  if (ctx.planned)
    return {
      system: 'redis',
      count: 0,
      unit: 'operations',
      sentence: 'none: the replica is promoted only once it has read everything the paused master holds.',
    };
  const masterOffset = old?.reachable ? old.replication?.replOffset : undefined;
  const replicaOffset = replica?.replication?.replicaOffset;
  return {
    system: 'redis',
    unit: 'operations',
    sentence:
      masterOffset !== undefined && replicaOffset !== undefined
        ? `${Math.max(0, masterOffset - replicaOffset)} byte(s) of the replication stream when last read (master offset ${masterOffset}, replica ${replicaOffset}); unless the old master answers at the promotion, which then hands over with nothing lost.`
        : `unknown: the writes the old master took after the replica's last read (offset ${replicaOffset ?? 'unknown'}) are lost.`,
  };
}

import { log } from '@temporalio/activity';
import type { RedisClients } from './clients';
import { checkedInput, pairInput } from './inputs';
import { describeReplication, type RedisServerStatus } from './status';
import { createRedisSwitchoverActivities } from './switchover';

export type { RedisServerStatus, RedisReplication } from './status';
export type { RedisCatchUpResult, RedisChangeResult, RedisPromoteResult } from './switchover';
export { RedisClients } from './clients';

/** The Redis session store's activities, over the worker's clients (created per call from the runbook). */
export function createRedisActivities({ clients }: { clients: RedisClients }) {
  return {
    /** Reads, in parallel, `INFO replication` of every Redis server of the pair; one that does not answer is reported. */
    async redisServerStatuses(unchecked: { pair: string }): Promise<RedisServerStatus[]> {
      const input = checkedInput('redisServerStatuses', pairInput, unchecked);
      const statuses = await clients.statuses(input.pair);
      for (const s of statuses) log.info(describeReplication(s), { server: s.server });
      return statuses;
    },
    ...createRedisSwitchoverActivities({ clients }),
  };
}

import { log } from '@temporalio/activity';
import type { MysqlConnections } from './connections';
import { SQL } from './dialect';
import { mysqlDecision, refuseIncompleteRebuild } from './errors';
import { checkedInput, unfenceInput } from './inputs';
import { MysqlSession } from './session';

export interface UnfenceResult {
  server: string;
  alreadyWritable: boolean;
  /** Statements run, in order (none when it was already writable). */
  steps: string[];
  description: string;
}

/**
 * Undoes a fence (the failover's compensation before the point of no return): the server is writable again.
 * Refuses a server that replicates from another (`UnfenceOfReplica`: a replica must stay read-only), and one that
 * holds an incomplete rebuild (`RebuildIncomplete`); neither is retried. Idempotent.
 */
export function createMysqlUnfenceActivities({ connections }: { connections: MysqlConnections }) {
  return {
    async mysqlUnfence(unchecked: { pair: string; server: string }): Promise<UnfenceResult> {
      const input = checkedInput('mysqlUnfence', unfenceInput, unchecked);
      const session = await MysqlSession.open(connections, input.pair, input.server);
      const before = await session.status();
      refuseIncompleteRebuild(before, 'making it writable');
      if (before.replication)
        throw mysqlDecision(
          'UnfenceOfReplica',
          `refusing to make ${input.server} writable: it replicates from ` +
            `${before.replication.sourceHost}:${before.replication.sourcePort}, and a replica must stay read-only.`,
          { server: input.server },
        );
      const steps: string[] = [];
      if (before.readOnly || before.superReadOnly) {
        for (const statement of SQL[session.dialect].unfence) {
          await session.exec(statement);
          steps.push(statement);
        }
      }
      const after = await session.status();
      if (after.readOnly || after.superReadOnly)
        throw mysqlDecision(
          'StillReadOnlyAfterUnfence',
          `${input.server} is still read-only after ${steps.join('; ') || 'unfencing'}: something turned it ` +
            'back or refused it; a human must find what sets read_only on it.',
          { server: input.server, readOnly: after.readOnly, superReadOnly: after.superReadOnly },
        );
      const description = steps.length
        ? `${input.server} is writable again (${steps.join('; ')}).`
        : `${input.server} was already writable.`;
      log.info(description);
      return { server: input.server, alreadyWritable: steps.length === 0, steps, description };
    },
  };
}

import { log } from '@temporalio/activity';
import type { MysqlConnections } from './connections';
import { SQL } from './dialect';
import { mysqlFailure, refuseIncompleteRebuild } from './errors';
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
 * Refuses a server that replicates from another (a replica must stay read-only), and one that holds an incomplete
 * rebuild (`RebuildIncomplete`). Idempotent.
 */
export function createMysqlUnfenceActivities({ connections }: { connections: MysqlConnections }) {
  return {
    async mysqlUnfence(input: { pair: string; server: string }): Promise<UnfenceResult> {
      const session = await MysqlSession.open(connections, input.pair, input.server);
      const before = await session.status();
      refuseIncompleteRebuild(before, 'making it writable');
      if (before.replication)
        throw mysqlFailure(
          input.server,
          new Error('refusing to make a replica writable: it replicates from another server'),
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
        throw mysqlFailure(input.server, new Error('still read-only after unfencing'));
      const description = steps.length
        ? `${input.server} is writable again (${steps.join('; ')}).`
        : `${input.server} was already writable.`;
      log.info(description);
      return { server: input.server, alreadyWritable: steps.length === 0, steps, description };
    },
  };
}

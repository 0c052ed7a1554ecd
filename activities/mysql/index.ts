import { log } from '@temporalio/activity';
import type { SshClient } from '../apps/ssh';
import type { RunbookRegistry } from '../runbooks';
import type { MysqlConnections } from './connections';
import { createMysqlFailoverActivities } from './failover';
import { createMysqlLossActivities } from './loss';
import { createMysqlMhaActivities } from './mha';
import { createMysqlSalvageActivities } from './salvage';
import { readServerStatus, type MysqlServerStatus } from './status';
import { createMysqlRebuildActivities } from './rebuild';
import { createMysqlUnfenceActivities } from './unfence';

export type { MysqlServerStatus } from './status';
export type { RebuildResult } from './rebuild';
export type {
  CatchUpResult,
  ErrantTransactionsReport,
  FenceResult,
  PromoteResult,
  RepointResult,
} from './failover';
export type { SalvageResult } from './salvage';
export type { MeasuredLoss } from './loss';
export type { MhaSwitchResult } from './mha';
export type { CandidateChoice, CandidateAssessment } from '../../common/mysql-candidates';

export interface MysqlActivityDeps {
  runbooks: RunbookRegistry;
  connections: MysqlConnections;
  /** SSH to the database hosts, for salvaging a dead primary's binlog. */
  ssh: SshClient;
}

export function createMysqlActivities({ runbooks, connections, ssh }: MysqlActivityDeps) {
  return {
    /** Reads, in parallel, the state of every MySQL server of the pair. Unreachable servers are reported, not thrown. */
    async mysqlServerStatuses(input: { pair: string }): Promise<MysqlServerStatus[]> {
      const { servers } = runbooks.get(input.pair).runbook.mysql;
      const secrets = connections.secrets(input.pair);
      const statuses = await Promise.all(
        servers.map((s) =>
          readServerStatus((sql) => connections.query(input.pair, s.name, sql), s.name, s.site, secrets),
        ),
      );
      for (const s of statuses) {
        log.info(
          s.reachable
            ? `${s.server}: ${s.dialect} ${s.version}, read_only=${s.readOnly}`
            : `${s.server}: unreachable`,
          {
            server: s.server,
          },
        );
      }
      return statuses;
    },
    ...createMysqlFailoverActivities({ runbooks, connections }),
    ...createMysqlUnfenceActivities({ connections }),
    ...createMysqlLossActivities({ connections }),
    ...createMysqlSalvageActivities({ runbooks, connections, ssh }),
    ...createMysqlRebuildActivities({ connections }),
    ...createMysqlMhaActivities({ runbooks, connections }),
  };
}

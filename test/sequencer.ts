import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take more than a few seconds, slowest first (seconds in a whole `npm test` run on 2 cores,
 * measured 2026-12-07): the longest start at once, and the short ones come last to fill the gaps, so the run does
 * not end waiting on one long file. The others follow in name order.
 */
const SLOWEST_FIRST = [
  'failover.workflow.test.ts', // 121
  'failover-faults.e2e.test.ts', // 88
  'failback-recovery.e2e.test.ts', // 87
  'mysql-salvage.test.ts', // 83
  'safety.e2e.test.ts', // 78
  'failover-durability.e2e.test.ts', // 69
  'failover.e2e.test.ts', // 52
  'alerts.e2e.test.ts', // 47 (measured alone)
  'drctl-moves.e2e.test.ts', // about 70 alone (not measured in a whole run)
  'drctl-commands.test.ts', // about 60 alone (not measured in a whole run)
  'deploy-while-waiting.e2e.test.ts', // 37
  'contract/elasticsearch.contract.test.ts', // 27
  'answer-cli.test.ts', // 24
  'es-activities.activity.test.ts', // 24
  'apps-ssh.test.ts', // 23
  'mysql-failback.test.ts', // 17
  'worker-process.test.ts', // 14
  'history-redaction.test.ts', // 13
  'mysql-failover-planned.test.ts', // 13
  'mysql-semi-sync.test.ts', // 12
  'mysql-frozen-server.test.ts', // 10
  'scratch-dr-pair.test.ts', // 10
  'cli.test.ts', // 9
  'failover-detection.e2e.test.ts', // 9
  'failback.e2e.test.ts', // 8
  'traffic-ovh-iplb.test.ts', // 8
  'traffic-haproxy-own.test.ts', // 7
  'failback.workflow.test.ts', // 6
  'es-promote.activity.test.ts', // 5
  'mysql-failover-unplanned.test.ts', // 5
  'replay.test.ts', // 5
  'traffic-haproxy.test.ts', // 5
];

/** The same order on every run, fresh clone or not (vitest's own order depends on the durations it cached). */
export default class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const testDir = path.join(file.project.config.root, 'test');
      const index = SLOWEST_FIRST.indexOf(path.relative(testDir, file.moduleId));
      return index === -1 ? SLOWEST_FIRST.length : index;
    };
    const sorted = [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}

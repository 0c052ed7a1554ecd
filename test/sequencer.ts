import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take more than a few seconds, slowest first (seconds in a whole `npm test` run on 2 cores,
 * measured 2026-12-01): the longest start at once, and the short ones come last to fill the gaps, so the run does
 * not end waiting on one long file. The others follow in name order.
 */
const SLOWEST_FIRST = [
  'mysql-salvage.test.ts', // 104
  'failover-faults.e2e.test.ts', // 93
  'failover-durability.e2e.test.ts', // 90
  'failback-recovery.e2e.test.ts', // 73
  'worker-process.test.ts', // 40
  'failover.workflow.test.ts', // 32
  'apps-ssh.test.ts', // 26
  'failover-detection.e2e.test.ts', // 26 (measured alone)
  'mysql-failover-planned.test.ts', // 23
  'failover.e2e.test.ts', // 21
  'failback.e2e.test.ts', // 20
  'cli.test.ts', // 15
  'mariadb-cluster.test.ts', // 15
  'scratch-dr-pair.test.ts', // 14
  'contract/elasticsearch.contract.test.ts', // 14
  'mysql-failback.test.ts', // 12
  'production-template.test.ts', // 12
  'es-activities.activity.test.ts', // 12
  'mysql-failover-unplanned.test.ts', // 11
  'failback.workflow.test.ts', // 11
  'mysql-frozen-server.test.ts', // 11
  'replay.test.ts', // 10
  'traffic-ovh-iplb.test.ts', // 7
  'traffic-haproxy-own.test.ts', // 7
  'production-build.test.ts', // 7
  'ovh-emulator-cli.test.ts', // 7
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

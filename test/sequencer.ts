import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The slowest files, slowest first (seconds alone on 2 cores, measured 2026-11-30): they start at once, so the
 * run is not left waiting on one of them at its end. The others follow in name order.
 */
const SLOWEST_FIRST = [
  'failover-faults.e2e.test.ts', // 75
  'failover-durability.e2e.test.ts', // 65
  'mysql-salvage.test.ts', // 65
  'failback-recovery.e2e.test.ts', // 45
  'failover.e2e.test.ts', // 25
  'mysql-failover-planned.test.ts', // 22
  'apps-ssh.test.ts', // 20
  'cli.test.ts', // 18
  'failback.e2e.test.ts', // 17
  'failover.workflow.test.ts', // 17
  'worker-process.test.ts', // 15
  'scratch-dr-pair.test.ts', // 14
];

/** The same order on every run, fresh clone or not (vitest's own order depends on the durations it cached). */
export default class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const index = SLOWEST_FIRST.indexOf(path.basename(file.moduleId));
      return index === -1 ? SLOWEST_FIRST.length : index;
    };
    const sorted = [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}

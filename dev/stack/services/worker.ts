import path from 'node:path';
import { logFile, runningPid, startDaemon, stopDaemon, waitFor } from '../daemon';
import { REPO_ROOT, stackDir, stackPort } from '../settings';
import type { StackService } from '../service';
import { existsSync, readFileSync, statSync } from 'node:fs';

/** The orchestrator's worker, run from source against the local stack's Temporal server and runbook. */
export function orchestratorWorker(log: (line: string) => void): StackService {
  const spec = { name: 'worker', runDir: path.join(stackDir(), 'worker') };
  return {
    name: 'worker',
    async up() {
      if (runningPid(spec) !== undefined) return;
      const offset = existsSync(logFile(spec)) ? statSync(logFile(spec)).size : 0;
      startDaemon({
        ...spec,
        command: process.execPath,
        args: [
          path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
          path.join(REPO_ROOT, 'worker', 'main.ts'),
        ],
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${stackPort('TEMPORAL')}`,
          DR_WORKER_METRICS_PORT: process.env.DR_WORKER_METRICS_PORT ?? String(stackPort('WORKER_METRICS')),
        },
      });
      await waitFor(
        'worker',
        async () => {
          if (runningPid(spec) === undefined)
            throw new Error(`worker exited at start (see ${logFile(spec)})`);
          return readFileSync(logFile(spec)).subarray(offset).toString('utf8').includes('"worker running"');
        },
        120_000,
        logFile(spec),
      );
      log(`worker: running (log ${logFile(spec)})`);
    },
    async status() {
      const pid = runningPid(spec);
      return {
        name: 'worker',
        running: pid !== undefined,
        pids: pid === undefined ? [] : [pid],
        endpoints: [`metrics http://127.0.0.1:${stackPort('WORKER_METRICS')}/metrics`],
        detail: `log ${logFile(spec)}`,
      };
    },
    async down() {
      await stopDaemon(spec, 30_000);
    },
  };
}

import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  assertPortsFree,
  builtEntry,
  logFile,
  runningPid,
  startDaemon,
  stopDaemon,
  waitForDaemon,
} from '../daemon';
import { stackDir, stackPort } from '../settings';
import type { ServiceStatus, StackService } from '../service';
import { alertTokenFile, ensureAlertToken } from './alerting-settings';
import { orchestratorWorkerEnv } from './worker';

export interface AlertReceiverTargets {
  /** Where the runbooks' alerts.receiver says it listens (checked free before it starts). */
  port: number;
  /** DR_RUNBOOKS: the runbooks whose alert rules it applies; one of them has its alerts.receiver settings. */
  runbooks: string;
  tokenFile: string;
  /** More environment: TEMPORAL_ADDRESS, DR_TASK_QUEUE, … */
  env: NodeJS.ProcessEnv;
  dir: string;
}

export function stackAlertReceiverTargets(): AlertReceiverTargets {
  return {
    port: stackPort('ALERT_RECEIVER'),
    runbooks: orchestratorWorkerEnv().DR_RUNBOOKS,
    tokenFile: alertTokenFile(),
    env: { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${stackPort('TEMPORAL')}` },
    dir: path.join(stackDir(), 'alert-receiver'),
  };
}

/** The orchestrator's Alertmanager receiver (client/alerts/main.ts), on the stack's runbooks. */
export function alertReceiver(
  log: (line: string) => void,
  targets: () => AlertReceiverTargets = stackAlertReceiverTargets,
): StackService {
  const spec = () => ({ name: 'alert-receiver', runDir: targets().dir });
  return {
    name: 'alert-receiver',
    async up() {
      if (runningPid(spec()) !== undefined) return;
      const t = targets();
      await assertPortsFree('alert-receiver', [{ name: 'ALERT_RECEIVER', port: t.port }]);
      ensureAlertToken(t.tokenFile);
      const offset = existsSync(logFile(spec())) ? statSync(logFile(spec())).size : 0;
      startDaemon({
        ...spec(),
        ...builtEntry('client/alerts/main.ts'),
        env: { ...process.env, ...t.env, DR_RUNBOOKS: t.runbooks },
      });
      await waitForDaemon(
        spec(),
        'alert-receiver',
        async () =>
          readFileSync(logFile(spec()))
            .subarray(offset)
            .toString('utf8')
            .includes('"alert receiver listening"'),
        60_000,
      );
      log(`alert-receiver: listening on 127.0.0.1:${t.port} (log ${logFile(spec())})`);
    },
    async status(): Promise<ServiceStatus> {
      const pid = runningPid(spec());
      return {
        name: 'alert-receiver',
        running: pid !== undefined,
        pids: pid === undefined ? [] : [pid],
        endpoints: [`http://127.0.0.1:${targets().port}/alerts (bearer token in ${targets().tokenFile})`],
        detail: `log ${logFile(spec())}`,
      };
    },
    async down() {
      await stopDaemon(spec());
    },
  };
}

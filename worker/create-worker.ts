import path from 'node:path';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { heartbeatWhileRunning } from './heartbeat';
import { RUNNING_CODE_EXTENSION } from '../common/package-root';
import type { LoadedRunbook } from '../config/load';
import { duration } from '../config/schema';
import { durationMs } from '../config/duration';
import { drMetricsSinks } from './metrics';

/**
 * How a worker shuts down (SIGTERM, SIGINT): running activities get `shutdownGraceTime` to finish, are then cancelled,
 * and at `shutdownForceTime` the worker stops whatever still runs, so that a shutdown always ends.
 */
export interface ShutdownSettings {
  shutdownGraceTime: string;
  shutdownForceTime: string;
}

export const DEFAULT_SHUTDOWN: ShutdownSettings = { shutdownGraceTime: '20s', shutdownForceTime: '30s' };

/** Shutdown settings from DR_WORKER_SHUTDOWN_GRACE_TIME and DR_WORKER_SHUTDOWN_FORCE_TIME; a bad value is named. */
export function shutdownSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ShutdownSettings {
  const read = (variable: string, fallback: string) => {
    const value = env[variable] || fallback;
    const parsed = duration.safeParse(value);
    if (!parsed.success) throw new Error(`${variable}="${value}" ${parsed.error.issues[0]?.message}`);
    return value;
  };
  const shutdownGraceTime = read('DR_WORKER_SHUTDOWN_GRACE_TIME', DEFAULT_SHUTDOWN.shutdownGraceTime);
  const shutdownForceTime = read('DR_WORKER_SHUTDOWN_FORCE_TIME', DEFAULT_SHUTDOWN.shutdownForceTime);
  if (durationMs(shutdownForceTime) <= durationMs(shutdownGraceTime)) {
    throw new Error(
      `DR_WORKER_SHUTDOWN_FORCE_TIME (${shutdownForceTime}) must be longer than DR_WORKER_SHUTDOWN_GRACE_TIME (${shutdownGraceTime}): activities are cancelled after the grace time, and need time to stop`,
    );
  }
  return { shutdownGraceTime, shutdownForceTime };
}

export interface OrchestratorWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  runbooks: Map<string, LoadedRunbook>;
  identity?: string;
  shutdown?: ShutdownSettings;
  /**
   * A workflow bundle built beforehand (`bundleWorkflowCode`, see scripts/bundle-workflows.ts) from this very
   * code: the worker then starts in about a second instead of bundling the workflows itself (seconds of CPU),
   * which counts when a worker is restarted in the middle of a failover.
   */
  workflowBundlePath?: string;
}

/** A worker serving every workflow and activity of the orchestrator for the given runbooks. */
export async function createOrchestratorWorker(
  options: OrchestratorWorkerOptions,
): Promise<{ worker: Worker; clients: ActivityClients }> {
  const clients = createClients(options.runbooks);
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.workflowBundlePath
      ? { workflowBundle: { codePath: options.workflowBundlePath } }
      : { workflowsPath: path.resolve(__dirname, '..', 'workflows', `index${RUNNING_CODE_EXTENSION}`) }),
    activities: createActivities(clients),
    interceptors: { activity: [heartbeatWhileRunning] },
    // The DR figures workflows learn (readiness, moves, drills) go to the runtime's /metrics.
    sinks: drMetricsSinks(Runtime.instance().metricMeter, [...options.runbooks.keys()]),
    // A run whose worker died gets its next workflow task from another worker once this passes (Temporal's
    // default is 10 s, at every step of a failover that a crash interrupts; it adds to the write outage when the
    // crash is inside the fence window). The runs are few: replaying their history on another worker costs little.
    stickyQueueScheduleToStartTimeout: '1s',
    ...(options.shutdown ?? DEFAULT_SHUTDOWN),
  });
  return { worker, clients };
}

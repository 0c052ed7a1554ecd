import { existsSync } from 'node:fs';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { createJsonLogger } from '../common/logger';
import { temporalSettings } from '../common/temporal-connection';
import { loadRunbooks, runbookFilesFromEnv } from '../config/load';
import { TASK_QUEUE } from '../workflows/definitions';
import { createOrchestratorWorker, shutdownSettingsFromEnv } from './create-worker';

const logger = createJsonLogger('worker');

async function main(): Promise<void> {
  const files = runbookFilesFromEnv();
  const runbooks = loadRunbooks(files);
  const shutdown = shutdownSettingsFromEnv();
  const workflowBundlePath = workflowBundleFromEnv();
  const metricsPort = Number(process.env.DR_WORKER_METRICS_PORT ?? 9464);
  Runtime.install({
    logger,
    telemetryOptions: {
      metrics: {
        prometheus: { bindAddress: `${process.env.DR_WORKER_METRICS_HOST ?? '127.0.0.1'}:${metricsPort}` },
      },
    },
    // SIGINT and SIGTERM start a graceful shutdown: running activities get the grace time to finish, then the
    // worker stops at the force time whatever still runs.
    shutdownSignals: ['SIGINT', 'SIGTERM'],
  });
  const { address, namespace, connectionOptions } = temporalSettings();
  const taskQueue = process.env.DR_TASK_QUEUE ?? TASK_QUEUE;
  const connection = await NativeConnection.connect(connectionOptions);
  const { worker, clients } = await createOrchestratorWorker({
    connection,
    namespace,
    taskQueue,
    runbooks,
    shutdown,
    workflowBundlePath,
  });
  logger.info('worker running', {
    address,
    namespace,
    taskQueue,
    pairs: [...runbooks.keys()],
    runbooks: files,
    metrics: `http://127.0.0.1:${metricsPort}/metrics`,
    shutdown,
    workflows: workflowBundlePath ?? 'bundled at start',
  });
  try {
    await worker.run();
  } finally {
    await clients.close();
    await connection.close();
    logger.info('worker stopped');
  }
}

/** DR_WORKFLOW_BUNDLE: a workflow bundle built beforehand (npm run bundle:workflows); unset, the worker bundles. */
function workflowBundleFromEnv(): string | undefined {
  const file = process.env.DR_WORKFLOW_BUNDLE;
  if (!file) return undefined;
  if (!existsSync(file))
    throw new Error(`DR_WORKFLOW_BUNDLE=${file} does not exist; build it with npm run bundle:workflows`);
  return file;
}

main().catch((err: unknown) => {
  logger.error('worker failed', { error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});

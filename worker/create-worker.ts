import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, createClients, type ActivityClients } from '../activities';
import type { LoadedRunbook } from '../config/load';

export interface OrchestratorWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  runbooks: Map<string, LoadedRunbook>;
  identity?: string;
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
    workflowsPath: path.resolve(__dirname, '..', 'workflows', 'index.ts'),
    activities: createActivities(clients),
    shutdownGraceTime: '20s',
  });
  return { worker, clients };
}

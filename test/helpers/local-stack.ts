import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { DEFAULT_LOCAL_RUNBOOK, loadRunbooks, type LoadedRunbook } from '../../config/load';
import { adminSql } from '../../dev/stack/services/mariadb';
import { inject } from 'vitest';
import { temporalAddress } from './worker-process';

export const LOCAL_PAIR = 'local';

/** The workflows bundled once for this test run by the global setup, from the sources under test. */
export const testWorkflowBundle = (): string => inject('workflowBundle');

export function localRunbooks(): Map<string, LoadedRunbook> {
  return loadRunbooks([DEFAULT_LOCAL_RUNBOOK]);
}

export { temporalAddress };

export async function temporalClient(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return { client: new Client({ connection, namespace: 'default' }), connection };
}

export async function workerConnection(): Promise<NativeConnection> {
  return NativeConnection.connect({ address: temporalAddress() });
}

/** A task queue of its own per test file, so the stack's long-running worker never picks up test tasks. */
export const testTaskQueue = (name: string) => `test-${name}-${randomUUID().slice(0, 8)}`;

/** SQL as the local administrator on one MariaDB instance of the stack (for setting up faults). */
export const stackSql = adminSql;

/** Puts the local pair back in its normal state: primary writable, replicas read-only and replicating. */
export async function restoreLocalPair(): Promise<void> {
  await stackSql('db-gra-1', 'SET GLOBAL read_only=OFF');
  await stackSql('db-rbx-1', 'SET GLOBAL read_only=ON; START SLAVE');
  await stackSql('db-rbx-2', 'SET GLOBAL read_only=ON; START SLAVE');
}

/** An activity context for calling activities directly; logs only warnings so test output stays readable. */
export function activityEnvironment(): MockActivityEnvironment {
  return new MockActivityEnvironment(undefined, { logger: new DefaultLogger('WARN') });
}

export { runActivity } from './run-activity';

/** Installs the SDK runtime with a warnings-only logger (once per test process). */
export function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    /* already installed in this process */
  }
}

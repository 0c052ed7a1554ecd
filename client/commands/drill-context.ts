import { InvalidArgumentError, type Command } from 'commander';
import type { Client } from '@temporalio/client';

/**
 * What the drill and schedule commands need of the CLI: the global options (--address, --namespace, --task-queue,
 * --json, read from the command and its parents), output as text or JSON, and a Temporal client for one command.
 */
export interface DrillCliGlobals {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  json?: boolean;
}

export const globalsOf = (command: Command): DrillCliGlobals => command.optsWithGlobals<DrillCliGlobals>();

/** Prints `value` as JSON under --json, else the text `text()` makes of it. */
export function emit<T>(command: Command, value: T, text: (value: T) => string): void {
  console.log(globalsOf(command).json ? JSON.stringify(value, null, 2) : text(value));
}

/** The `<pair>` argument: a runbook's pair name. */
export function pairName(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(value))
    throw new InvalidArgumentError('a pair name is lower-case letters, digits and dashes');
  return value;
}

/**
 * Runs `fn` with a client connected to the Temporal the global options name (a failure to connect names the
 * address), the task queue of the workers (--task-queue, else DR_TASK_QUEUE as the worker reads it, else the
 * project's), and closes it after; a server error names the address too.
 */
export async function withDrillClient<T>(
  command: Command,
  fn: (session: { client: Client; namespace: string; taskQueue: string }) => Promise<T>,
): Promise<T> {
  const globals = globalsOf(command);
  const [{ connectClient }, { Client, ServiceError }, { TASK_QUEUE }] = await Promise.all([
    import('../../common/temporal-connection.js'),
    import('@temporalio/client'),
    import('../../workflows/definitions.js'),
  ]);
  const { connection, namespace, address } = await connectClient(globals);
  try {
    return await fn({
      client: new Client({ connection, namespace }),
      namespace,
      taskQueue: globals.taskQueue ?? process.env.DR_TASK_QUEUE ?? TASK_QUEUE,
    });
  } catch (err) {
    if (err instanceof ServiceError)
      throw new Error(`Temporal at ${address}: ${err.message}`, { cause: err });
    throw err;
  } finally {
    await connection.close();
  }
}

import os from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { DrillMode } from '../../common/drill-report';

/**
 * What every drctl command shares: the global options, output (text or `--json`), argument parsers, and a Temporal
 * client opened for one command. A command module exports `register(program)` and reads all of this from here.
 */

/** The global options, given before or after the command. */
export interface GlobalOptions {
  address?: string;
  namespace?: string;
  json?: boolean;
  taskQueue?: string;
  uiAddress?: string;
}

/** The global options as the running command sees them (its own and its parents'). */
export const globalsOf = (command: Command): GlobalOptions => command.optsWithGlobals<GlobalOptions>();

export const print = (line: string) => console.log(line);

/** Prints `value` as JSON under --json, else the text `text()` makes of it. */
export function emit<T>(command: Command, value: T, text: (value: T) => string): void {
  print(globalsOf(command).json ? JSON.stringify(value, null, 2) : text(value));
}

/** The `<pair>` argument: a runbook's pair name. */
export function pairName(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(value))
    throw new InvalidArgumentError('a pair name is lower-case letters, digits and dashes');
  return value;
}

/** A positive whole number argument (`--limit`). */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

/** What a command talks to Temporal with. */
export interface TemporalSession {
  client: Client;
  namespace: string;
  address: string;
  /** The task queue of the workers that run the moves (--task-queue, default the project's). */
  taskQueue: string;
  /** The Temporal UI page of a workflow, or undefined when no UI address is known. */
  uiLink(workflowId: string, runId?: string): string | undefined;
  /** Why runs on the task queue would not make progress now (no worker polls it), or undefined. */
  idleTaskQueue(): Promise<string | undefined>;
}

/**
 * Runs `fn` with a client connected to the Temporal the global options name, and closes it after. A failure to
 * connect names the address (connectClient); an error of the server names it too.
 */
export async function withTemporal<T>(
  command: Command,
  fn: (session: TemporalSession) => Promise<T>,
): Promise<T> {
  const globals = globalsOf(command);
  const [{ connectClient, temporalUiUrl }, { Client, ServiceError }, { TASK_QUEUE }, pollers] =
    await Promise.all([
      import('../../common/temporal-connection.js'),
      import('@temporalio/client'),
      import('../../workflows/definitions.js'),
      import('../task-queue.js'),
    ]);
  const { connection, namespace, address } = await connectClient(globals);
  const ui = temporalUiUrl({ uiAddress: globals.uiAddress, address });
  // The workers' queue: --task-queue, else DR_TASK_QUEUE as the worker reads it, else the project's.
  const taskQueue = globals.taskQueue ?? process.env.DR_TASK_QUEUE ?? TASK_QUEUE;
  try {
    return await fn({
      client: new Client({ connection, namespace }),
      namespace,
      address,
      taskQueue,
      idleTaskQueue: async () =>
        pollers.noPollerSentence(taskQueue, await pollers.taskQueuePollers(connection, namespace, taskQueue)),
      uiLink: (workflowId, runId) =>
        ui &&
        `${ui}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}/history` : ''}`,
    });
  } catch (err) {
    if (err instanceof ServiceError)
      throw new Error(`Temporal at ${address}: ${err.message}`, { cause: err });
    throw err;
  } finally {
    await connection.close();
  }
}

/** "Temporal UI: <link>", or how to get one when no UI address is configured. */
export function uiLine(link: string | undefined): string {
  return link
    ? `Temporal UI: ${link}`
    : 'Temporal UI: no address configured (set TEMPORAL_UI_URL or --ui-address for a link)';
}

/** The `--mode` of a drill: readiness or game-day. */
export function drillMode(value: string): DrillMode {
  if (value !== 'readiness' && value !== 'game-day')
    throw new InvalidArgumentError('the mode is readiness or game-day');
  return value;
}

/** Who asks for a move or a drill: --as, else DRCTL_APPROVER, else the login name. */
export function askedBy(as?: string): string {
  const who = (as ?? process.env.DRCTL_APPROVER ?? os.userInfo().username).trim();
  if (who === '') throw new Error('--as: say who asks');
  return who;
}

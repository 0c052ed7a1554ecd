import { Client, WorkflowIdConflictPolicy, type WorkflowHandle } from '@temporalio/client';
import type { failback, failover } from '../workflows';
import { DrMode, DrPair, DrPhase, DrTrigger, pairMoveWorkflowId, TASK_QUEUE } from '../workflows/definitions';

type MoveWorkflow = typeof failover | typeof failback;

export interface MoveStartOptions {
  taskQueue?: string;
}

/**
 * A worker that dies while it runs one of a move's workflow tasks holds the move this long (Temporal's default is
 * 10 s) before another worker takes the task; a move's tasks take milliseconds, so seconds leave a wide margin.
 */
export const MOVE_WORKFLOW_TASK_TIMEOUT = '4s';

/**
 * Starts a move of a pair (failover or failback), or joins the one of the same type and mode already running: the
 * workflow ID is the pair's move ID, so a repeated start (an alert delivered twice, two operators) gives one run,
 * and a failover and a failback of one pair never run at once. A move of another type or mode running under that ID
 * is refused with a sentence, never joined.
 */
export async function startPairMove<W extends MoveWorkflow>(
  client: Client,
  workflow: W,
  input: Parameters<W>[0],
  options: MoveStartOptions,
  shown: { summary: string; details: string; mode: string },
): Promise<WorkflowHandle<W>> {
  const workflowId = pairMoveWorkflowId(input.pair);
  const handle = await client.workflow.start<W>(workflow, {
    workflowId,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    args: [input] as Parameters<W>,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowTaskTimeout: MOVE_WORKFLOW_TASK_TIMEOUT,
    staticSummary: shown.summary,
    staticDetails: `Asked by **${input.requestedBy}** (${input.trigger}): ${input.reason}. ${shown.details}`,
    typedSearchAttributes: [
      { key: DrPair, value: input.pair },
      { key: DrTrigger, value: input.trigger },
      { key: DrMode, value: shown.mode },
      { key: DrPhase, value: 'queued' },
    ],
  });
  const description = await handle.describe();
  const runningMode = description.typedSearchAttributes.get(DrMode);
  if (description.type !== workflow.name || (runningMode !== undefined && runningMode !== shown.mode))
    throw new Error(
      `refusing to start ${withArticle(`${input.mode} ${workflow.name}`)} of ${input.pair}: ${withArticle([runningMode?.replace(/^failback-/, ''), description.type].filter(Boolean).join(' '))} of this pair is running (workflow ${workflowId}, run ${description.runId}); wait for it or cancel it first.`,
    );
  return handle;
}

const withArticle = (words: string) => `${/^[aeiou]/.test(words) ? 'an' : 'a'} ${words}`;

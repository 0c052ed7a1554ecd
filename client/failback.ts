import { Client, WorkflowIdConflictPolicy, type WorkflowHandle } from '@temporalio/client';
import { failback } from '../workflows';
import {
  DrMode,
  DrPair,
  DrPhase,
  DrTrigger,
  pairMoveWorkflowId,
  TASK_QUEUE,
  type FailbackInput,
} from '../workflows/definitions';

/**
 * Starts the failback of a pair, or joins the one already running: it shares the pair's move ID with the
 * failover, so a failover and a failback of one pair never run at once; a failover running under that ID is
 * refused with a sentence, never joined. `runTimeoutMs` is the runbook's `timeouts.run`.
 */
export async function startFailback(
  client: Client,
  input: FailbackInput,
  options: { taskQueue?: string; runTimeoutMs?: number } = {},
): Promise<WorkflowHandle<typeof failback>> {
  const workflowId = pairMoveWorkflowId(input.pair);
  const handle = await client.workflow.start(failback, {
    workflowId,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    ...(options.runTimeoutMs ? { workflowExecutionTimeout: options.runTimeoutMs } : {}),
    staticSummary: `${input.mode} failback of DR pair ${input.pair}`,
    staticDetails: `Asked by **${input.requestedBy}** (${input.trigger}): ${input.reason}. Phases: assess (roles read from the systems) → reprotect → catch-up${input.mode === 'full' ? ' → plan → approve → fence → prepare → promote (point of no return) → switch → verify → reestablish' : ''} → report. Answer errant transactions with the \`discard\`/\`abort\` updates, approvals with \`approve\`/\`reject\`, a stuck step with \`retry\`/\`abort\`.`,
    typedSearchAttributes: [
      { key: DrPair, value: input.pair },
      { key: DrTrigger, value: input.trigger },
      { key: DrMode, value: `failback-${input.mode}` },
      { key: DrPhase, value: 'queued' },
    ],
  });
  const description = await handle.describe();
  if (description.type !== 'failback')
    throw new Error(
      `refusing to start a failback of ${input.pair}: a ${description.type} of this pair is running (workflow ${workflowId}, run ${description.runId}); wait for it or cancel it first.`,
    );
  return handle;
}

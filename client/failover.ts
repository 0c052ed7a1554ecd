import { Client, WorkflowIdConflictPolicy, type WorkflowHandle } from '@temporalio/client';
import { failover } from '../workflows';
import {
  DrMode,
  DrPair,
  DrPhase,
  DrTrigger,
  pairMoveWorkflowId,
  TASK_QUEUE,
  type FailoverInput,
} from '../workflows/definitions';

/**
 * Starts the failover of a pair, or joins the one already running: the workflow ID is the pair's move ID, so a
 * repeated start (an alert delivered twice, two operators) gives one run. A failback of the pair running under
 * the same ID is refused with a sentence, never joined. `runTimeoutMs` is the runbook's `timeouts.run`.
 */
export async function startFailover(
  client: Client,
  input: FailoverInput,
  options: { taskQueue?: string; runTimeoutMs?: number } = {},
): Promise<WorkflowHandle<typeof failover>> {
  const workflowId = pairMoveWorkflowId(input.pair);
  const handle = await client.workflow.start(failover, {
    workflowId,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    ...(options.runTimeoutMs ? { workflowExecutionTimeout: options.runTimeoutMs } : {}),
    staticSummary: `${input.mode} failover of DR pair ${input.pair}`,
    staticDetails: `Asked by **${input.requestedBy}** (${input.trigger}): ${input.reason}. Phases: assess → plan → approve → fence → prepare → promote (point of no return) → switch → verify → report. Answer approvals with the \`approve\`/\`reject\` updates, and a stuck step with \`retry\`/\`abort\`.`,
    typedSearchAttributes: [
      { key: DrPair, value: input.pair },
      { key: DrTrigger, value: input.trigger },
      { key: DrMode, value: input.mode },
      { key: DrPhase, value: 'queued' },
    ],
  });
  const description = await handle.describe();
  if (description.type !== 'failover')
    throw new Error(
      `refusing to start a failover of ${input.pair}: a ${description.type} of this pair is running (workflow ${workflowId}, run ${description.runId}); wait for it or cancel it first.`,
    );
  return handle;
}

import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const { TaskQueueKind, TaskQueueType } = temporal.api.enums.v1;

/** The identities of the workers polling a task queue now, for workflow tasks and for activity tasks. */
export async function taskQueuePollers(
  connection: Connection,
  namespace: string,
  taskQueue: string,
): Promise<{ workflow: string[]; activity: string[] }> {
  const pollers = async (taskQueueType: temporal.api.enums.v1.TaskQueueType) => {
    const answer = await connection.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType,
    });
    return (answer.pollers ?? []).map((p) => p.identity || 'a worker');
  };
  const [workflow, activity] = await Promise.all([
    pollers(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
    pollers(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
  ]);
  return { workflow, activity };
}

/** What is missing for runs on the task queue to make progress, in a sentence; undefined when workers poll it. */
export function noPollerSentence(taskQueue: string, pollers: { workflow: string[]; activity: string[] }) {
  const lacking = [
    ...(pollers.workflow.length === 0 ? ['workflow'] : []),
    ...(pollers.activity.length === 0 ? ['activity'] : []),
  ];
  if (lacking.length === 0) return undefined;
  return `no worker polls task queue ${taskQueue} for ${lacking.join(' or ')} tasks: runs started on it would wait; start a worker with DR_TASK_QUEUE=${taskQueue}, or give drctl the task queue the workers poll (--task-queue)`;
}

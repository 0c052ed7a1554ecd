import type { Client, WorkflowHandle } from '@temporalio/client';
import { failover } from '../workflows';
import type { FailoverInput } from '../workflows/definitions';
import { startPairMove, type MoveStartOptions } from './pair-move';

/** Starts the failover of a pair, or joins the one already running (see startPairMove). */
export function startFailover(
  client: Client,
  input: FailoverInput,
  options: MoveStartOptions = {},
): Promise<WorkflowHandle<typeof failover>> {
  return startPairMove(client, failover, input, options, {
    summary: `${input.mode} failover of DR pair ${input.pair}`,
    details:
      'Phases: assess → plan → approve → fence → prepare → promote (point of no return) → switch → verify → report. Answer approvals with the `approve`/`reject` updates, and a stuck step with `retry`/`abort`.',
    mode: input.mode,
  });
}

import type { Client, WorkflowHandle } from '@temporalio/client';
import { failback } from '../workflows';
import type { FailbackInput } from '../workflows/definitions';
import { startPairMove, type MoveStartOptions } from './pair-move';

/** Starts the failback of a pair, or joins the one already running (see startPairMove). */
export function startFailback(
  client: Client,
  input: FailbackInput,
  options: MoveStartOptions = {},
): Promise<WorkflowHandle<typeof failback>> {
  const switchBack =
    input.mode === 'full'
      ? ' → plan → approve → fence → prepare → promote (point of no return) → switch → verify → reestablish'
      : '';
  return startPairMove(client, failback, input, options, {
    summary: `${input.mode} failback of DR pair ${input.pair}`,
    details: `Phases: assess (roles read from the systems) → reprotect → catch-up${switchBack} → report. Answer errant transactions with the \`discard\`/\`abort\` updates, approvals with \`approve\`/\`reject\`, a stuck step with \`retry\`/\`abort\`.`,
    mode: `failback-${input.mode}`,
  });
}

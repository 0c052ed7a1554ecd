import type { Client, WorkflowHandle } from '@temporalio/client';
import { failback } from '../workflows';
import { failbackModeName, type FailbackInput } from '../workflows/definitions';
import { startPairMove, type MoveStartOptions } from './pair-move';

/** Starts the failback of a pair, or joins the one already running (see startPairMove). */
export function startFailback(
  client: Client,
  input: FailbackInput,
  options: MoveStartOptions = {},
): Promise<WorkflowHandle<typeof failback>> {
  const switchBack =
    input.mode === 'full' && !input.dryRun
      ? ' → plan → approve → fence → prepare → promote (point of no return) → switch → verify → reestablish'
      : '';
  return startPairMove(client, failback, input, options, {
    summary: `${input.dryRun ? 'dry run of a ' : ''}${input.mode} failback of DR pair ${input.pair}`,
    details: input.dryRun
      ? 'Phases: assess (roles read from the systems) → plan (the steps the failback would run) → report. Nothing is changed.'
      : `Phases: assess (roles read from the systems) → reprotect → catch-up${switchBack} → report. Answer errant transactions with the \`discard\`/\`abort\` updates, approvals with \`approve\`/\`reject\`, a stuck step with \`retry\`/\`abort\`.`,
    mode: failbackModeName(input),
  });
}

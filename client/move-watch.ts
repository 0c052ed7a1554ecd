import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { statusQuery, type RunStatus } from '../workflows/definitions';
import type { FailoverReport } from '../workflows/failover/report';
import { progressLines, rootCause, type AnswerTarget } from './run-view';

/** How a watched run ended: its report, or the root cause of its failure. */
export type WatchedEnd<R = FailoverReport> =
  | { ended: 'report'; report: R }
  | { ended: 'failed'; status: string; failure: { type: string; message: string } };

export interface WatchOptions {
  pair: string;
  /** Each line of progress, as it happens. */
  say: (line: string) => void;
  /** What the printed answer commands repeat of the global options. */
  target?: AnswerTarget;
  pollMs?: number;
}

/**
 * Follows a move until it ends, saying each phase it enters, each step that changes state and each question that
 * opens (with the exact drctl command answering it), from the run's status query; then its report, or the root
 * cause of its failure. A run whose status does not answer (no worker polls its task queue) is said once.
 */
export async function watchMove(handle: WorkflowHandle, options: WatchOptions): Promise<WatchedEnd> {
  let last: RunStatus | undefined;
  let silent = false;
  for (;;) {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') break;
    try {
      const now = await handle.query(statusQuery);
      for (const line of progressLines(options.pair, last, now, options.target)) options.say(line);
      last = now;
      silent = false;
    } catch (err) {
      if (!silent)
        options.say(
          `the run does not answer its status query yet (${rootCause(err).message}): is a worker polling its task queue?`,
        );
      silent = true;
    }
    await sleep(options.pollMs ?? 500);
  }
  const end = await moveEnd(handle);
  // The steps the run went through after the last reading, from its report.
  if (end.ended === 'report' && Array.isArray(end.report.steps)) {
    const final: RunStatus = {
      phase: 'report',
      sentence: end.report.sentence,
      pastPointOfNoReturn: last?.pastPointOfNoReturn ?? false,
      steps: end.report.steps,
      questions: [],
    };
    for (const line of progressLines(options.pair, last, final, options.target)) options.say(line);
  }
  return end;
}

/** The end of a run (waiting for it): its report (a move's unless `R` says), or why it failed. */
export async function moveEnd<R = FailoverReport>(handle: WorkflowHandle): Promise<WatchedEnd<R>> {
  try {
    return { ended: 'report', report: (await handle.result()) as R };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const { status } = await handle.describe();
    return { ended: 'failed', status: status.name.toLowerCase(), failure: rootCause(err) };
  }
}

import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';

/** Throws the cancellation when the activity running this has been cancelled; nothing outside an activity. */
export function throwIfCancelled(): void {
  let signal: AbortSignal | undefined;
  try {
    signal = Context.current().cancellationSignal;
  } catch {
    return; // not inside an activity (direct call)
  }
  if (signal.aborted)
    throw signal.reason instanceof Error ? signal.reason : new CancelledFailure('cancelled');
}

/** Node's error codes of a peer that cannot be reached or went away: every system's client reports these. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'EPIPE',
]);

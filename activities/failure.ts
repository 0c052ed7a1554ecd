import { ApplicationFailure } from '@temporalio/common';

/**
 * A typed Temporal failure: `type` is what workflows and reports match on (nonRetryableErrorTypes), and the
 * details travel as one object. Each system's module decides which of its types a retry cannot fix.
 */
export function typedFailure(
  type: string,
  message: string,
  nonRetryable: boolean,
  details?: unknown,
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable,
    details: details === undefined ? undefined : [details],
  });
}

import { ApplicationFailure } from '@temporalio/common';

/** Awaits a call that must fail with a typed Temporal failure, and returns that failure. */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const outcome = await promise.then(
    () => ({ resolved: true as const }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) throw new Error('expected the call to fail, but it succeeded');
  if (!(outcome.error instanceof ApplicationFailure)) {
    throw new Error(`expected an ApplicationFailure, got ${String(outcome.error)}`, { cause: outcome.error });
  }
  return outcome.error;
}

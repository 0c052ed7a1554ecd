import type { MockActivityEnvironment } from '@temporalio/testing';

/**
 * Runs an activity in a mock activity context, keeping its argument and result types. Free of vitest, so that
 * helpers the bench uses (scratch-cluster.ts) can call it outside a test run.
 */
export function runActivity<A extends unknown[], R>(
  env: MockActivityEnvironment,
  fn: (...args: A) => Promise<R>,
  ...args: A
): Promise<R> {
  return env.run(fn as never, ...(args as unknown as never[])) as Promise<R>;
}

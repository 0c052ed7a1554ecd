import { ApplicationFailure, CancellationScope, patched } from '@temporalio/workflow';
import type { PlannedStepView } from './definitions';

export interface Compensation {
  step: PlannedStepView;
  undo: () => Promise<string>;
}

/** What to do when a compensation fails: try it again, or leave that step in effect for humans. */
export type CompensationFailurePolicy = (c: Compensation, err: unknown) => Promise<'retry' | 'abort'>;

export interface UnwindResult {
  undone: { step: string; sentence: string }[];
  /** Steps whose compensation a human aborted: they may still be in effect, and the report says so. */
  leftInPlace: string[];
}

/**
 * Compensation (saga) for the steps before the point of no return. Each compensation is registered *before* its
 * step runs, so a step that half happened is undone too. `unwind` runs them newest first inside a non-cancellable
 * scope (a cancelled run still cleans up), and a failed compensation is never swallowed: the policy asks a human,
 * who retries it or leaves that step in effect; every other compensation still runs.
 */
export class Saga {
  private readonly compensations: Compensation[] = [];
  private closed = false;

  register(step: PlannedStepView, undo: () => Promise<string>): void {
    if (this.closed)
      throw ApplicationFailure.nonRetryable(
        `no compensation after the point of no return (${step.id})`,
        'InternalError',
      );
    this.compensations.push({ step, undo });
  }

  /** From here the run only rolls forward: nothing registered before is undone any more. */
  passPointOfNoReturn(): void {
    this.closed = true;
    this.compensations.length = 0;
  }

  get pastPointOfNoReturn(): boolean {
    return this.closed;
  }

  get pending(): number {
    return this.compensations.length;
  }

  async unwind(
    onUndone: (c: Compensation, sentence: string) => void,
    onFailure: CompensationFailurePolicy,
  ): Promise<UnwindResult> {
    return CancellationScope.nonCancellable(async () => {
      const result: UnwindResult = { undone: [], leftInPlace: [] };
      while (this.compensations.length > 0) {
        const c = this.compensations[this.compensations.length - 1]!;
        try {
          const sentence = await c.undo();
          onUndone(c, sentence);
          result.undone.push({ step: c.step.id, sentence });
          this.compensations.pop();
        } catch (err) {
          if ((await onFailure(c, err)) === 'retry') continue;
          if (patched('compensate-every-step')) {
            result.leftInPlace.push(c.step.id);
            this.compensations.pop();
          } else {
            // Runs started before the patch stopped compensating at the first abort.
            result.leftInPlace = this.compensations.map((x) => x.step.id).reverse();
            this.compensations.length = 0;
          }
        }
      }
      return result;
    });
  }
}

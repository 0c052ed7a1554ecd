import { ApplicationFailure } from '@temporalio/workflow';
import type { PlannedStepView, StepRecord } from './definitions';
import type { Narrator } from './narrate';

/** A step of the plan with what it does and, when it can be undone before the point of no return, how. */
export interface PlanStep extends PlannedStepView {
  /** Does the step; resolves to the sentence that says what it did. */
  run(): Promise<string>;
  /** Undoes it (also when it half happened); resolves to the sentence that says what was undone. */
  undo?(): Promise<string>;
  /** The id of a step of the same phase that must have succeeded before this one starts. */
  after?: string;
}

export const view = ({
  id,
  phase,
  system,
  title,
  target,
  compensation,
}: PlannedStepView): PlannedStepView => ({
  id,
  phase,
  system,
  title,
  target,
  ...(compensation ? { compensation } : {}),
});

/** The record of every step (state, attempts, times, last error, sentence) that queries and the report show. */
export class StepBook {
  readonly records: StepRecord[] = [];

  constructor(private readonly narrator: Narrator) {}

  plan(steps: PlannedStepView[]): void {
    for (const step of steps) this.records.push({ ...view(step), state: 'pending', attempts: 0 });
  }

  record(id: string): StepRecord {
    const found = this.records.find((r) => r.id === id);
    if (!found) throw ApplicationFailure.nonRetryable(`the plan has no step ${id}`, 'InternalError');
    return found;
  }

  /** Runs one try of a step, keeping its record and narrating the outcome. */
  async run(step: PlanStep): Promise<string> {
    const record = this.record(step.id);
    record.state = 'running';
    record.attempts++;
    record.startedAt = new Date().toISOString();
    this.narrator.say(
      `${step.title} (${step.target}): starting${record.attempts > 1 ? `, try ${record.attempts}` : ''}.`,
    );
    try {
      const sentence = await step.run();
      this.finish(record, 'done', sentence);
      this.narrator.say(sentence);
      return sentence;
    } catch (err) {
      record.lastError = errorText(err);
      this.finish(record, 'failed', `${step.title} failed: ${record.lastError}`);
      this.narrator.say(record.sentence!);
      throw err;
    }
  }

  compensated(id: string, sentence: string): void {
    const record = this.record(id);
    record.state = 'compensated';
    record.sentence = sentence;
    this.narrator.say(sentence);
  }

  skip(step: PlannedStepView, why: string): void {
    const record = this.record(step.id);
    this.finish(record, 'skipped', `${step.title} skipped: ${why}`);
    this.narrator.say(record.sentence!);
  }

  private finish(record: StepRecord, state: StepRecord['state'], sentence: string): void {
    record.state = state;
    record.endedAt = new Date().toISOString();
    record.durationMs = Date.parse(record.endedAt) - Date.parse(record.startedAt ?? record.endedAt);
    record.sentence = sentence;
  }
}

/** The message of a failure, down to the activity's own (an ActivityFailure wraps the ApplicationFailure). */
export function errorText(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error && current.name === 'ActivityFailure')
    current = current.cause;
  if (current instanceof Error) {
    const type = (current as { type?: string }).type;
    return type ? `${type}: ${current.message}` : current.message;
  }
  return String(current);
}

/** The failure type of an activity's failure, if it has one. */
export function errorType(err: unknown): string | undefined {
  let current: unknown = err;
  while (current instanceof Error) {
    const type = (current as { type?: string }).type;
    if (type) return type;
    current = current.cause;
  }
  return undefined;
}

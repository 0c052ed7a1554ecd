import { log, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { DrPhase } from './definitions';

/**
 * Every decision states itself in one plain sentence: in the worker log, in the workflow's
 * current details (Temporal UI, "user metadata"), and in the list the report carries.
 */
export class Narrator {
  readonly decisions: { phase: string; sentence: string }[] = [];
  private phase = 'start';

  enterPhase(phase: string): void {
    this.phase = phase;
    upsertSearchAttributes([{ key: DrPhase, value: phase }]);
  }

  say(sentence: string): void {
    this.decisions.push({ phase: this.phase, sentence });
    log.info(sentence, { phase: this.phase });
    setCurrentDetails(`**${this.phase}**: ${sentence}`);
  }
}

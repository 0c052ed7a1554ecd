import { ApplicationFailure } from '@temporalio/common';
import type { LoadedRunbook } from '../config/load';

/** The runbooks a worker serves, by DR pair name. Activities receive a pair name and look up its settings here. */
export class RunbookRegistry {
  constructor(private readonly byPair: Map<string, LoadedRunbook>) {}

  get(pair: string): LoadedRunbook {
    const loaded = this.byPair.get(pair);
    if (!loaded) {
      throw ApplicationFailure.nonRetryable(
        `unknown DR pair "${pair}" (this worker serves: ${[...this.byPair.keys()].join(', ') || 'none'})`,
        'UnknownPair',
      );
    }
    return loaded;
  }

  pairs(): string[] {
    return [...this.byPair.keys()];
  }
}

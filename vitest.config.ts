import { defineConfig } from 'vitest/config';
import SlowestFirst from './test/sequencer';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Four files at a time: much of the end-to-end time is waiting (timeouts, retries, health checks), and four
    // keep 2 cores busy (three left them idle at times). Files that use the shared local pair, or offer a write
    // rate they assert, take turns (test/helpers/turns.ts); every other file starts what it changes on free ports,
    // in folders of its own.
    maxWorkers: 4,
    isolate: false,
    sequence: { sequencer: SlowestFirst },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});

import { defineConfig } from 'vitest/config';
import SlowestFirst from './test/sequencer';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Three files at a time: most of the end-to-end time is waiting (timeouts, retries, health checks), so three
    // keep 2 cores busy. Files that use the shared local pair, or offer a write rate they assert, take turns
    // (test/helpers/turns.ts); every other file starts what it changes on free ports, in folders of its own.
    maxWorkers: 3,
    isolate: false,
    sequence: { sequencer: SlowestFirst },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});

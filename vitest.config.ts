import { defineConfig } from 'vitest/config';

/**
 * Files that read or change the shared local stack's DR pair: they take turns (test/helpers/local-pair-lock.ts).
 * Every other file starts what it changes on free ports in folders of its own, and runs alongside.
 */
const LOCAL_PAIR_FILES = [
  'test/apps-ssh.test.ts',
  'test/cli.test.ts',
  'test/es-local-stack.activity.test.ts',
  'test/failover-ui.test.ts',
  'test/mysql-readiness.activity.test.ts',
  'test/mysql8-failover.test.ts',
  'test/readiness.workflow.test.ts',
  'test/stack-ovh-emulator.test.ts',
  'test/stack.test.ts',
  'test/traffic-haproxy-own.test.ts',
  'test/traffic-haproxy.test.ts',
  'test/traffic-ovh-dns.test.ts',
  'test/traffic-ovh-iplb.test.ts',
  'test/traffic-ovh-oauth2.test.ts',
  'test/worker-process.test.ts',
  'test/worker-shutdown.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Most of the e2e files wait on timeouts and retries: three files at a time keep 2 cores busy.
    maxWorkers: 3,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'local-pair',
          include: LOCAL_PAIR_FILES,
          setupFiles: ['test/helpers/local-pair-lock.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'own-systems', include: ['test/**/*.test.ts'], exclude: LOCAL_PAIR_FILES },
      },
    ],
  },
});

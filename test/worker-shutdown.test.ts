import { describe, expect, it } from 'vitest';
import { createOrchestratorWorker, shutdownSettingsFromEnv } from '../worker/create-worker';
import { localRunbooks, quietRuntime, testTaskQueue, workerConnection } from './helpers/local-stack';
import { takeTurns } from './helpers/turns';

// Needs the shared local pair as the stack leaves it: never while a file changes it.
takeTurns('local-pair', 'shared');

/** A worker's shutdown is bounded: running activities get a grace time, then the worker stops regardless. */
describe('worker shutdown', () => {
  it('reads its grace and force times from the environment, refusing bad values by name', () => {
    expect(shutdownSettingsFromEnv({})).toEqual({ shutdownGraceTime: '20s', shutdownForceTime: '30s' });
    expect(
      shutdownSettingsFromEnv({ DR_WORKER_SHUTDOWN_GRACE_TIME: '5s', DR_WORKER_SHUTDOWN_FORCE_TIME: '1m' }),
    ).toEqual({ shutdownGraceTime: '5s', shutdownForceTime: '1m' });
    expect(() => shutdownSettingsFromEnv({ DR_WORKER_SHUTDOWN_FORCE_TIME: 'soon' })).toThrow(
      'DR_WORKER_SHUTDOWN_FORCE_TIME="soon" must be a duration such as "500ms", "30s", "5m" or "1h"',
    );
    expect(() =>
      shutdownSettingsFromEnv({ DR_WORKER_SHUTDOWN_GRACE_TIME: '30s', DR_WORKER_SHUTDOWN_FORCE_TIME: '30s' }),
    ).toThrow(
      'DR_WORKER_SHUTDOWN_FORCE_TIME (30s) must be longer than DR_WORKER_SHUTDOWN_GRACE_TIME (30s): activities are cancelled after the grace time, and need time to stop',
    );
  });

  it('gives the Temporal worker a shutdownForceTime, so that SIGTERM ends it even with activities that do not stop', async () => {
    quietRuntime();
    const connection = await workerConnection();
    try {
      const { worker, clients } = await createOrchestratorWorker({
        connection,
        namespace: 'default',
        taskQueue: testTaskQueue('shutdown'),
        runbooks: localRunbooks(),
        shutdown: { shutdownGraceTime: '2s', shutdownForceTime: '5s' },
      });
      expect(worker.options.shutdownGraceTimeMs).toBe(2000);
      expect(worker.options.shutdownForceTimeMs).toBe(5000);
      const running = worker.run();
      worker.shutdown();
      await running;
      await clients.close();
    } finally {
      await connection.close();
    }
  });
});

import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { keptHistories, keptReleases } from './helpers/histories';
import { quietRuntime, testWorkflowBundle } from './helpers/local-stack';

/**
 * Replays every history kept for every release (test/histories/<version>/, test/helpers/histories.ts) against
 * today's workflow code. A change that would break a run started on a kept release (different commands for the same
 * history) fails here: guard it with `patched()` (docs/architecture.md, "Versioning"). Kept histories are never
 * recorded again.
 */
describe('replay of recorded workflow histories', () => {
  quietRuntime();

  it('has recorded histories to replay', () => {
    expect(keptReleases()).toEqual(expect.arrayContaining(['0.1.0', '0.2.0']));
    expect(
      keptHistories()
        .filter((h) => h.release === '0.2.0')
        .map((h) => h.name),
    ).toEqual(
      expect.arrayContaining([
        '0.2.0/failover-planned-completed',
        '0.2.0/failover-rolled-back',
        '0.2.0/failover-retried-past-point-of-no-return',
        '0.2.0/failover-unplanned-completed',
        '0.2.0/failback-full-completed',
        '0.2.0/failback-resumed',
        '0.2.0/readiness-ready',
      ]),
    );
    expect(keptHistories().map((h) => h.workflowId)).toEqual(
      expect.arrayContaining([
        // Recorded before the readiness-es-traffic patch: they must keep replaying.
        '0.1.0/readiness-mysql-only-ready',
        '0.1.0/readiness-mysql-only-replication-stopped',
        '0.1.0/readiness-ready',
        '0.1.0/readiness-replication-stopped',
        '0.1.0/failover-planned-completed',
        '0.1.0/failover-rolled-back',
        '0.1.0/failover-retried-past-point-of-no-return',
        '0.1.0/failover-unplanned-completed',
        '0.1.0/failback-full-completed',
        '0.1.0/failback-reprotect-only',
        '0.1.0/failback-errant-discarded',
        '0.1.0/failback-divergence-rejected',
        '0.1.0/failback-resumed',
      ]),
    );
  });

  it('replays every recorded history with the current workflow code', async () => {
    const results = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: { codePath: testWorkflowBundle() } },
      keptHistories(),
    ))
      results.push(result);
    expect(results.length).toBe(keptHistories().length);
    const names = new Map(keptHistories().map((h) => [h.workflowId, h.name]));
    expect(
      results.filter((r) => r.error).map((r) => `${names.get(r.workflowId) ?? r.workflowId}: ${r.error}`),
    ).toEqual([]);
  });

  it.each([
    ['readiness', 'readiness-ready'],
    ['failover', 'failover-planned-completed'],
  ])('fails on a %s workflow change that reorders its activities', async (workflow, recorded) => {
    const history = keptHistories().find((h) => h.name === `0.1.0/${recorded}`)!.history;
    await expect(
      Worker.runReplayHistory(
        { workflowsPath: path.join(__dirname, 'fixtures', `reordered-${workflow}-workflow.ts`) },
        history,
      ),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { quietRuntime, testWorkflowBundle } from './helpers/local-stack';

/**
 * Replays recorded histories against the current workflow code. A change that would break a running
 * workflow (different commands for the same history) fails here. Re-record after an intended,
 * versioned change with: DR_RECORD_HISTORIES=1 npx vitest run test/readiness.workflow.test.ts
 * (and test/failover.workflow.test.ts, test/failback.workflow.test.ts for the failover and failback histories).
 */
const HISTORIES = path.join(__dirname, 'histories');

function histories() {
  return readdirSync(HISTORIES)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({
      workflowId: f.replace(/\.json$/, ''),
      history: JSON.parse(readFileSync(path.join(HISTORIES, f), 'utf8')),
    }));
}

describe('replay of recorded workflow histories', () => {
  quietRuntime();

  it('has recorded histories to replay', () => {
    expect(histories().map((h) => h.workflowId)).toEqual(
      expect.arrayContaining([
        // Recorded before the readiness-es-traffic patch: they must keep replaying.
        'readiness-mysql-only-ready',
        'readiness-mysql-only-replication-stopped',
        'readiness-ready',
        'readiness-replication-stopped',
        'failover-planned-completed',
        'failover-rolled-back',
        'failover-retried-past-point-of-no-return',
        'failover-unplanned-completed',
        'failback-full-completed',
        'failback-reprotect-only',
        'failback-errant-discarded',
        'failback-divergence-rejected',
        'failback-resumed',
      ]),
    );
  });

  it('replays every recorded history with the current workflow code', async () => {
    const results = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: { codePath: testWorkflowBundle() } },
      histories(),
    ))
      results.push(result);
    expect(results.length).toBe(histories().length);
    expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error}`)).toEqual([]);
  });

  it.each([
    ['readiness', 'readiness-ready'],
    ['failover', 'failover-planned-completed'],
  ])('fails on a %s workflow change that reorders its activities', async (workflow, recorded) => {
    const history = histories().find((h) => h.workflowId === recorded)!.history;
    await expect(
      Worker.runReplayHistory(
        { workflowsPath: path.join(__dirname, 'fixtures', `reordered-${workflow}-workflow.ts`) },
        history,
      ),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});

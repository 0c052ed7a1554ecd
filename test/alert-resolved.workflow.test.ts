/**
 * The `alert-resolved` signal (sent by the Alertmanager receiver when the alerts that started a failover resolve), on
 * the time-skipping test server with the in-memory pair: the pending approval then says the primary recovered.
 */
import { describe, expect, it } from 'vitest';
import type { Activities } from '../activities';
import { failover } from '../workflows';
import {
  alertResolvedSignal,
  pairMoveWorkflowId,
  rejectUpdate,
  statusQuery,
  type FailoverInput,
  type RunStatus,
} from '../workflows/definitions';
import { answer } from './helpers/answers';
import { FakePair, fakeSettings } from './helpers/fake-pair';
import { testWorkflowBundle } from './helpers/local-stack';
import { timeSkippingWorker } from './helpers/time-skipping';

let pair: FakePair;
/** The worker's activities call into the pair of the running test. */
const delegating = Object.fromEntries(
  Object.keys(new FakePair().activities()).map((name) => [
    name,
    (...args: unknown[]) =>
      (pair.activities()[name as keyof Activities] as (...a: unknown[]) => unknown)(...args),
  ]),
);
const ts = timeSkippingWorker(
  'alert-resolved-wf',
  () => ({ workflowBundle: { codePath: testWorkflowBundle() } }),
  delegating,
);

const input: FailoverInput = {
  pair: 'fake',
  mode: 'unplanned',
  trigger: 'alertmanager',
  reason: 'Alertmanager: DrPrimarySiteDown',
  requestedBy: 'alertmanager',
};

/** gra is gone from every vantage, and the runbook wants an approver's answer. */
function primaryGone(): FakePair {
  const p = new FakePair(
    fakeSettings({
      approval: { policy: 'required', approvers: ['alice'], timeoutMs: 1_800_000, onTimeout: 'reject' },
    }),
  );
  p.mysqlDown();
  p.esDown();
  p.state.apps['app-gra-1'] = false;
  return p;
}

async function statusWhen(
  handle: { query: (q: typeof statusQuery) => Promise<RunStatus> },
  holds: (s: RunStatus) => boolean,
) {
  for (let i = 0; i < 800; i++) {
    const status = await handle.query(statusQuery);
    if (holds(status)) return status;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the run never reached the awaited status');
}

describe('failover workflow: the alert-resolved signal', () => {
  it('a pending approval then says the primary recovered, and the status carries it; nothing else changes', async () => {
    pair = primaryGone();
    const handle = await ts.env.client.workflow.start(failover, {
      args: [input],
      taskQueue: ts.taskQueue,
      workflowId: pairMoveWorkflowId('fake'),
    });
    const before = await statusWhen(handle, (s) => s.pending?.kind === 'approval');
    expect(before.pending!.question).not.toMatch(/recovered/);
    const changesBefore = pair.changes();

    await handle.signal(alertResolvedSignal, {
      alerts: ['DrPrimarySiteDown (4f1c)'],
      resolvedAt: '2026-12-07T17:00:00.000Z',
    });
    const after = await statusWhen(handle, (s) => s.primaryRecovered !== undefined);
    expect(after.primaryRecovered).toEqual({
      alerts: ['DrPrimarySiteDown (4f1c)'],
      resolvedAt: '2026-12-07T17:00:00.000Z',
    });
    expect(after.pending!.id).toBe(before.pending!.id);
    expect(after.pending!.question).toBe(
      `${before.pending!.question} — the primary site looks recovered: Alertmanager says DrPrimarySiteDown (4f1c) resolved at 2026-12-07T17:00:00.000Z; consider rejecting if it serves again.`,
    );
    expect(after.sentence).toMatch(/^the primary site looks recovered: .* The pending approval says so\.$/);
    // A repeated notification of the same resolution (Alertmanager delivers at least once) is said once.
    await handle.signal(alertResolvedSignal, {
      alerts: ['DrPrimarySiteDown (4f1c)'],
      resolvedAt: '2026-12-07T17:00:00.000Z',
    });
    expect(pair.changes()).toEqual(changesBefore);

    await answer(handle, rejectUpdate, 'alice', 'the primary is back');
    const report = await handle.result();
    expect(report.outcome).toBe('rejected');
    expect(report.decisions.filter((d) => d.sentence === after.sentence)).toHaveLength(1);
  });

  it('a malformed signal is refused and changes nothing', async () => {
    pair = primaryGone();
    const handle = await ts.env.client.workflow.start(failover, {
      args: [input],
      taskQueue: ts.taskQueue,
      workflowId: pairMoveWorkflowId('fake'),
    });
    const before = await statusWhen(handle, (s) => s.pending?.kind === 'approval');
    await handle.signal(alertResolvedSignal, { alerts: 'DrPrimarySiteDown', resolvedAt: 5 } as never);
    // An update after the signal is handled after it: once it is accepted, the signal has been seen.
    await answer(handle, rejectUpdate, 'alice', 'not now');
    const report = await handle.result();
    expect(report.outcome).toBe('rejected');
    expect(report.decisions.map((d) => d.sentence).join('\n')).not.toMatch(/recovered/);
    expect(before.primaryRecovered).toBeUndefined();
  });
});

/**
 * A deploy while a run waits for a human: the run starts on the previous release's worker (its sources, taken from
 * git history at the commit its histories were recorded at), waits for approval, the worker is replaced by today's,
 * the run is approved, and today's code finishes it. Every change of a workflow's commands is guarded (patched), so
 * the new worker replays the old run's history and goes on from where it waited.
 */
import type { Client, Connection } from '@temporalio/client';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { answer } from './helpers/answers';
import { APPROVER, reportWithin, startPairFailover, waitForStatus } from './helpers/failover-e2e';
import { keptReleases } from './helpers/histories';
import { temporalClient, testTaskQueue } from './helpers/local-stack';
import { releaseTree } from './helpers/releases';
import {
  startScratchDrPair,
  startWorkerProcess,
  type ScratchDrPair,
  type WorkerProcess,
} from './helpers/scratch-dr-pair';
import { approveUpdate } from '../workflows/definitions';

/** The release before today's: the newest kept one. */
const PREVIOUS = keptReleases().at(-1)!;

/**
 * The pair's runbook as the previous release reads it: its approval section names approvers (no keys), and sections
 * it did not know are left out.
 */
function previousReleaseRunbook(pair: ScratchDrPair): string {
  const doc = parse(readFileSync(pair.runbookPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const { policy, timeout, onTimeout } = doc.approval ?? {};
  doc.approval = { policy, approvers: [APPROVER], timeout, onTimeout };
  delete doc.detection;
  const file = path.join(path.dirname(pair.runbookPath), `runbook-${PREVIOUS}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

describe(`a deploy while a run waits for approval (started on release ${PREVIOUS})`, () => {
  let pair: ScratchDrPair;
  let client: Client;
  let connection: Connection;
  const workers: WorkerProcess[] = [];
  const taskQueue = testTaskQueue('deploy');

  beforeAll(async () => {
    pair = await startScratchDrPair();
    ({ client, connection } = await temporalClient());
  }, 180_000);

  afterAll(async () => {
    for (const w of workers) await w.stop();
    await pair?.close();
    await connection?.close();
  });

  it('the run started on the previous release is approved on today’s worker and completes', async () => {
    const oldWorker = await startWorkerProcess({
      runbookPath: previousReleaseRunbook(pair),
      taskQueue,
      releaseRoot: releaseTree(PREVIOUS),
      readyTimeoutMs: 180_000,
    });
    workers.push(oldWorker);
    const handle = await startPairFailover(client, pair.pair, 'planned', taskQueue, []);
    const waiting = await waitForStatus(
      handle,
      'the approval question',
      (s) => s.pending?.kind === 'approval',
      60_000,
    );
    // The previous release's status query knew one pending question, without an ID: the old code runs the run.
    expect(waiting.questions).toBeUndefined();
    expect(waiting.pending?.id).toBeUndefined();
    await oldWorker.stop();

    const newWorker = await startWorkerProcess({ runbookPath: pair.runbookPath, taskQueue });
    workers.push(newWorker);
    expect(await answer(handle, approveUpdate, APPROVER, 'approved after the deploy')).toMatch(
      /^approve of question q1 accepted from oncall/,
    );
    const report = await reportWithin(handle, 120_000);
    expect(report.outcome).toBe('completed');
    expect(report.approvals).toEqual([expect.objectContaining({ approved: true, by: APPROVER })]);
    const snapshot = await pair.snapshot();
    const promoted = report.steps.find((s) => s.id === 'mysql.promote')!.target;
    expect(snapshot.mysql[promoted]).toMatchObject({ reachable: true, readOnly: false });
    expect(newWorker.output()).not.toMatch(/Nondeterminism|TMPRL1100/);
  }, 400_000);
});

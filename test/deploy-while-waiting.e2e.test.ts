/**
 * A deploy while a run waits for a human: the run starts on a kept release's worker (its sources, taken from git
 * history at the commit its histories were recorded at), waits for approval, the worker is replaced by today's, the
 * run is approved, and today's code finishes it; for every kept release. Every change of a workflow's commands is guarded (patched), so
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

/**
 * How a kept release reads today's runbook of a pair, for the releases whose runbook schema differs from today's:
 * 0.1.0 named its approvers (no keys) and knew no `detection` section.
 */
type RunbookDoc = Record<string, Record<string, unknown>>;

/** Sections added after 0.2.0: the older schemas are strict and refuse them. */
const withoutPost020Sections = (doc: RunbookDoc) => {
  delete doc.drills;
  delete doc.alerts;
};

const RUNBOOK_FOR_RELEASE: Record<string, (doc: RunbookDoc) => void> = {
  '0.2.0': withoutPost020Sections,
  '0.1.0': (doc) => {
    withoutPost020Sections(doc);
    const { policy, timeout, onTimeout } = doc.approval ?? {};
    doc.approval = { policy, approvers: [APPROVER], timeout, onTimeout };
    delete doc.detection;
    // 0.1.0 knew one HAProxy, by its socket, and no state file.
    const [node] = (doc.traffic?.sockets ?? []) as { socket: string }[];
    if (node && doc.traffic) {
      delete doc.traffic.sockets;
      doc.traffic.socket = node.socket;
    }
  },
};

/** The pair's runbook as `release` reads it, written beside today's. */
function releaseRunbook(pair: ScratchDrPair, release: string): string {
  const adapt = RUNBOOK_FOR_RELEASE[release];
  if (!adapt) return pair.runbookPath;
  const doc = parse(readFileSync(pair.runbookPath, 'utf8')) as RunbookDoc;
  adapt(doc);
  const file = path.join(path.dirname(pair.runbookPath), `runbook-${release}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

describe.each(keptReleases())(
  'a deploy while a run waits for approval, the run started on release %s',
  (release) => {
    let pair: ScratchDrPair;
    let client: Client;
    let connection: Connection;
    const workers: WorkerProcess[] = [];
    const taskQueue = testTaskQueue(`deploy-${release}`);

    beforeAll(async () => {
      pair = await startScratchDrPair();
      ({ client, connection } = await temporalClient());
    }, 180_000);

    afterAll(async () => {
      for (const w of workers) await w.stop();
      await pair?.close();
      await connection?.close();
    });

    it('is approved on today’s worker and completes', async () => {
      const oldWorker = await startWorkerProcess({
        runbookPath: releaseRunbook(pair, release),
        taskQueue,
        releaseRoot: releaseTree(release),
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
      // The status query of 0.1.0 knew one pending question, without an ID: the old code runs the run.
      if (release === '0.1.0') expect(waiting.questions).toBeUndefined();
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
  },
);

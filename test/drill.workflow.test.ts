/**
 * Every branch of the drill workflow, on the time-skipping test server with the activities replaced by an in-memory
 * pair (test/helpers/fake-pair.ts) and fakes of the drill's own activities: readiness passed and failed, game-day
 * refused (pair not ready, no writer), completed with the drill's own approval, waiting for an approver when the
 * runbook does not let the drill approve, and failed on lost writes.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Activities } from '../activities';
import type { DrillReportFiles, LostWritesResult, WriterResult } from '../activities/drills';
import type { DrillCheck, DrillReport } from '../common/drill-report';
import { drill, failover } from '../workflows';
import { pairMoveWorkflowId, statusQuery } from '../workflows/definitions';
import type { DrillInput } from '../workflows/drill';
import { expectedRto } from '../workflows/checks/expected-rto';
import { FakePair, fakeSettings, initialState } from './helpers/fake-pair';
import { testWorkflowBundle } from './helpers/local-stack';
import { timeSkippingWorker } from './helpers/time-skipping';
import { recordHistory } from './helpers/histories';

/** The drill's own activities, faked: what a test sets, and what they were given. */
const drillFakes = {
  access: [] as DrillCheck[],
  lost: 0,
  written: [] as DrillReport[],
  writerCalls: 0,
};

let pair = new FakePair();

function activities(): Partial<Activities> {
  const fromPair = Object.fromEntries(
    Object.keys(new FakePair().activities()).map((name) => [
      name,
      (...args: unknown[]) =>
        (pair.activities()[name as keyof Activities] as (...a: unknown[]) => unknown)(...args),
    ]),
  ) as Partial<Activities>;
  return {
    ...fromPair,
    drillSystemAccess: async () => drillFakes.access,
    drillWrite: async (input): Promise<WriterResult> => {
      drillFakes.writerCalls++;
      return {
        runId: input.runId,
        attempted: 120,
        acknowledged: 100,
        failed: 15,
        unknown: 5,
        acknowledgedRanges: [[1, 100]],
        bySite: { gra: 60, rbx: 40 },
        writeOutageMs: 1500,
        stoppedBecause: 'moved',
        durationMs: 6000,
        description: '120 writes, 100 acknowledged.',
      };
    },
    drillLostWrites: async (input): Promise<LostWritesResult> => ({
      server: input.server,
      acknowledged: 100,
      present: 100 - drillFakes.lost,
      lost: drillFakes.lost,
      lostIds: Array.from({ length: drillFakes.lost }, (_, i) => i + 1),
      description: `${drillFakes.lost} missing on ${input.server}.`,
    }),
    drillWriteReport: async ({ report }): Promise<DrillReportFiles> => {
      drillFakes.written.push(report);
      const base = `/reports/${report.workflowId}`;
      return {
        written: true,
        files: { json: `${base}.json`, markdown: `${base}.md`, svg: `${base}.svg` },
        steps: [],
        description: `wrote ${base}.md.`,
      };
    },
  };
}

const ts = timeSkippingWorker(
  'drill-wf',
  () => ({ workflowBundle: { codePath: testWorkflowBundle() } }),
  activities(),
);

const okAccess = (): DrillCheck[] => [
  { name: 'access.mysql.db-gra-1', ok: true, sentence: 'access.mysql.db-gra-1: logs in.' },
  { name: 'access.traffic.haproxy', ok: true, sentence: 'access.traffic.haproxy: answers.' },
];

const input = (mode: DrillInput['mode']): DrillInput => ({
  pair: 'fake',
  mode,
  trigger: 'test',
  requestedBy: 'tester',
});

async function runDrill(mode: DrillInput['mode']) {
  return ts.env.client.workflow.start(drill, {
    args: [input(mode)],
    taskQueue: ts.taskQueue,
    workflowId: `drill-fake-${mode}-${randomUUID().slice(0, 8)}`,
  });
}

/** A pair whose approvals need a human, and whose runbook has a drills section with a writer. */
const drillPair = (gameDayApproval: 'auto' | 'required') =>
  new FakePair(
    fakeSettings({
      approval: { policy: 'required', approvers: ['alice'], timeoutMs: 1_800_000, onTimeout: 'reject' },
      drills: { gameDayApproval, writer: true },
    }),
  );

afterEach(async () => {
  const handle = ts.env.client.workflow.getHandle(pairMoveWorkflowId('fake'));
  const run = await handle.describe().catch(() => undefined);
  if (run?.status.name === 'RUNNING') await handle.terminate('the next test starts');
  drillFakes.access = okAccess();
  drillFakes.lost = 0;
  drillFakes.written = [];
  drillFakes.writerCalls = 0;
});

describe('drill workflow (time-skipping, in-memory pair)', () => {
  it('readiness: passes with every readiness and access check, lags, the expected RTO, the report written and the memo', async () => {
    pair = new FakePair();
    drillFakes.access = okAccess();
    const handle = await runDrill('readiness');
    const report = await handle.result();
    await recordHistory(handle, 'drill-readiness-passed');
    expect(report.outcome).toBe('passed');
    const names = report.checks.map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining(['access.mysql.db-gra-1', 'access.traffic.haproxy', 'traffic.target']),
    );
    expect(names.filter((n) => n.startsWith('es-rbx.'))).not.toEqual([]);
    expect(report.lags.mysql.map((l) => l.server)).toEqual(['db-rbx-1', 'db-rbx-2']);
    expect(report.expectedRto.boundMs).toBe(expectedRto(pair.settings, 'unplanned', 0).boundMs);
    expect(report.files?.svg).toBe(`/reports/${handle.workflowId}.svg`);
    expect(drillFakes.written.map((r) => r.workflowId)).toEqual([handle.workflowId]);
    expect(pair.changes()).toEqual([]);
    const memo = (await handle.describe()).memo?.drill as Record<string, unknown>;
    expect(memo).toMatchObject({ outcome: 'passed', expectedRtoMs: report.expectedRto.boundMs });
  });

  it('refuses a bad input naming each bad field, before anything is read', async () => {
    pair = new FakePair();
    const handle = await ts.env.client.workflow.start(drill, {
      args: [{ pair: 'Bad Pair', mode: 'chaos', trigger: 'cron', requestedBy: ' ' } as unknown as DrillInput],
      taskQueue: ts.taskQueue,
      workflowId: `drill-bad-${randomUUID().slice(0, 8)}`,
    });
    const failure = await handle
      .result()
      .catch((err: { cause?: { message?: string } }) => err.cause?.message);
    expect(failure).toBe(
      'invalid drill input: pair: a pair name (lower-case letters, digits and dashes) is required; mode: must be "readiness" or "game-day" (got "chaos"); trigger: must be one of cli, ui, alertmanager, schedule, test (got "cron"); requestedBy: say who asks',
    );
    expect(pair.calls).toEqual([]);
  });

  it('readiness: fails, naming the first failed check, when a system refuses the credentials', async () => {
    pair = new FakePair();
    drillFakes.access = [
      ...okAccess(),
      {
        name: 'access.elasticsearch.rbx',
        ok: false,
        sentence: 'access.elasticsearch.rbx: 401 Unauthorized.',
      },
    ];
    const report = await (await runDrill('readiness')).result();
    expect(report.outcome).toBe('failed');
    expect(report.sentence).toMatch(
      /1 of \d+ checks fail, first: access\.elasticsearch\.rbx: 401 Unauthorized/,
    );
  });

  it('game-day: refuses a pair that is not ready, and moves nothing', async () => {
    pair = drillPair('auto');
    pair.state.mysql['db-rbx-1']!.ioRunning = false;
    const report = await (await runDrill('game-day')).result();
    expect(report.outcome).toBe('refused');
    expect(report.sentence).toMatch(/^refusing the game-day drill of fake: the pair is not ready/);
    expect(report.moves).toBeUndefined();
    expect(drillFakes.writerCalls).toBe(0);
    expect(pair.changes()).toEqual([]);
  });

  it('game-day: refuses a runbook without a drill writer', async () => {
    pair = new FakePair();
    const report = await (await runDrill('game-day')).result();
    expect(report.outcome).toBe('refused');
    expect(report.sentence).toMatch(/no drills\.gameDay\.writer/);
    expect(pair.changes()).toEqual([]);
  });

  it('game-day: fails over and back under its own approval, with measured RTO, write outage, lost writes and the timeline marks', async () => {
    pair = drillPair('auto');
    const handle = await runDrill('game-day');
    const report = await handle.result();
    await recordHistory(handle, 'drill-game-day-passed');
    expect(report.outcome).toBe('passed');
    expect(report.moves?.map((m) => [m.kind, m.outcome])).toEqual([
      ['failover', 'completed'],
      ['failback', 'completed'],
    ]);
    expect(report.measuredRtoMs).toBe(report.moves![0]!.rtoMs);
    expect(report.writes).toMatchObject({
      writeOutageMs: 1500,
      lostWrites: 0,
      acknowledged: 100,
      checkedOn: 'db-rbx-1',
    });
    const failover = report.moves![0]!;
    expect(failover.fenceWindow!.from <= failover.pointOfNoReturn!).toBe(true);
    expect(failover.pointOfNoReturn! <= failover.fenceWindow!.to).toBe(true);
    expect(report.steps.filter((s) => s.move === 'failover' && s.phase === 'promote')).not.toEqual([]);
    expect(report.steps.filter((s) => s.move === 'failback')).not.toEqual([]);
    expect(report.moves!.map((m) => m.approvals)).toEqual([['auto by policy'], ['auto by policy']]);
    expect(pair.state.traffic).toBe(initialState().traffic);
  });

  it('a move that names a drill it was not started by keeps the runbook approval: it waits for an approver', async () => {
    pair = drillPair('auto');
    const move = await ts.env.client.workflow.start(failover, {
      args: [
        {
          pair: 'fake',
          mode: 'planned',
          trigger: 'ui',
          reason: 'claims a drill',
          requestedBy: 'mallory',
          drill: 'drill-fake-x',
        },
      ],
      taskQueue: ts.taskQueue,
      workflowId: pairMoveWorkflowId('fake'),
    });
    let pending: string | undefined;
    for (let i = 0; i < 400 && !pending; i++) {
      pending = (await move.query(statusQuery)).pending?.kind;
      if (!pending) await new Promise((r) => setTimeout(r, 25));
    }
    expect(pending).toBe('approval');
    expect(pair.changes()).toEqual([]);
  });

  it('game-day: fails when acknowledged writes are missing on the new primary', async () => {
    pair = drillPair('auto');
    drillFakes.lost = 3;
    const report = await (await runDrill('game-day')).result();
    expect(report.outcome).toBe('failed');
    expect(report.sentence).toMatch(/3 acknowledged writes were lost/);
    expect(report.writes?.lostWriteIds).toEqual([1, 2, 3]);
  });
  it('game-day: the failover waits for an approver when the runbook does not let drills approve themselves', async () => {
    pair = drillPair('required');
    const handle = await runDrill('game-day');
    const move = ts.env.client.workflow.getHandle(pairMoveWorkflowId('fake'));
    let pending: string | undefined;
    for (let i = 0; i < 400 && !pending; i++) {
      pending = await move
        .query(statusQuery)
        .then((s) => s.pending?.kind)
        .catch(() => undefined);
      if (!pending) await new Promise((r) => setTimeout(r, 25));
    }
    expect(pending).toBe('approval');
    expect(pair.changes()).toEqual([]);
    expect(drillFakes.writerCalls).toBe(1);
    // Last of the file: the move the drill abandons, ended after it, stops time skipping (sdk-typescript#1101).
    await handle.terminate('test over');
  });
});

/**
 * Drills end to end on a scratch DR pair (MariaDB trio, ES emulator, Perl apps over SSH, HAProxy; the real worker as
 * a process on its own task queue; the shared Temporal dev server), driven through the drctl commands: a schedule
 * created from the CLI and triggered fires a readiness drill whose report lists every check; a game-day drill fails
 * the pair over and back under its own writer and reports the measured RTO, write outage and lost writes, with its
 * SVG timeline.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { listDrills } from '../client/drill';
import { register as registerDrill } from '../client/commands/drill';
import { register as registerSchedule } from '../client/commands/schedule';
import { listDrillSchedules } from '../client/schedules';
import type { DrillReport } from '../common/drill-report';
import { waitUntil } from './helpers/apps-traffic';
import { temporalAddress } from './helpers/local-stack';
import { takeTurns } from './helpers/turns';
import { pairWithWorker } from './helpers/pair-with-worker';

// The game-day drill's writer offers writes at a set rate: never alongside another write load.
takeTurns('write-load', 'exclusive');

/**
 * Runs drctl's drill and schedule commands in this process, on a program with drctl's global options, and returns
 * what they printed; a command that fails rejects with drctl's message.
 */
async function drctl(taskQueue: string, ...args: string[]): Promise<string> {
  const program = new Command('drctl')
    .exitOverride()
    .option('--address <host:port>')
    .option('--namespace <name>')
    .option('--task-queue <name>')
    .option('--json');
  registerDrill(program);
  registerSchedule(program);
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  try {
    await program.parseAsync(['--address', temporalAddress(), '--task-queue', taskQueue, ...args], {
      from: 'user',
    });
  } finally {
    log.mockRestore();
    process.exitCode = undefined;
  }
  return printed.join('\n');
}

describe('drills end to end, on a scratch DR pair', () => {
  const t = pairWithWorker('e2e-drill', {
    edit: (runbook) => {
      runbook.drills = {
        reports: 'drill-reports',
        schedules: [{ mode: 'readiness', every: '24h', paused: true }],
        gameDay: {
          approval: 'auto',
          writer: { url: String(runbook.traffic!.entryUrl).replace(/\/health$/, '/orders'), rate: 40 },
        },
      };
    },
  });
  const cli = (...args: string[]) => drctl(t.taskQueue, ...args);
  afterAll(async () => {
    for (const s of t.client ? await listDrillSchedules(t.client, t.pair?.pair).catch(() => []) : [])
      await t.client.schedule
        .getHandle(s.scheduleId)
        .delete()
        .catch(() => undefined);
  });

  it('a schedule created from the CLI fires, when triggered, a readiness drill whose report lists every check', async () => {
    const scheduleId = `drill-${t.pair.pair}-weekly`;
    expect(await cli('schedule', 'create', t.pair.pair, '--every', '7d', '--name', 'weekly')).toBe(
      `created ${scheduleId}`,
    );
    await expect(cli('schedule', 'create', t.pair.pair, '--every', '7d', '--name', 'weekly')).rejects.toThrow(
      `schedule ${scheduleId} exists already`,
    );
    const described = await t.client.schedule.getHandle(scheduleId).describe();
    expect(described.policies.overlap).toBe('SKIP');
    expect(await cli('schedule', 'trigger', scheduleId)).toMatch(/^triggered /);

    let workflowId: string | undefined;
    await waitUntil(
      'the schedule started a drill',
      async () => {
        const recent = (await t.client.schedule.getHandle(scheduleId).describe()).info.recentActions;
        workflowId = recent[0]?.action.workflow.workflowId;
        return workflowId !== undefined;
      },
      30_000,
    );
    const report = (await t.client.workflow.getHandle(workflowId!).result()) as DrillReport;
    expect(report.sentence).toMatch(/^readiness drill of .* passed: all \d+ checks pass/);
    expect(report).toMatchObject({ mode: 'readiness', trigger: 'schedule', outcome: 'passed' });
    const names = report.checks.map((c) => c.name);
    const runbook = t.pair.runbooks.get(t.pair.pair)!.runbook;
    expect(names).toEqual(
      expect.arrayContaining([
        ...runbook.mysql.servers.map((s) => `access.mysql.${s.name}`),
        ...runbook.elasticsearch!.clusters.map((c) => `access.elasticsearch.${c.site}`),
        'access.traffic.haproxy',
        ...runbook.apps!.hosts.flatMap((h) => [`access.apps.${h.name}.ssh`, `access.apps.${h.name}.health`]),
        'traffic.target',
        'es-rbx.health',
        ...runbook.elasticsearch!.followerIndices.map((i) => `es-rbx.${i}`),
      ]),
    );
    expect(report.lags.mysql.map((l) => l.server)).toEqual(['db-rbx-1', 'db-rbx-2']);
    expect(report.expectedRto.boundMs).toBeGreaterThan(0);
    const files = report.files!;
    // The file is written before the drill says it wrote it: the returned report has that one decision more.
    expect(JSON.parse(readFileSync(files.json, 'utf8'))).toEqual({
      ...report,
      decisions: report.decisions.slice(0, -1),
    });
    const markdown = readFileSync(files.markdown, 'utf8');
    for (const name of names) expect(markdown).toContain(`| ${name} |`);
    expect(readFileSync(files.svg, 'utf8')).toMatch(/^<svg /);

    await waitUntil(
      'drctl drill list shows the drill',
      async () => (await cli('drill', 'list', t.pair.pair)).includes(workflowId!),
      30_000,
    );
    const listed = JSON.parse(await cli('--json', 'drill', 'list', t.pair.pair)) as Awaited<
      ReturnType<typeof listDrills>
    >;
    expect(listed.find((d) => d.workflowId === workflowId)).toMatchObject({
      mode: 'readiness',
      outcome: 'passed',
    });

    expect(await cli('schedule', 'pause', scheduleId)).toBe(`paused ${scheduleId}.`);
    // Schedules are listed from visibility, which follows a change within moments.
    await waitUntil(
      'drctl schedule list shows the schedule paused',
      async () =>
        (await cli('schedule', 'list', t.pair.pair)).includes(`${scheduleId} (paused): every 7d; next `),
      30_000,
    );
    expect(await cli('schedule', 'delete', scheduleId)).toBe(`deleted ${scheduleId}.`);
    await expect(cli('schedule', 'trigger', scheduleId)).rejects.toThrow(`no schedule ${scheduleId}`);
  }, 120_000);

  it("creates the runbook's schedules, then updates them, from drctl schedule create without --cron or --every", async () => {
    const scheduleId = `drill-${t.pair.pair}-readiness`;
    const previous = process.env.DR_RUNBOOKS;
    process.env.DR_RUNBOOKS = t.pair.runbookPath;
    try {
      expect(await cli('schedule', 'create', t.pair.pair)).toBe(`created ${scheduleId}`);
      expect(await cli('schedule', 'create', t.pair.pair)).toBe(`updated ${scheduleId}`);
    } finally {
      if (previous === undefined) delete process.env.DR_RUNBOOKS;
      else process.env.DR_RUNBOOKS = previous;
    }
    const described = await t.client.schedule.getHandle(scheduleId).describe();
    expect(described.state.paused).toBe(true);
    expect(described.policies.overlap).toBe('SKIP');
    expect(described.spec.intervals?.map((i) => i.every)).toEqual([24 * 3600 * 1000]);
    expect(described.action).toMatchObject({ workflowType: 'drill', taskQueue: t.taskQueue });
    expect(await cli('schedule', 'delete', scheduleId)).toBe(`deleted ${scheduleId}.`);
  }, 60_000);

  it('a game-day drill fails over and back, and reports the measured RTO, write outage and lost writes with its SVG timeline', async () => {
    const report = JSON.parse(
      await cli('--json', 'drill', t.pair.pair, '--mode', 'game-day', '--yes', '--wait'),
    ) as DrillReport;
    expect(report.moves?.map((m) => [m.kind, m.outcome])).toEqual([
      ['failover', 'completed'],
      ['failback', 'completed'],
    ]);
    expect(report.outcome).toBe('passed');
    expect(report.measuredRtoMs).toBeGreaterThan(0);
    expect(report.writes!.acknowledged).toBeGreaterThan(0);
    expect(report.writes!.writeOutageMs).toBeGreaterThan(0);
    expect(report.writes!.lostWrites).toBe(0);
    expect(report.writes!.checkedOn).toBe('db-rbx-1');
    const svg = readFileSync(report.files!.svg, 'utf8');
    expect(svg.match(/<rect class="bar"/g)).toHaveLength(report.steps.filter((s) => s.startedAt).length);
    expect(svg).toContain('failover fence window');
    expect(svg).toContain('failover point of no return');
    expect(existsSync(report.files!.markdown)).toBe(true);
    const snapshot = await t.pair.snapshot();
    expect(snapshot.traffic.servers).toEqual({ 'app-gra': 'ready', 'app-rbx': 'drain' });
    expect(snapshot.mysql['db-gra-1']).toMatchObject({ readOnly: false, replicatesFrom: null });
  }, 240_000);
});

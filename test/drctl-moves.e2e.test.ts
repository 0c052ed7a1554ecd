/**
 * drctl moves a scratch DR pair as an operator would, through its own worker and task queue (--task-queue): pairs,
 * doctor and status read it; a dry run changes nothing; a switchover followed with --wait prints the approval
 * question with the exact `drctl approve` command, which answers it; a second start joins the run, a failback is
 * refused while it runs; runs and show report it; a failback brings the pair home; a failed run prints its root
 * cause.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairMoveWorkflowId } from '../workflows/definitions';
import type { FailoverReport } from '../workflows/failover/report';
import { writeTestApproverKey } from './helpers/approver';
import { waitUntil } from './helpers/apps-traffic';
import { temporalAddress, testTaskQueue } from './helpers/local-stack';
import {
  startScratchDrPair,
  startWorkerProcess,
  type ScratchDrPair,
  type WorkerProcess,
} from './helpers/scratch-dr-pair';

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const DRCTL = path.join(ROOT, 'bin', 'drctl');

describe('drctl on a scratch DR pair with its own worker', () => {
  let pair: ScratchDrPair;
  let worker: WorkerProcess;
  const taskQueue = testTaskQueue('e2e-drctl');
  const key = writeTestApproverKey();

  const env = () => {
    const { TEMPORAL_UI_URL: _u, ...inherited } = process.env;
    return {
      ...inherited,
      DR_RUNBOOKS: pair.runbookPath,
      TEMPORAL_ADDRESS: temporalAddress(),
      DRCTL_APPROVER: 'oncall',
      DRCTL_SIGNING_KEY: key,
      SSH_AUTH_SOCK: '',
    };
  };
  const drctl = (...args: string[]) =>
    spawnSync(DRCTL, ['--task-queue', taskQueue, ...args], { encoding: 'utf8', cwd: ROOT, env: env() });
  const json = <T>(result: { status: number | null; stdout: string; stderr: string }): T => {
    expect(result.stderr).not.toMatch(/^drctl: /m);
    return JSON.parse(result.stdout) as T;
  };

  /**
   * `drctl <move> --wait` in the background, answering each approval question it prints (once `answering` is
   * called) by running the very `drctl approve` command it prints; `ended` gives its exit code and output.
   */
  function moveAnsweringApprovals(args: string[]) {
    const child = spawn(DRCTL, ['--task-queue', taskQueue, ...args], { cwd: ROOT, env: env() });
    let stdout = '';
    let stderr = '';
    let closed = false;
    let allowed = false;
    const answered: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (status) => {
        closed = true;
        resolve(status);
      }),
    );
    const approve = async () => {
      while (!closed) {
        const commands = [...stdout.matchAll(/answer: (drctl approve .*)$/gm)].map((m) => m[1]!);
        for (const command of commands.filter((c) => allowed && !answered.includes(c))) {
          answered.push(command);
          const words = command.replace(' --reason "…"', '').split(' ').slice(1);
          const run = await execFileAsync(DRCTL, [...words, '--reason', 'the end-to-end test approves'], {
            encoding: 'utf8',
            env: env(),
          }).catch((err: { stdout?: string; stderr?: string }) => err);
          stdout += `[approve] ${run.stdout ?? ''}${run.stderr ?? ''}\n`;
        }
        await sleep(200);
      }
    };
    const approving = approve();
    return {
      output: () => stdout,
      answering: () => (allowed = true),
      ended: (async () => {
        const status = await exited;
        await approving;
        return { status, stdout, stderr, answered };
      })(),
    };
  }

  /**
   * The systems' state a move changes; the apps' health probes are left out: on a loaded machine a probe may time
   * out with nothing changed.
   */
  const systems = async () => {
    const { mysql, elasticsearch, traffic } = await pair.snapshot();
    return { mysql, elasticsearch, traffic };
  };

  beforeAll(async () => {
    pair = await startScratchDrPair();
    worker = await startWorkerProcess({ runbookPath: pair.runbookPath, taskQueue });
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    await pair?.close();
  });

  it('pairs and doctor read the pair; doctor sees the worker on the task queue and judges only the serving app', () => {
    const pairs = json<{ pair: string; primary: string; standby: string }[]>(drctl('--json', 'pairs'));
    expect(pairs).toEqual([expect.objectContaining({ pair: pair.pair, primary: 'gra', standby: 'rbx' })]);
    const doctor = drctl('--json', 'doctor');
    const checks = json<{ name: string; status: string; detail: string }[]>(doctor);
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.find((c) => c.name === `task queue ${taskQueue}`)?.status).toBe('ok');
    expect(checks.find((c) => /app app-gra-1 health/.test(c.name))?.status).toBe('ok');
    expect(checks.find((c) => /app app-rbx-1 health/.test(c.name))).toMatchObject({
      status: 'info',
      detail: expect.stringMatching(/rbx stands by, so its app is not judged/) as string,
    });
    expect(doctor.status).toBe(0);
  }, 60_000);

  it('status shows the topology and that no move ran', () => {
    const status = json<{
      topology: { primary: string; mysql: { server: string }[]; traffic: { site: string } };
      move: { state: string };
      apps: { host: string }[];
    }>(drctl('--json', 'status', pair.pair));
    expect(status.topology.primary).toBe('db-gra-1');
    expect(status.topology.mysql.map((s) => s.server)).toEqual(['db-gra-1', 'db-rbx-1', 'db-rbx-2']);
    expect(status.topology.traffic.site).toBe('gra');
    expect(status.apps.map((a) => a.host)).toEqual(['app-gra-1', 'app-rbx-1']);
    expect(status.move).toEqual({ state: 'none' });
  }, 90_000);

  it('switchover --dry-run prints the plan and the data-loss estimate and changes nothing', async () => {
    const before = await systems();
    const result = drctl('switchover', pair.pair, '--dry-run', '--reason', 'drctl e2e: dry run');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^dry run of a failover of e2e-\w+: nothing was changed/);
    expect(result.stdout).toMatch(/\nPlan: \d+ steps move e2e-\w+ from gra to rbx/);
    expect(result.stdout).toMatch(/\n {2}1\. \[warm-up\] /);
    expect(result.stdout).toMatch(/\n {2}\d+\. \[fence\] /);
    expect(result.stdout).toMatch(/\nData-loss estimate:\n {2}mysql: /);
    expect(result.stdout).toContain('Temporal UI: http://');
    expect(await systems()).toEqual(before);
  }, 90_000);

  it('switchover --wait: phases, the approval with its exact drctl approve command, a joining start, a refused failback, the report', async () => {
    const move = moveAnsweringApprovals([
      'switchover',
      pair.pair,
      '--yes',
      '--wait',
      '--as',
      'operator-1',
      '--reason',
      'drctl e2e: planned switchover',
    ]);
    // While it waits for approval: a second start joins the run, a failback of the pair is refused.
    await waitUntil('the run asks approval', async () => /answer: drctl approve/.test(move.output()), 60_000);
    const runId = /: run (\S+) of workflow /.exec(move.output())![1];
    const again = json<{ runId: string; joined: boolean }>(
      drctl('--json', 'switchover', pair.pair, '--yes', '--reason', 'a second operator'),
    );
    expect(again).toMatchObject({ runId, joined: true });
    const failback = drctl('failback', pair.pair, '--yes', '--reason', 'too early');
    expect(failback.status).toBe(1);
    expect(failback.stderr).toMatch(
      /refusing to start a full failback of e2e-\w+: a planned failover of this pair is running/,
    );
    const status = drctl('status', pair.pair);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(
      new RegExp(`\nmove: failover run ${runId} is running\n {2}phase approve: `),
    );
    expect(status.stdout).toContain(`  answer: drctl approve ${pair.pair} --question q1 --reason "…"`);
    move.answering();

    const end = await move.ended;
    expect(end.status, `${end.stdout}\n${end.stderr}`).toBe(0);
    expect(end.answered).toEqual([`drctl approve ${pair.pair} --question q1 --reason "…"`]);
    expect(end.stdout).toMatch(/\[approve\] approve of question q1 accepted from oncall/);
    // Every phase is announced once, in order, even those the run went through between two status readings.
    const phases = [...end.stdout.matchAll(/^phase ([a-z-]+)/gm)].map((m) => m[1]!);
    const expected = ['approve', 'fence', 'prepare', 'promote', 'switch', 'verify'];
    expect(phases.filter((p) => expected.includes(p))).toEqual(expected);
    expect(end.stdout).toMatch(/planned failover of e2e-\w+: COMPLETED\n/);
    expect(end.stdout).toMatch(/from gra to rbx; RTO \d+\.\d s from the start/);
    const after = await pair.snapshot();
    expect(after.mysql['db-rbx-1']).toMatchObject({ readOnly: false, replicatesFrom: null });
  }, 180_000);

  it('runs lists the switchover with its outcome and RTO; show prints its report, by workflow or run ID', async () => {
    type Run = { workflowId: string; runId: string; mode: string; outcome: string; rtoSeconds?: number };
    let planned: Run | undefined;
    await waitUntil(
      'visibility lists the completed switchover',
      async () => {
        const runs = json<Run[]>(drctl('--json', 'runs', '--pair', pair.pair));
        planned = runs.find((r) => r.mode === 'planned');
        return planned?.outcome === 'completed';
      },
      30_000,
    );
    expect(planned!.rtoSeconds).toBeGreaterThan(0);
    expect(planned!.workflowId).toBe(pairMoveWorkflowId(pair.pair));
    const shown = json<{ report: FailoverReport }>(drctl('--json', 'show', planned!.workflowId));
    expect(shown.report).toMatchObject({ outcome: 'completed', mode: 'planned', from: 'gra', to: 'rbx' });
    const byRunId = drctl('show', planned!.runId);
    expect(byRunId.status, byRunId.stderr).toBe(0);
    expect(byRunId.stdout).toMatch(/^planned failover of e2e-\w+: COMPLETED/);
    const never = `${pairMoveWorkflowId(pair.pair)}-never-started`;
    const missing = drctl('show', never);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(new RegExp(`^drctl: no run ${never}: Temporal has no such workflow`));
  }, 90_000);

  it('failback --dry-run says what the failback would do and changes nothing', async () => {
    const before = await systems();
    const result = drctl('failback', pair.pair, '--dry-run', '--reason', 'drctl e2e: dry run');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^dry run of a full failback of e2e-\w+: nothing was changed/);
    expect(result.stdout).toMatch(/they reprotect gra and let it catch up; then a planned switch back/);
    expect(result.stdout).toMatch(/\n {2}1\. \[reprotect\] mysql: /);
    expect(result.stdout).toMatch(/\n {2}\d+\. \[catch-up\] elasticsearch: /);
    expect(result.stdout).toMatch(/\nTemporal UI: /);
    expect(await systems()).toEqual(before);
  }, 90_000);

  it('failback --wait brings the pair home, answering its approval; status shows it', async () => {
    const move = moveAnsweringApprovals([
      'failback',
      pair.pair,
      '--yes',
      '--wait',
      '--as',
      'operator-1',
      '--reason',
      'drctl e2e: back home',
    ]);
    move.answering();
    const end = await move.ended;
    expect(end.status, `${end.stdout}\n${end.stderr}`).toBe(0);
    expect(end.stdout).toMatch(/full failback of e2e-\w+: COMPLETED\n/);
    expect(end.stdout).toMatch(/^phase reprotect\b/m);
    const status = json<{ topology: { primary: string }; move: { state: string; status: string } }>(
      drctl('--json', 'status', pair.pair),
    );
    expect(status.topology.primary).toBe('db-gra-1');
    expect(status.move).toMatchObject({ state: 'closed', status: 'completed' });
  }, 240_000);

  it('failover of a pair whose primary answers: the run says it is not needed, exit 1', () => {
    const result = drctl('failover', pair.pair, '--yes', '--wait', '--reason', 'drctl e2e: false alarm');
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/unplanned failover of e2e-\w+: NOT-NEEDED\n {2}not failing over: /);
  }, 90_000);

  it('a failed run prints its root cause: the typed failure and its sentence', () => {
    const unknown = `${pair.pair}-unknown`;
    const result = drctl('failover', unknown, '--yes', '--wait', '--reason', 'drctl e2e: unknown pair');
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^the run failed: UnknownPair: .*${unknown}`, 'm'));
    expect(result.stdout).not.toMatch(/Activity task failed|Workflow execution failed/);
  }, 90_000);
});

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, portOpen, processAlive, tsEntry, waitFor } from '../dev/stack/daemon';
import { orchestratorWorker } from '../dev/stack/services/worker';
import { withEnv } from './helpers/env';
import { describe, expect, it } from 'vitest';
import { temporalAddress, testTaskQueue, testWorkflowBundle } from './helpers/local-stack';
import { takeTurns } from './helpers/turns';

// Needs the shared local pair as the stack leaves it: never while a file changes it.
takeTurns('local-pair', 'shared');

const ROOT = path.resolve(__dirname, '..');

/** The worker entry point as operators run it: JSON logs, Prometheus metrics, graceful SIGTERM. */
describe('worker process', () => {
  it('bundles its workflows at start, logs JSON lines, serves Prometheus metrics and stops gracefully on SIGTERM', async () => {
    const metricsPort = await freePort();
    const { command, args } = tsEntry('worker/main.ts');
    const child = spawn(command, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        DR_TASK_QUEUE: testTaskQueue('process'),
        DR_WORKER_METRICS_PORT: String(metricsPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    const deadline = Date.now() + 60_000;
    while (!output.includes('"worker running"') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(output, output).toContain('"worker running"');
    const running = output
      .split('\n')
      .filter((line) => line.includes('"worker running"'))
      .map((line) => JSON.parse(line))[0];
    expect(running).toMatchObject({
      level: 'INFO',
      component: 'worker',
      pairs: ['local'],
      workflows: 'bundled at start',
    });

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^# (HELP|TYPE) temporal_/m);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('"worker stopped"');
  });

  it('refuses to start with an invalid runbook and names the field', async () => {
    const { command, args } = tsEntry('worker/main.ts');
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, DR_RUNBOOKS: path.join(ROOT, 'package.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(output).toMatch(/"worker failed".*invalid runbook.*pair: /);
  });

  it("the stack records the worker's own pid: SIGKILL of it frees its port, and up starts it again", async () => {
    const metricsPort = await freePort();
    await withEnv(
      {
        DR_STACK_DIR: mkdtempSync(path.join(os.tmpdir(), 'stack-worker-')),
        DR_STACK_PORT_WORKER_METRICS: String(metricsPort),
        DR_WORKER_METRICS_PORT: undefined,
        DR_TASK_QUEUE: testTaskQueue('kill'),
        DR_RUNBOOKS: path.join(ROOT, 'config/runbooks/local.yaml'),
        DR_WORKFLOW_BUNDLE: testWorkflowBundle(),
      },
      async () => {
        const service = orchestratorWorker(() => undefined);
        try {
          await service.up();
          const [pid] = (await service.status()).pids;
          expect(workerProcesses()).toEqual([pid]);
          process.kill(pid!, 'SIGKILL');
          await waitFor('the killed worker to be gone', async () => !processAlive(pid!), 10_000);
          expect(workerProcesses()).toEqual([]);
          expect(await portOpen(metricsPort)).toBe(false);
          await service.up();
          const [again] = (await service.status()).pids;
          expect(again).not.toBe(pid);
          expect(workerProcesses()).toEqual([again]);
        } finally {
          await service.down();
        }
        expect(workerProcesses()).toEqual([]);
      },
    );
  });
});

/** Pids of the processes running this checkout's worker (sources or build) with the current test's metrics port. */
function workerProcesses(): number[] {
  const port = process.env.DR_STACK_PORT_WORKER_METRICS;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        // The sources (with tsx) or the build, whichever the stack runs.
        const worker = ['worker/main.ts', 'dist/worker/main.js'].some((f) =>
          cmdline.includes(path.join(ROOT, f)),
        );
        return worker && environ.includes(`DR_WORKER_METRICS_PORT=${port}`);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number)
    .filter((pid) => processAlive(pid));
}

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, portOpen, processAlive, tsEntry, waitFor } from '../dev/stack/daemon';
import { orchestratorWorkers } from '../dev/stack/services/worker';
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

  it('the stack runs two workers on the queue, each with its own pid, log and port: a SIGKILLed one is started again, the other kept', async () => {
    const ports = { worker: await freePort(), 'worker-rbx': await freePort() };
    const stackDir = mkdtempSync(path.join(os.tmpdir(), 'stack-worker-'));
    await withEnv(
      {
        DR_STACK_DIR: stackDir,
        DR_STACK_PORT_WORKER_METRICS: String(ports.worker),
        DR_STACK_PORT_WORKER_RBX_METRICS: String(ports['worker-rbx']),
        DR_WORKER_METRICS_PORT: String(await freePort()), // inherited: each worker still takes its own port
        DR_TASK_QUEUE: testTaskQueue('kill'),
        DR_RUNBOOKS: path.join(ROOT, 'config/runbooks/local.yaml'),
        DR_WORKFLOW_BUNDLE: testWorkflowBundle(),
      },
      async () => {
        const services = orchestratorWorkers(() => undefined);
        expect(services.map((s) => s.name)).toEqual(['worker', 'worker-rbx']);
        /** Each worker's pid, in STACK_WORKERS order (undefined when it does not run). */
        const pidsOf = async () => Promise.all(services.map(async (s) => (await s.status()).pids[0]));
        try {
          await Promise.all(services.map((s) => s.up()));
          const [gra, rbx] = await pidsOf();
          expect(gra).not.toBe(rbx);
          for (const [name, pid] of [
            ['worker', gra],
            ['worker-rbx', rbx],
          ] as const) {
            expect(workerProcesses(ports[name]), name).toEqual([pid]);
            const runDir = path.join(stackDir, name);
            expect(readFileSync(path.join(runDir, `${name}.pid`), 'utf8').trim()).toBe(String(pid));
            expect(readFileSync(path.join(runDir, `${name}.log`), 'utf8')).toContain('"worker running"');
            expect(await (await fetch(`http://127.0.0.1:${ports[name]}/metrics`)).text()).toMatch(
              /^# (HELP|TYPE) temporal_/m,
            );
          }

          process.kill(rbx!, 'SIGKILL');
          await waitFor('the killed worker to be gone', async () => !processAlive(rbx!), 10_000);
          expect(workerProcesses(ports['worker-rbx'])).toEqual([]);
          expect(await portOpen(ports['worker-rbx'])).toBe(false);
          expect(await Promise.all(services.map(async (s) => (await s.status()).running))).toEqual([
            true,
            false,
          ]);
          await Promise.all(services.map((s) => s.up()));
          const [graAgain, rbxAgain] = await pidsOf();
          expect(graAgain).toBe(gra);
          expect(rbxAgain).not.toBe(rbx);
          expect(workerProcesses(ports['worker-rbx'])).toEqual([rbxAgain]);
        } finally {
          await Promise.all(services.map((s) => s.down()));
        }
        expect(workerProcesses(ports.worker)).toEqual([]);
        expect(workerProcesses(ports['worker-rbx'])).toEqual([]);
      },
    );
  }, 120_000);
});

/** Pids of the processes running this checkout's worker (sources or build) with the given metrics port. */
function workerProcesses(port: number): number[] {
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

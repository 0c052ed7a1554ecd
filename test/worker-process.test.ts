import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporalAddress, testTaskQueue } from './helpers/local-stack';

const ROOT = path.resolve(__dirname, '..');

/** The worker entry point as operators run it: JSON logs, Prometheus metrics, graceful SIGTERM. */
describe('worker process', () => {
  it('logs JSON lines, serves Prometheus metrics and stops gracefully on SIGTERM', async () => {
    const metricsPort = 19464;
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'worker/main.ts')],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: temporalAddress(),
          DR_TASK_QUEUE: testTaskQueue('process'),
          DR_WORKER_METRICS_PORT: String(metricsPort),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
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
    expect(running).toMatchObject({ level: 'INFO', component: 'worker', pairs: ['local'] });

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^# (HELP|TYPE) temporal_/m);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('"worker stopped"');
  });

  it('refuses to start with an invalid runbook and names the field', async () => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'worker/main.ts')],
      {
        cwd: ROOT,
        env: { ...process.env, DR_RUNBOOKS: path.join(ROOT, 'package.json') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(output).toMatch(/"worker failed".*invalid runbook.*pair: /);
  });
});

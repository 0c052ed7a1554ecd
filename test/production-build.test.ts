import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentBuild, freePort } from '../dev/stack/daemon';

const ROOT = path.resolve(__dirname, '..');
const SOURCE_FOLDERS = ['activities', 'client', 'common', 'config', 'dev', 'workflows', 'worker', 'types'];

/**
 * A release as an operator installs it: the repository's files, built by `npm run build`, then no TypeScript source
 * and no tsx (node_modules is a farm of links to this checkout's packages, tsx left out after the build).
 */
describe('production build', () => {
  let release: string;

  beforeAll(() => {
    release = mkdtempSync(path.join(os.tmpdir(), 'dr-release-'));
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => f && existsSync(path.join(ROOT, f)));
    for (const file of files) {
      mkdirSync(path.dirname(path.join(release, file)), { recursive: true });
      cpSync(path.join(ROOT, file), path.join(release, file));
    }
    mkdirSync(path.join(release, 'node_modules'));
    for (const entry of readdirSync(path.join(ROOT, 'node_modules')))
      symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(release, 'node_modules', entry));
    // `npm test` builds the checkout before the tests: the release gets that build. Without a current one (a bare
    // `npx vitest`), the release builds itself.
    const built = currentBuild();
    if (built) cpSync(built, path.join(release, 'dist'), { recursive: true });
    else {
      const build = spawnSync('npm', ['run', 'build'], { cwd: release, encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
    }
    rmSync(path.join(release, 'node_modules', 'tsx'));
    for (const folder of SOURCE_FOLDERS) rmSync(path.join(release, folder), { recursive: true, force: true });
    // The runbooks stay: they are configuration, not code.
    cpSync(path.join(ROOT, 'config', 'runbooks'), path.join(release, 'config', 'runbooks'), {
      recursive: true,
    });
  }, 240_000);

  afterAll(() => rmSync(release, { recursive: true, force: true }));

  it('tsx is a development dependency only', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.dependencies.tsx).toBeUndefined();
    expect(pkg.devDependencies.tsx).toBeDefined();
    expect(pkg.bin.drctl).toBe('bin/drctl');
  });

  it('writes the compiled worker, CLI and workflow bundle', () => {
    for (const file of [
      'dist/worker/main.js',
      'dist/client/cli.js',
      'dist/client/alerts/main.js',
      'dist/workflow-bundle.js',
      'dist/.built',
    ])
      expect(existsSync(path.join(release, file)), file).toBe(true);
  });

  it('bin/drctl runs the compiled CLI without sources or tsx', () => {
    const result = spawnSync(
      path.join(release, 'bin', 'drctl'),
      ['config', 'validate', 'config/runbooks/compose.yaml'],
      {
        cwd: release,
        encoding: 'utf8',
        env: { ...process.env, DR_RUNBOOKS: '' },
      },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('config/runbooks/compose.yaml: valid (pair "compose"');
  });

  it('the worker runs from dist/ with the prebuilt bundle, as the systemd unit starts it', async () => {
    const unit = readFileSync(path.join(ROOT, 'deploy', 'systemd', 'dr-worker.service'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/bin/node /opt/dr-orchestrator/dist/worker/main.js');
    expect(unit).toContain('Environment=DR_WORKFLOW_BUNDLE=/opt/dr-orchestrator/dist/workflow-bundle.js');
    const worker = spawn(process.execPath, ['dist/worker/main.js'], {
      cwd: release,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DR_RUNBOOKS: path.join(release, 'config', 'runbooks', 'compose.yaml'),
        DR_WORKFLOW_BUNDLE: path.join(release, 'dist', 'workflow-bundle.js'),
        DR_TASK_QUEUE: `production-build-${process.pid}`,
        DR_WORKER_METRICS_PORT: String(await freePort()),
        MYSQL_ORCHESTRATOR_PASSWORD: 'unused',
        MYSQL_REPLICATION_PASSWORD: 'unused',
      },
    });
    let output = '';
    const running = new Promise<string>((resolve, reject) => {
      worker.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        const line = output.split('\n').find((l) => l.includes('"worker running"'));
        if (line) resolve(line);
      });
      worker.stderr.on('data', (d: Buffer) => (output += d.toString()));
      worker.on('exit', (code) =>
        reject(new Error(`the worker exited (${code}) before running:\n${output}`)),
      );
    });
    const line = await running;
    expect(JSON.parse(line).workflows).toBe(path.join(release, 'dist', 'workflow-bundle.js'));
    const exited = new Promise<number | null>((resolve) => worker.on('exit', resolve));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);

  it('the alert receiver runs from dist/, as the compose service starts it, and refuses a request without the token', async () => {
    const port = await freePort();
    const runbook = path.join(release, 'config', 'runbooks', 'receiver-test.yaml');
    const compose = readFileSync(path.join(release, 'config', 'runbooks', 'compose.yaml'), 'utf8');
    writeFileSync(
      runbook,
      compose.replace('listen: 0.0.0.0', 'listen: 127.0.0.1').replace('port: 9095', `port: ${port}`),
    );
    const receiver = spawn(process.execPath, ['dist/client/alerts/main.js'], {
      cwd: release,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DR_RUNBOOKS: runbook, DR_ALERT_TOKEN: 'a-test-token-of-the-release' },
    });
    let output = '';
    const listening = new Promise<string>((resolve, reject) => {
      receiver.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        const line = output.split('\n').find((l) => l.includes('"alert receiver listening"'));
        if (line) resolve(line);
      });
      receiver.stderr.on('data', (d: Buffer) => (output += d.toString()));
      receiver.on('exit', (code) =>
        reject(new Error(`the receiver exited (${code}) before listening:\n${output}`)),
      );
    });
    expect(JSON.parse(await listening).url).toBe(`http://127.0.0.1:${port}/alerts`);
    const answer = await fetch(`http://127.0.0.1:${port}/alerts`, { method: 'POST', body: '{}' });
    expect(answer.status).toBe(401);
    const exited = new Promise<number | null>((resolve) => receiver.on('exit', resolve));
    receiver.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});

import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { takeTurns } from './helpers/turns';

// Needs the shared local pair as the stack leaves it: never while a file changes it.
takeTurns('local-pair', 'shared');

const DRCTL = path.resolve(__dirname, '..', 'bin', 'drctl');
const drctl = (...args: string[]) =>
  spawnSync(DRCTL, args, { encoding: 'utf8', env: { ...process.env, DR_RUNBOOKS: '' } });
const drctlAsync = (...args: string[]) =>
  new Promise<{ status: number | null; stdout: string }>((resolve) => {
    const child = execFile(
      DRCTL,
      args,
      { encoding: 'utf8', env: { ...process.env, DR_RUNBOOKS: '' } },
      (_err, stdout) => resolve({ status: child.exitCode, stdout }),
    );
  });

describe('drctl', () => {
  it('validates the shipped runbooks with exit code 0', () => {
    const result = drctl('config', 'validate', 'config/runbooks/local.yaml', 'config/runbooks/compose.yaml');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/local\.yaml: valid \(pair "local"/);
    expect(result.stdout).toMatch(/compose\.yaml: valid \(pair "compose"/);
  });

  it('exits non-zero and names the bad field of a broken runbook', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drctl-'));
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(
      file,
      [
        'pair: broken',
        'sites: { primary: { name: gra }, standby: { name: rbx } }',
        'mysql:',
        '  user: dr',
        '  password: plain-text-password',
        '  replicationUser: repl',
        '  replicationPassword: env:REPL',
        '  servers:',
        '    - { name: db-1, site: gra, host: h1, port: 3306, role: primary }',
        '    - { name: db-2, site: rbx, host: h2, port: "3306", role: replica }',
      ].join('\n'),
    );
    const result = drctl('config', 'validate', file);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('mysql.password: must be a secret reference "env:NAME" or "file:PATH"');
    expect(result.stderr).toMatch(/mysql\.servers\[1\]\.port: /);
    expect(result.stderr).not.toContain('plain-text-password');
  });

  it('has --help on every command', async () => {
    const commands = [
      [],
      ['config'],
      ['config', 'validate'],
      ['stack'],
      ['stack', 'up'],
      ['stack', 'status'],
      ['stack', 'down'],
      ['doctor'],
      ['readiness'],
      ['approve'],
      ['reject'],
      ['retry'],
      ['abort'],
      ['discard'],
    ];
    // At once: each is a process start, slow on a loaded machine.
    const results = await Promise.all(commands.map((command) => drctlAsync(...command, '--help')));
    results.forEach((result, i) => {
      expect(result.status, commands[i]!.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/^Usage: drctl/);
    });
  }, 180_000);

  it('rejects a bad pair name before contacting anything', () => {
    const result = drctl('readiness', 'Not A Pair');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('a pair name is lower-case letters, digits and dashes');
  });

  it('doctor checks Temporal and every endpoint of the local runbook (MySQL, Elasticsearch, traffic, app hosts)', () => {
    const result = drctl('doctor');
    expect(result.stdout).toMatch(/\[ ok \] temporal .*: reachable/);
    expect(result.stdout).toMatch(/\[ ok \] search attributes: DrPair, DrPhase, DrTrigger, DrMode/);
    expect(result.stdout).toMatch(/\[ ok \] task queue dr-orchestrator: polled by \d+ workers? \(/);
    // gra serves: its app is judged; rbx stands by: its app's probe is information, never "[ ok ] … not healthy".
    expect(result.stdout).toMatch(/\[ ok \] local: app app-gra-1 health \S+: healthy \(200 OK\)/);
    expect(result.stdout).toMatch(
      /\[info\] local: app app-rbx-1 health \S+: (not )?healthy \(.*\); rbx stands by, so its app is not judged/,
    );
    expect(result.stdout).not.toMatch(/\[ ok \].*not healthy/);
    expect(result.stdout).toMatch(
      /\[ ok \] local: mysql db-gra-1 127\.0\.0\.1:13306: connected as dr_orchestrator/,
    );
    expect(result.stdout).toMatch(
      /\[ ok \] local: elasticsearch rbx http:\/\/127\.0\.0\.1:19201: reachable, cluster rbx is (green|yellow)/,
    );
    expect(result.stdout).toMatch(
      /\[ ok \] local: traffic via haproxy: HAProxy backend app sends traffic to /,
    );
    expect(result.stdout).toMatch(
      /\[ ok \] local: app app-rbx-1 ssh root@127\.0\.0\.1:12222: logged in with the runbook key; host key matches the pinned one/,
    );
    expect(result.status).toBe(0);
  });

  it('doctor fails when no worker polls the task queue drctl uses, and says how to fix it', () => {
    const result = drctl('--json', '--task-queue', 'drctl-doctor-no-worker', 'doctor');
    expect(result.status).toBe(1);
    const checks = JSON.parse(result.stdout) as { name: string; status: string; detail: string }[];
    expect(checks.find((c) => c.name === 'task queue drctl-doctor-no-worker')).toEqual({
      name: 'task queue drctl-doctor-no-worker',
      status: 'fail',
      detail: expect.stringMatching(
        /^no worker polls task queue drctl-doctor-no-worker for workflow or activity tasks: .*start a worker with DR_TASK_QUEUE=drctl-doctor-no-worker/,
      ) as string,
    });
    expect(checks.filter((c) => c.status === 'fail')).toHaveLength(1);
  });

  it('a dry run or status with no worker on the task queue says so, and starts nothing', () => {
    const queue = `drctl-idle-${process.pid}`;
    const pair = `nowhere-${process.pid}`;
    const dryRun = drctl('--task-queue', queue, 'switchover', pair, '--dry-run', '--reason', 'x');
    expect(dryRun.status).toBe(1);
    expect(dryRun.stderr).toMatch(
      new RegExp(
        `^drctl: no worker polls task queue ${queue} for workflow or activity tasks: .*Nothing was started\\.`,
      ),
    );
    const status = drctl('--json', '--task-queue', queue, 'status', pair);
    expect(status.status).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({
      pair,
      topology: {
        unreadable: expect.stringMatching(`^not read: no worker polls task queue ${queue}`) as string,
      },
      move: { state: 'none' },
    });
  });
});

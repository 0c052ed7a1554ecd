/**
 * drctl's commands without a pair to move: global options, completion, JSON output, every argument error (before
 * anything is contacted), an unreachable Temporal named, and the pieces that show runs (root causes, questions with
 * their answering commands, progress lines, UI links).
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, ActivityFailure, RetryState } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { answerCommands, formatMoveReport, progressLines, rootCause } from '../client/run-view';
import type { FailoverReport } from '../workflows/failover/report';
import { temporalUiUrl } from '../common/temporal-connection';
import type { PendingDecision, RunStatus, StepRecord } from '../workflows/definitions';

const ROOT = path.resolve(__dirname, '..');
const DRCTL = path.join(ROOT, 'bin', 'drctl');
/** Where nothing listens: a command that must not contact Temporal never names it. */
const NOWHERE = '127.0.0.1:1';

function drctl(args: string[], env: Record<string, string> = {}) {
  const { DRCTL_APPROVER: _a, DRCTL_SIGNING_KEY: _k, TEMPORAL_UI_URL: _u, ...inherited } = process.env;
  return spawnSync(DRCTL, args, {
    encoding: 'utf8',
    cwd: ROOT,
    env: { ...inherited, DR_RUNBOOKS: '', TEMPORAL_ADDRESS: NOWHERE, ...env },
  });
}

/** The same, run in the background: a batch of them runs at once. */
function drctlAsync(
  args: string[],
): Promise<{ status: number | null; stdout: string; stderr: string; args: string[] }> {
  const { DRCTL_APPROVER: _a, DRCTL_SIGNING_KEY: _k, TEMPORAL_UI_URL: _u, ...inherited } = process.env;
  return new Promise((resolve) => {
    const child = execFile(
      DRCTL,
      args,
      { encoding: 'utf8', cwd: ROOT, env: { ...inherited, DR_RUNBOOKS: '', TEMPORAL_ADDRESS: NOWHERE } },
      (_err, stdout, stderr) => resolve({ status: child.exitCode, stdout, stderr, args }),
    );
  });
}

const MOVES = ['failover', 'switchover', 'failback'];

describe('drctl global options', () => {
  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const result = drctl(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('has --help on every command, and the global options in each', async () => {
    const commands = [
      ...MOVES,
      'status',
      'runs',
      'show',
      'pairs',
      'completion',
      'doctor',
      'readiness',
      'config',
    ];
    for (const result of await Promise.all(commands.map((c) => drctlAsync([c, '--help'])))) {
      const command = result.args[0];
      expect(result.status, command).toBe(0);
      expect(result.stdout, command).toMatch(/^Usage: drctl/);
      for (const global of ['--json', '--task-queue', '--address', '--namespace', '--ui-address'])
        expect(result.stdout, `${command} ${global}`).toContain(global);
    }
  });

  it('--json: pairs and config validate print JSON that parses', () => {
    const env = { DR_RUNBOOKS: 'config/runbooks/local.yaml,config/runbooks/compose.yaml' };
    const pairs = drctl(['pairs', '--json'], env);
    expect(pairs.status, pairs.stderr).toBe(0);
    expect((JSON.parse(pairs.stdout) as { pair: string; primary: string }[]).map((p) => p.pair)).toEqual([
      'local',
      'compose',
    ]);
    const validated = drctl(['--json', 'config', 'validate', 'config/runbooks/local.yaml']);
    expect(validated.status, validated.stderr).toBe(0);
    expect(JSON.parse(validated.stdout)).toEqual([
      expect.objectContaining({ file: 'config/runbooks/local.yaml', valid: true, pair: 'local' }),
    ]);
  });

  it('pairs: a broken runbook is an error naming the file, not an empty list', () => {
    const result = drctl(['pairs'], { DR_RUNBOOKS: 'no/such/runbook.yaml' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no/such/runbook.yaml');
    expect(result.stdout).toBe('');
  });
});

describe('drctl completion', () => {
  it('prints a bash script that bash accepts and that completes commands and their options', () => {
    const result = drctl(['completion', 'bash']);
    expect(result.status).toBe(0);
    const complete = (line: string) => {
      const words = line.split(' ');
      const script = `${result.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _drctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const run = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      return run.stdout.trim().split('\n');
    };
    expect(complete('drctl sw')).toEqual(['switchover']);
    expect(complete('drctl switchover shop --dr')).toEqual(['--dry-run']);
    expect(complete('drctl --task-queue q failback shop --rep')).toEqual(['--reprotect-only']);
    expect(complete('drctl config v')).toEqual(['validate']);
    expect(complete('drctl completion')).toContain('completion');
  });

  it('prints a zsh script through bashcompinit, and refuses another shell', () => {
    expect(drctl(['completion', 'zsh']).stdout).toMatch(/^autoload -U \+X bashcompinit && bashcompinit\n/);
    expect(JSON.parse(drctl(['--json', 'completion', 'bash']).stdout)).toEqual({
      shell: 'bash',
      script: expect.stringContaining('complete -o default -F _drctl drctl') as string,
    });
    expect(JSON.parse(drctl(['--json', 'completion', 'bash']).stdout)).toEqual({
      shell: 'bash',
      script: expect.stringContaining('complete -o default -F _drctl drctl') as string,
    });
    const fish = drctl(['completion', 'fish']);
    expect(fish.status).not.toBe(0);
    expect(fish.stderr).toContain('the shell is bash or zsh');
  });
});

describe('drctl argument errors: a clear error, and nothing contacted', () => {
  it.each<[string, string[], RegExp]>([
    [
      'a move without --reason',
      ['failover', 'shop', '--yes'],
      /required option '--reason <text>' not specified/,
    ],
    ['an empty reason', ['switchover', 'shop', '--reason', ' ', '--yes'], /--reason: say why/],
    [
      'a reason over 1 KB',
      ['failback', 'shop', '--reason', 'x'.repeat(1025), '--yes'],
      /--reason: at most 1024 bytes \(got 1025\)/,
    ],
    ['a bad pair name', ['switchover', 'Shop Prod', '--reason', 'x'], /a pair name is lower-case letters/],
    [
      '--reprotect-only on a failover',
      ['failover', 'shop', '--reason', 'x', '--reprotect-only'],
      /unknown option '--reprotect-only'/,
    ],
    [
      '--hold-before-fence on an unplanned failover',
      ['failover', 'shop', '--reason', 'x', '--hold-before-fence'],
      /unknown option '--hold-before-fence'/,
    ],
    [
      '--hold-before-fence on a reprotect-only failback',
      ['failback', 'shop', '--reason', 'x', '--reprotect-only', '--hold-before-fence', '--yes'],
      /--hold-before-fence: a reprotect-only failback does not switch back, so it has no fence to hold before/,
    ],
    ['a bad pair to status', ['status', 'SHOP'], /a pair name is lower-case letters/],
    ['a bad --pair to runs', ['runs', '--pair', 'a b'], /a pair name is lower-case letters/],
    ['a --limit of 0', ['runs', '--limit', '0'], /must be a whole number of at least 1/],
    ['a bad --mode', ['runs', '--mode', "x' OR 1=1"], /--mode: a mode is lower-case letters and dashes/],
    ['show without a run', ['show'], /missing required argument 'run'/],
  ])('refuses %s', (_what, args, expected) => {
    const result = drctl(args);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(expected);
    expect(result.stderr).not.toContain(NOWHERE);
  });

  it.each(MOVES)(
    '%s without --yes and without a terminal refuses with a sentence, before contacting Temporal',
    (move) => {
      const result = drctl([move, 'shop', '--reason', 'maintenance']);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `^drctl: refusing to start the .* of pair shop without confirmation: there is no terminal to ask on; add --yes to confirm`,
        ),
      );
      expect(result.stderr).not.toContain(NOWHERE);
    },
  );
});

describe('the confirmation of a move, on a terminal (script(1) gives drctl one)', () => {
  const onTerminal = (typed: string, args: string) => {
    const { TEMPORAL_UI_URL: _u, ...inherited } = process.env;
    return spawnSync('script', ['-qec', `${DRCTL} ${args}`, '/dev/null'], {
      input: `${typed}\n`,
      encoding: 'utf8',
      cwd: ROOT,
      env: { ...inherited, DR_RUNBOOKS: '', TEMPORAL_ADDRESS: NOWHERE },
    });
  };

  it('anything but the pair name cancels, before Temporal is contacted', () => {
    const result = onTerminal('yes', 'switchover shop --reason maintenance');
    expect(result.stdout).toContain('Type the pair name (shop) to start it, anything else to cancel:');
    expect(result.stdout).toContain('drctl: cancelled: nothing was started');
    expect(result.stdout).not.toContain(NOWHERE);
    expect(result.status).toBe(1);
  });

  it('the pair name goes on to start it (here: Temporal is unreachable, and named)', () => {
    const result = onTerminal('shop', 'failover shop --reason "primary down"');
    expect(result.stdout).toMatch(/unplanned failover of pair shop: the standby site takes over/);
    expect(result.stdout).toMatch(/drctl: cannot reach Temporal at 127\.0\.0\.1:1: /);
    expect(result.status).toBe(1);
  }, 60_000);
});

describe('drctl with Temporal unreachable names the address', () => {
  it('for every command that reaches Temporal, and --address wins over TEMPORAL_ADDRESS', async () => {
    const results = await Promise.all(
      [
        ['failover', 'shop', '--reason', 'x', '--yes'],
        ['switchover', 'shop', '--reason', 'x', '--dry-run'],
        ['failback', 'shop', '--reason', 'x', '--yes', '--wait'],
        ['failback', 'shop', '--reason', 'x', '--dry-run'],
        ['status', 'shop'],
        ['runs'],
        ['show', 'dr-move-shop'],
        ['readiness', 'shop', '--json'],
        ['--address', '127.0.0.1:2', 'runs'],
      ].map((args) => drctlAsync(args)),
    );
    for (const result of results) {
      const port = result.args[0] === '--address' ? 2 : 1;
      expect(result.status, result.args.join(' ')).toBe(1);
      expect(result.stderr, result.args.join(' ')).toMatch(
        new RegExp(`^drctl: cannot reach Temporal at 127\\.0\\.0\\.1:${port}: `),
      );
      expect(result.stdout).toBe('');
    }
  }, 60_000);
});

describe('the Temporal UI address', () => {
  it('is --ui-address, else TEMPORAL_UI_URL, else beside a loopback dev server, else unknown', () => {
    const saved = process.env.TEMPORAL_UI_URL;
    try {
      delete process.env.TEMPORAL_UI_URL;
      expect(temporalUiUrl({ uiAddress: 'https://ui.example.net/', address: 'localhost:7233' })).toBe(
        'https://ui.example.net',
      );
      expect(temporalUiUrl({ address: '127.0.0.1:7233' })).toBe('http://127.0.0.1:8233');
      expect(temporalUiUrl({ address: 'temporal.prod.example.net:7233' })).toBeUndefined();
      process.env.TEMPORAL_UI_URL = 'https://temporal-ui.internal';
      expect(temporalUiUrl({ address: 'temporal.prod.example.net:7233' })).toBe(
        'https://temporal-ui.internal',
      );
    } finally {
      if (saved === undefined) delete process.env.TEMPORAL_UI_URL;
      else process.env.TEMPORAL_UI_URL = saved;
    }
  });
});

describe('how runs are shown', () => {
  it('a failed run: the innermost typed failure and its sentence, not the chain', () => {
    const cause = ApplicationFailure.nonRetryable(
      'no DR pair "shop" in the worker\'s runbooks',
      'UnknownPair',
    );
    const activity = new ActivityFailure(
      'Activity task failed',
      'pairSettings',
      '1',
      RetryState.NON_RETRYABLE_FAILURE,
      'worker',
      cause,
    );
    const failed = new WorkflowFailedError(
      'Workflow execution failed',
      activity,
      RetryState.NON_RETRYABLE_FAILURE,
    );
    expect(rootCause(failed)).toEqual({
      type: 'UnknownPair',
      message: 'no DR pair "shop" in the worker\'s runbooks',
    });
    expect(rootCause(new Error('plain'))).toEqual({ type: 'Error', message: 'plain' });
  });

  const approval: PendingDecision = {
    id: 'q1',
    kind: 'approval',
    question: 'approve the planned failover of shop?',
    answers: ['approve', 'reject'],
    since: '2026-12-07T16:00:00.000Z',
  };

  it('a question: the exact commands answering it, with the Temporal the operator gave', () => {
    expect(answerCommands('shop', approval)).toEqual([
      'drctl approve shop --question q1 --reason "…"',
      'drctl reject shop --question q1 --reason "…"',
    ]);
    const failback: PendingDecision = {
      ...approval,
      id: 'q2',
      kind: 'operator',
      answers: ['retry', 'abort', 'discard'],
    };
    expect(answerCommands('shop', failback, { address: 'tmp:7233', namespace: 'dr' })).toEqual([
      'drctl --address tmp:7233 --namespace dr retry shop --question q2 --reason "…"',
      'drctl --address tmp:7233 --namespace dr abort shop --question q2 --reason "…"',
      'drctl --address tmp:7233 --namespace dr discard shop --question q2 --reason "…"',
    ]);
  });

  it('progress: the phase entered, steps that changed, questions newly open, each once', () => {
    const step = (state: StepRecord['state']): StepRecord => ({
      id: 'mysql.fence',
      phase: 'fence',
      system: 'mysql',
      title: 'fence the primary',
      target: 'db-gra-1',
      state,
      attempts: 1,
      ...(state === 'done' ? { sentence: 'db-gra-1 is fenced.', durationMs: 1200 } : {}),
    });
    const status = (over: Partial<RunStatus>): RunStatus => ({
      phase: 'approve',
      sentence: 'asking approval.',
      pastPointOfNoReturn: false,
      steps: [step('pending')],
      questions: [approval],
      ...over,
    });
    const first = status({});
    expect(progressLines('shop', undefined, first)).toEqual([
      'plan: 1 steps; inside the fence window (writes refused): mysql.fence',
      'phase approve: asking approval.',
      'question q1 (approval): approve the planned failover of shop?',
      '  answer: drctl approve shop --question q1 --reason "…"',
      '  answer: drctl reject shop --question q1 --reason "…"',
    ]);
    expect(progressLines('shop', first, first)).toEqual([]);
    const fenced = status({ phase: 'fence', sentence: 'fencing.', steps: [step('done')], questions: [] });
    expect(progressLines('shop', first, fenced)).toEqual([
      'phase fence: fencing.',
      '  [done] fence mysql.fence db-gra-1 1.2 s: db-gra-1 is fenced.',
    ]);
    // Read once the run was already past the fence: the fence is announced before its step, then where it is now.
    const later = status({ phase: 'verify', sentence: 'verifying.', steps: [step('done')], questions: [] });
    expect(progressLines('shop', first, later)).toEqual([
      'phase fence',
      '  [done] fence mysql.fence db-gra-1 1.2 s: db-gra-1 is fenced.',
      'phase verify: verifying.',
    ]);
  });

  it('the plan, once it exists, says what runs before the fence window, inside it and after it; the report its length', () => {
    const planned = (id: string, phase: StepRecord['phase']): StepRecord => ({
      id,
      phase,
      system: 'mysql',
      title: id,
      target: 'x',
      state: 'pending',
      attempts: 0,
    });
    const steps = [
      planned('mysql.warm-up', 'warm-up'),
      planned('traffic.drain', 'fence'),
      planned('mysql.promote', 'promote'),
      planned('traffic.switch', 'switch'),
      planned('traffic.verify', 'verify'),
    ];
    const before: RunStatus = {
      phase: 'assess',
      sentence: 'assessing.',
      pastPointOfNoReturn: false,
      steps: [],
    };
    expect(progressLines('shop', before, { ...before, phase: 'plan', sentence: 'planned.', steps })[0]).toBe(
      'plan: 5 steps; before the fence (writes still taken): mysql.warm-up; inside the fence window (writes refused): traffic.drain, mysql.promote, traffic.switch; after the switch: traffic.verify',
    );
    const report = {
      mode: 'planned',
      pair: 'shop',
      outcome: 'completed',
      sentence: 'done.',
      from: 'gra',
      to: 'rbx',
      rto: { fromStartMs: 9000, fromApprovalMs: 4000 },
      fenceWindow: {
        startedAt: '2026-12-07T10:00:00.000Z',
        endedAt: '2026-12-07T10:00:00.450Z',
        ms: 450,
        steps: [
          { id: 'traffic.drain', durationMs: 100, attempts: 1 },
          { id: 'mysql.fence', durationMs: 5300, attempts: 2 },
        ],
      },
      dataLoss: [],
      steps: [],
      approvals: [],
      operatorDecisions: [],
      requestedBy: 'alice',
      trigger: 'cli',
      reason: 'r',
      workflowId: 'dr-move-shop',
      startedAt: 'a',
      finishedAt: 'b',
    } as unknown as FailoverReport;
    expect(formatMoveReport(report).split('\n')).toContain(
      '  fence window (writes refused) 0.5 s: traffic.drain 0.1 s, mysql.fence 5.3 s (2 tries)',
    );
  });
});

import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { textTooLong } from '../../common/text-limits';
import type { FailbackMode, FailoverMode, MoveInput } from '../../workflows/definitions';
import type { FailoverReport } from '../../workflows/failover/report';
import type { WatchedEnd } from '../move-watch';
import { formatMoveReport, formatPlan, SUCCESSFUL_OUTCOMES } from '../run-view';
import {
  askedBy,
  emit,
  globalsOf,
  pairName,
  print,
  uiLine,
  withTemporal,
  type TemporalSession,
} from './context';

/**
 * `drctl failover|switchover|failback <pair>`: start a move of a pair (or join the one running), after a
 * confirmation; `--dry-run` prints the plan and the data-loss estimate and changes nothing; `--wait` follows the run
 * phase by phase and prints the exact command answering each question it asks.
 */

interface MoveOptions {
  reason: string;
  as?: string;
  dryRun?: boolean;
  yes?: boolean;
  wait?: boolean;
  reprotectOnly?: boolean;
  holdBeforeFence?: boolean;
}

type MoveKind = 'failover' | 'failback';

interface MoveCommand {
  name: string;
  kind: MoveKind;
  description: string;
  mode: (options: MoveOptions) => FailoverMode | FailbackMode;
  /** What the move does, for the confirmation. */
  says: string;
}

const MOVES: MoveCommand[] = [
  {
    name: 'failover',
    kind: 'failover',
    description:
      'Unplanned failover: the standby site takes over a primary site that is down (the run checks that it is)',
    mode: () => 'unplanned',
    says: 'the standby site takes over; the old primary site is fenced where it answers, and writes it did not replicate may be lost',
  },
  {
    name: 'switchover',
    kind: 'failover',
    description:
      'Planned failover: the standby site takes over from a healthy primary site, once it has caught up (no data loss)',
    mode: () => 'planned',
    says: 'the primary site is fenced, the standby catches up and takes over',
  },
  {
    name: 'failback',
    kind: 'failback',
    description:
      "Failback to the runbook's primary site: reprotect (it replicates from the current primary), catch up, then switch back (unless --reprotect-only)",
    mode: (o) => (o.reprotectOnly ? 'reprotect-only' : 'full'),
    says: 'the old primary site is rebuilt as a replica of the current one; transactions only it holds are shown and asked about before anything discards them',
  },
];

export function register(program: Command): void {
  for (const move of MOVES) {
    const command = program
      .command(move.name)
      .description(move.description)
      .argument('<pair>', 'DR pair name (the runbook\'s "pair")', pairName)
      .requiredOption('--reason <text>', 'why, in a sentence (at most 1024 bytes); shown to the approvers')
      .option('--as <name>', 'who asks (default: DRCTL_APPROVER, else your login name)')
      .option(
        '--dry-run',
        move.kind === 'failover'
          ? 'assess and plan only: print the plan and the data-loss estimate, change nothing'
          : 'read where the pair stands and print the steps the failback would run from there, change nothing',
      )
      .option('-y, --yes', 'start without asking for confirmation (required without a terminal)')
      .option('--wait', 'follow the run phase by phase until it ends, printing the questions it asks');
    if (move.kind === 'failback')
      command.option('--reprotect-only', 'stop once the old primary site has caught up: no switch back');
    if (move.name !== 'failover')
      command.option(
        '--hold-before-fence',
        'once the standby is warm, wait for a go (drctl approve) before draining and fencing: the write outage starts then',
      );
    command.action((pair: string, options: MoveOptions, cmd: Command) => runMove(move, pair, options, cmd));
  }
}

async function runMove(move: MoveCommand, pair: string, options: MoveOptions, command: Command) {
  const reason = options.reason.trim();
  if (reason === '') throw new Error('--reason: say why, in a sentence');
  const tooLong = textTooLong('--reason', reason);
  if (tooLong) throw new Error(tooLong);
  const requestedBy = askedBy(options.as);
  const mode = move.mode(options);
  if (options.dryRun) {
    if (options.holdBeforeFence)
      throw new Error('--hold-before-fence: a dry run changes nothing, so there is no fence to hold before');
    const who = { pair, trigger: 'cli' as const, reason, requestedBy };
    const input: MoveInput =
      move.kind === 'failover'
        ? { ...who, mode: 'dry-run' }
        : { ...who, mode: mode as FailbackMode, dryRun: true };
    return dryRun(move.kind, input, mode, command);
  }
  const title = `${mode} ${move.kind} of pair ${pair}`;
  if (!options.yes) await confirm(title, move.says, pair);
  if (options.holdBeforeFence && mode === 'reprotect-only')
    throw new Error(
      '--hold-before-fence: a reprotect-only failback does not switch back, so it has no fence to hold before',
    );
  const input = {
    pair,
    mode,
    trigger: 'cli',
    reason,
    requestedBy,
    ...(options.holdBeforeFence ? { holdBeforeFence: true } : {}),
  } as MoveInput;
  await withTemporal(command, async (session) => {
    const idle = await session.idleTaskQueue();
    if (idle) console.error(`drctl: warning: ${idle}`);
    const runningBefore = await runningRunId(session, pair);
    const handle = await start(session, move.kind, input);
    const { runId } = await handle.describe();
    const started = {
      workflowId: handle.workflowId,
      runId,
      // A start while the same move runs joins that run (the pair's move ID): nothing new was started.
      joined: runId === runningBefore,
      taskQueue: session.taskQueue,
      link: session.uiLink(handle.workflowId, runId),
    };
    if (!options.wait) {
      emit(command, started, (s) =>
        [
          `${title}: ${s.joined ? 'joined the run already going, ' : ''}run ${s.runId} of workflow ${s.workflowId} (task queue ${s.taskQueue})`,
          uiLine(s.link),
          `follow it with: drctl status ${pair}`,
        ].join('\n'),
      );
      return;
    }
    const json = Boolean(globalsOf(command).json);
    if (!json)
      print(
        `${title}: ${started.joined ? 'joined the run already going, ' : ''}run ${runId} of workflow ${handle.workflowId}\n${uiLine(started.link)}`,
      );
    const end = await follow(handle, pair, command, json);
    reportEnd(command, started, end);
  });
}

/** The run ID of the pair's move running now, if one is. */
async function runningRunId(session: TemporalSession, pair: string): Promise<string | undefined> {
  const [{ WorkflowNotFoundError }, { pairMoveWorkflowId }] = await Promise.all([
    import('@temporalio/client'),
    import('../../workflows/definitions.js'),
  ]);
  try {
    const description = await session.client.workflow.getHandle(pairMoveWorkflowId(pair)).describe();
    return description.status.name === 'RUNNING' ? description.runId : undefined;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

async function start(session: TemporalSession, kind: MoveKind, input: MoveInput): Promise<WorkflowHandle> {
  const options = { taskQueue: session.taskQueue };
  if (kind === 'failover') {
    const { startFailover } = await import('../failover.js');
    return startFailover(session.client, input as Parameters<typeof startFailover>[1], options);
  }
  const { startFailback } = await import('../failback.js');
  return startFailback(session.client, input as Parameters<typeof startFailback>[1], options);
}

/** Asks on the terminal; refuses, with a sentence, where there is none to ask on. */
async function confirm(title: string, says: string, pair: string): Promise<void> {
  if (!process.stdin.isTTY)
    throw new Error(
      `refusing to start the ${title} without confirmation: there is no terminal to ask on; add --yes to confirm`,
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const typed = await rl.question(
      `${title}: ${says}.\nType the pair name (${pair}) to start it, anything else to cancel: `,
    );
    if (typed.trim() !== pair) throw new Error(`cancelled: nothing was started`);
  } finally {
    rl.close();
  }
}

async function follow(handle: WorkflowHandle, pair: string, command: Command, json: boolean) {
  const { watchMove } = await import('../move-watch.js');
  const { address, namespace } = globalsOf(command);
  // Ctrl-C stops watching, never the run.
  process.once('SIGINT', () => {
    console.error(`\ndrctl: stopped watching; the run goes on: drctl status ${pair}`);
    process.exit(130);
  });
  return watchMove(handle, {
    pair,
    target: { address, namespace },
    // Under --json, stdout carries only the final JSON; progress goes to stderr.
    say: json ? (line) => console.error(line) : print,
  });
}

/** Prints how a run ended: its report, or the root cause of its failure (exit code 1). */
function reportEnd(command: Command, started: object, end: WatchedEnd): void {
  if (end.ended === 'failed') {
    emit(
      command,
      { ...started, ...end },
      (e) => `the run ${e.status}: ${e.failure.type}: ${e.failure.message}`,
    );
    process.exitCode = 1;
    return;
  }
  emit(command, { ...started, report: end.report }, (e) => formatMoveReport(e.report));
  process.exitCode = SUCCESSFUL_OUTCOMES.includes(end.report.outcome) ? 0 : 1;
}

/** A read-only run that nothing would run is refused, rather than waited for forever. */
async function refuseIdle(session: TemporalSession): Promise<void> {
  const idle = await session.idleTaskQueue();
  if (idle) throw new Error(`${idle}. Nothing was started.`);
}

/**
 * A dry run: the workflow reads where the pair stands and plans its steps from the declared systems, then stops
 * having changed nothing; the plan is printed step by step. `mode` is the mode asked for (a failover's dry run plans
 * a planned move).
 */
async function dryRun(kind: MoveKind, input: MoveInput, mode: string, command: Command) {
  const { moveEnd } = await import('../move-watch.js');
  await withTemporal(command, async (session) => {
    await refuseIdle(session);
    const handle = await start(session, kind, input);
    const end = await moveEnd(handle);
    const started = { workflowId: handle.workflowId, link: session.uiLink(handle.workflowId) };
    if (end.ended === 'failed') return reportEnd(command, started, end);
    const report: FailoverReport = end.report;
    const what = kind === 'failover' ? 'a failover' : `a ${mode} failback`;
    emit(command, { ...started, report }, () =>
      [
        `dry run of ${what} of ${input.pair}: ${report.outcome === 'dry-run' ? 'nothing was changed' : report.outcome.toUpperCase()}`,
        `  ${report.sentence}`,
        ...(report.plan ? formatPlan(report.plan) : []),
        ...(mode === 'unplanned'
          ? [
              'This is the plan of a planned move: an unplanned failover first confirms that the primary site is down, and asks a human about what of it cannot be fenced.',
            ]
          : []),
        ...report.checks.filter((c) => !c.ok).map((c) => `  [FAIL] ${c.sentence}`),
        uiLine(started.link),
      ].join('\n'),
    );
    process.exitCode = report.outcome === 'dry-run' ? 0 : 1;
  });
}

import type { Command } from 'commander';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { FailoverReport } from '../../workflows/failover/report';
import type { ReadinessReport } from '../../workflows/readiness';
import { emit, pairName, positiveInteger, uiLine, withTemporal } from './context';

/** `drctl runs` (recent runs with their outcome and RTO, from Temporal visibility) and `drctl show <run>` (a report). */
export function register(program: Command): void {
  program
    .command('runs')
    .description('List recent runs (moves, readiness checks, drills) with their outcome and RTO')
    .option('--pair <pair>', 'only the runs of this pair', pairName)
    .option(
      '--mode <mode>',
      'only runs of this mode (unplanned, planned, dry-run, failback-full, readiness, …)',
    )
    .option('--limit <n>', 'at most this many runs, newest first', positiveInteger, 20)
    .action(async (options: { pair?: string; mode?: string; limit: number }, command: Command) => {
      if (options.mode !== undefined && !/^[a-z-]+$/.test(options.mode))
        throw new Error('--mode: a mode is lower-case letters and dashes, e.g. unplanned or failback-full');
      const runs = await withTemporal(command, ({ client }) => listRuns(client, options));
      emit(command, runs, (all) =>
        all.length === 0
          ? 'no runs found'
          : all
              .map(
                (r) =>
                  `${r.startedAt}  ${r.pair.padEnd(12)} ${r.mode.padEnd(16)} ${r.outcome.padEnd(14)} ${r.rtoSeconds === undefined ? '-' : `${r.rtoSeconds.toFixed(1)} s`}  ${r.workflowId} ${r.runId}${r.sentence ? `\n    ${r.sentence}` : ''}`,
              )
              .join('\n'),
      );
    });

  program
    .command('show')
    .description(
      'Print the report of a run (a workflow ID, with --run-id for an older run of it, or a run ID)',
    )
    .argument('<run>', 'the workflow ID (e.g. dr-move-shop, as `drctl runs` lists) or a run ID')
    .option('--run-id <id>', 'that run of the workflow (default: its latest)')
    .action(async (run: string, options: { runId?: string }, command: Command) => {
      const shown = await withTemporal(command, async ({ client, uiLink }) => {
        const ids = await findRun(client, run, options.runId);
        const read = await readRun(client, ids.workflowId, ids.runId);
        return { ...read, link: uiLink(read.workflowId, read.runId) };
      });
      const [{ formatMoveReport, formatStatus }, { formatReadinessReport }] = await Promise.all([
        import('../run-view.js'),
        import('../readiness.js'),
      ]);
      emit(command, shown, (s) => {
        const head = `${s.type} ${s.workflowId} run ${s.runId}: ${s.status}`;
        if (s.failure) return `${head}\n  ${s.failure.type}: ${s.failure.message}\n${uiLine(s.link)}`;
        if (s.progress)
          return [head, ...formatStatus(s.pair ?? '<pair>', s.progress), uiLine(s.link)].join('\n');
        const report = s.report as Record<string, unknown> | undefined;
        if (isMoveReport(report))
          return `${formatMoveReport(report as unknown as FailoverReport)}\n${uiLine(s.link)}`;
        if (report && 'ready' in report)
          return `${formatReadinessReport(report as unknown as ReadinessReport)}\n${uiLine(s.link)}`;
        return `${head}\n${JSON.stringify(report, null, 2)}\n${uiLine(s.link)}`;
      });
      process.exitCode = shown.failure ? 1 : 0;
    });
}

/** A failover's or failback's report (other runs, e.g. drills, have reports of their own, shown as JSON). */
function isMoveReport(report: unknown): report is FailoverReport {
  const r = report as Partial<FailoverReport> | undefined;
  return typeof r?.outcome === 'string' && Array.isArray(r.steps) && Array.isArray(r.dataLoss) && !!r.rto;
}

export interface RunSummary {
  workflowId: string;
  runId: string;
  type: string;
  pair: string;
  mode: string;
  trigger?: string;
  status: string;
  startedAt: string;
  closedAt?: string;
  /** The report's outcome (moves), ready/not-ready (readiness), the status otherwise; a failure's type. */
  outcome: string;
  rtoSeconds?: number;
  sentence?: string;
}

const quoted = (value: string) => `'${value.replace(/'/g, "\\'")}'`;

async function listRuns(
  client: Client,
  options: { pair?: string; mode?: string; limit: number },
): Promise<RunSummary[]> {
  const query = [
    options.pair ? `DrPair = ${quoted(options.pair)}` : 'DrPair IS NOT NULL',
    ...(options.mode ? [`DrMode = ${quoted(options.mode)}`] : []),
  ].join(' AND ');
  const found: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query, pageSize: options.limit })) {
    found.push(info);
    if (found.length >= options.limit) break;
  }
  return Promise.all(found.map((info) => summarize(client, info)));
}

async function summarize(client: Client, info: WorkflowExecutionInfo): Promise<RunSummary> {
  const { DrMode, DrPair, DrPhase, DrTrigger } = await import('../../workflows/definitions.js');
  const attributes = info.typedSearchAttributes;
  const status = info.status.name.toLowerCase();
  const base = {
    workflowId: info.workflowId,
    runId: info.runId,
    type: info.type,
    pair: attributes.get(DrPair) ?? '',
    mode: attributes.get(DrMode) ?? '',
    ...(attributes.get(DrTrigger) ? { trigger: attributes.get(DrTrigger) } : {}),
    status,
    startedAt: info.startTime.toISOString(),
    ...(info.closeTime ? { closedAt: info.closeTime.toISOString() } : {}),
  };
  if (status === 'running') return { ...base, outcome: `running (${attributes.get(DrPhase) ?? 'queued'})` };
  const read = await readRun(client, info.workflowId, info.runId);
  if (read.failure)
    return { ...base, outcome: status, sentence: `${read.failure.type}: ${read.failure.message}` };
  const report = read.report as Partial<FailoverReport & ReadinessReport> | undefined;
  if (report?.outcome)
    return {
      ...base,
      outcome: report.outcome,
      ...(typeof report.rto?.fromStartMs === 'number' ? { rtoSeconds: report.rto.fromStartMs / 1000 } : {}),
      sentence: report.sentence,
    };
  if (report?.ready !== undefined)
    return { ...base, outcome: report.ready ? 'ready' : 'not-ready', sentence: report.verdict };
  return { ...base, outcome: status };
}

/** The workflow and run `run` names: a workflow ID, or a run ID found through visibility. */
async function findRun(
  client: Client,
  run: string,
  runId?: string,
): Promise<{ workflowId: string; runId?: string }> {
  if (runId !== undefined || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(run))
    return { workflowId: run, ...(runId ? { runId } : {}) };
  for await (const info of client.workflow.list({ query: `RunId = ${quoted(run)}` }))
    return { workflowId: info.workflowId, runId: info.runId };
  throw new Error(`no run ${run} found (neither a workflow ID nor the ID of a run Temporal still keeps)`);
}

interface ReadRun {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  pair?: string;
  report?: unknown;
  progress?: import('../../workflows/definitions').RunStatus;
  failure?: { type: string; message: string };
}

/** A run's report (closed), its status query (running), or the root cause of its failure. */
async function readRun(client: Client, workflowId: string, runId?: string): Promise<ReadRun> {
  const [{ WorkflowNotFoundError }, { statusQuery, DrPair }, { moveEnd }] = await Promise.all([
    import('@temporalio/client'),
    import('../../workflows/definitions.js'),
    import('../move-watch.js'),
  ]);
  const handle = client.workflow.getHandle(workflowId, runId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new Error(
        `no run ${workflowId}${runId ? ` ${runId}` : ''}: Temporal has no such workflow (it keeps closed runs for the namespace's retention)`,
        { cause: err },
      );
    throw err;
  }
  const bound = client.workflow.getHandle(workflowId, description.runId);
  const base = {
    workflowId,
    runId: description.runId,
    type: description.type,
    status: description.status.name.toLowerCase(),
    ...(description.typedSearchAttributes.get(DrPair)
      ? { pair: description.typedSearchAttributes.get(DrPair) }
      : {}),
  };
  if (description.status.name === 'RUNNING') {
    const progress = await bound.query(statusQuery).catch(() => undefined);
    // Another workflow's `status` query (a drill's) may answer another shape: only a move's is shown as one.
    return { ...base, ...(Array.isArray(progress?.steps) ? { progress } : {}) };
  }
  const end = await moveEnd<unknown>(bound);
  return end.ended === 'failed' ? { ...base, failure: end.failure } : { ...base, report: end.report };
}

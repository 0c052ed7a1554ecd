import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { DrillMode, DrillReport } from '../common/drill-report';
import { DrMode, DrPair, DrTrigger, TASK_QUEUE, type Trigger } from '../workflows/definitions';
import type { drill } from '../workflows/drill';

/** Starts a drill of the pair (a workflow of its own: drills of one pair may overlap; their moves may not). */
export async function startDrill(
  client: Client,
  input: { pair: string; mode: DrillMode; trigger: Trigger; requestedBy: string },
  taskQueue: string = TASK_QUEUE,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof drill>> {
  const workflowId = `drill-${input.pair}-${input.mode}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  return client.workflow.start<typeof drill>('drill', {
    workflowId,
    taskQueue,
    args: [input],
    staticSummary: `${input.mode} drill of DR pair ${input.pair}`,
    staticDetails:
      input.mode === 'readiness'
        ? `Non-destructive: every readiness check, credentials and API reachability of each system, lags and expected RTO of **${input.pair}**.`
        : `A real planned failover then full failback of **${input.pair}**, while the drill writes through its entry point: measured RTO, write outage and lost writes.`,
    typedSearchAttributes: [
      { key: DrPair, value: input.pair },
      { key: DrTrigger, value: input.trigger },
      { key: DrMode, value: `drill-${input.mode}` },
    ],
  });
}

/** A past (or running) drill, as visibility and its memo show it. */
export interface DrillListing {
  workflowId: string;
  mode: string;
  trigger?: string;
  status: string;
  startedAt: string;
  closedAt?: string;
  outcome?: string;
  expectedRtoMs?: number;
  measuredRtoMs?: number;
  writeOutageMs?: number;
  lostWrites?: number;
  report?: string;
  sentence?: string;
}

interface DrillMemo {
  outcome?: string;
  sentence?: string;
  expectedRtoMs?: number;
  measuredRtoMs?: number;
  writeOutageMs?: number;
  lostWrites?: number;
  report?: string;
}

/** The pair's drills, newest first, from Temporal visibility (DrPair and the workflow type) and each drill's memo. */
export async function listDrills(client: Client, pair: string, limit = 20): Promise<DrillListing[]> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(pair)) throw new Error(`"${pair}" is not a pair name`);
  const listed: DrillListing[] = [];
  const query = `WorkflowType = 'drill' AND DrPair = '${pair}'`;
  for await (const w of client.workflow.list({ query, pageSize: limit })) {
    const memo = (w.memo?.drill ?? {}) as DrillMemo;
    listed.push({
      workflowId: w.workflowId,
      mode: String(w.typedSearchAttributes.get(DrMode) ?? '').replace(/^drill-/, ''),
      trigger: w.typedSearchAttributes.get(DrTrigger),
      status: w.status.name,
      startedAt: w.startTime.toISOString(),
      ...(w.closeTime ? { closedAt: w.closeTime.toISOString() } : {}),
      ...memo,
    });
    if (listed.length >= limit) break;
  }
  return listed;
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`);

export function formatDrillList(pair: string, drills: DrillListing[]): string {
  if (drills.length === 0) return `no drill of ${pair} found.`;
  const rows = drills.map((d) =>
    [
      d.startedAt,
      d.mode,
      d.status === 'COMPLETED' ? (d.outcome ?? '?') : d.status.toLowerCase(),
      `expected RTO ${seconds(d.expectedRtoMs)}`,
      `RTO ${seconds(d.measuredRtoMs)}`,
      `write outage ${seconds(d.writeOutageMs)}`,
      `lost ${d.lostWrites ?? '-'}`,
      d.workflowId,
    ].join('  '),
  );
  return [`drills of ${pair}, newest first:`, ...rows.map((r) => `  ${r}`)].join('\n');
}

export function formatDrillReport(report: DrillReport): string {
  const lines = [
    `${report.mode} drill of ${report.pair}: ${report.outcome.toUpperCase()}`,
    `  ${report.sentence}`,
    `  expected RTO ${seconds(report.expectedRto.boundMs)}: ${report.expectedRto.sentence}`,
  ];
  if (report.measuredRtoMs !== undefined) lines.push(`  measured RTO ${seconds(report.measuredRtoMs)}`);
  if (report.writes)
    lines.push(
      `  write outage ${seconds(report.writes.writeOutageMs)}, lost writes ${report.writes.lostWrites ?? 'not counted'} of ${report.writes.acknowledged} acknowledged`,
    );
  lines.push('', ...report.checks.map((c) => `  [${c.ok ? ' ok ' : 'FAIL'}] ${c.sentence}`));
  for (const m of report.moves ?? [])
    lines.push(`  ${m.kind} ${m.outcome} in ${seconds(m.rtoMs)}: ${m.sentence}`);
  if (report.files) lines.push('', `  report: ${report.files.markdown}`, `  timeline: ${report.files.svg}`);
  lines.push('', `  workflow ${report.workflowId}, ${report.startedAt} → ${report.finishedAt}`);
  return lines.join('\n');
}

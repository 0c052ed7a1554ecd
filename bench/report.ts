/** The bench's outputs: one JSON document, a short table, and an SVG chart of each contender's phases. */
import os from 'node:os';
import type { DrillStep } from '../common/drill-report';
import { renderTimelineSvg, type TimelineBar, type TimelineWindow } from '../common/drill-timeline';
import type { ContenderTimeline } from './scenario';
import { ratioOfMedians, type Ratio, type Spread } from './stats';

/** Each ratio the issue asks for: its numerator and denominator figures (medians). */
export const RATIOS: Record<string, [string, string]> = {
  ratio_overhead: ['failover_ms', 'direct_critical_path_ms'],
  ratio_vs_script: ['failover_ms', 'script_ms'],
  ratio_outage_vs_script: ['outage_ms', 'script_outage_ms'],
  ratio_outage_worker_kill: ['outage_worker_kill_ms', 'worker_kill_baseline_outage_ms'],
  ratio_vs_script_200: ['failover_ms_200', 'script_ms_200'],
  ratio_outage_vs_script_200: ['outage_ms_200', 'script_outage_ms_200'],
  ratio_vs_mha_planned: ['mysql_switchover_ms', 'mha_switchover_ms'],
  ratio_vs_mha_gap: ['mysql_switchover_gap_ms', 'mha_switchover_gap_ms'],
  ratio_vs_mha_kill: ['mysql_kill_to_write_ms', 'mha_kill_to_write_ms'],
};

/** Figures the issue names that no scenario of this bench measures yet (`not_measured` says why). */
export const EXPECTED_FIGURES = [
  'rto_ms',
  'rto_detect_ms',
  'rto_alert_for_ms',
  'rto_alertmanager_ms',
  'rto_receiver_ms',
  'rto_workflow_ms',
  'outage_worker_kill_ms',
  'planned_lost_writes',
  'outage_ms',
  'failover_ms_50',
  'failover_ms_200',
  'failover_ms_replicas_1',
  'failover_ms_replicas_3',
  'worker_peak_rss_mb_200',
];

export interface BenchReport {
  at: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; os: string };
  runs: number;
  smoke: boolean;
  figures: Record<string, Spread>;
  ratios: Record<string, Ratio>;
  not_measured: Record<string, string>;
  failures: string[];
  notes: string[];
}

export function machineFacts(): BenchReport['machine'] {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
  };
}

export function ratios(figures: Record<string, Spread>): Record<string, Ratio> {
  return Object.fromEntries(
    Object.entries(RATIOS).map(([name, [top, bottom]]) => [name, ratioOfMedians(figures, top, bottom)]),
  );
}

/** The figures and ratios as a plain-text table. */
export function table(report: BenchReport): string {
  const rows = [['figure', 'min', 'median', 'max', 'runs']];
  for (const [name, s] of Object.entries(report.figures))
    rows.push([name, String(s.min), String(s.median), String(s.max), String(s.runs)]);
  for (const [name, r] of Object.entries(report.ratios))
    rows.push([name, '', 'value' in r ? String(r.value) : `- (${r.missing})`, '', '']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const EPOCH = Date.parse('2000-01-01T00:00:00Z');

/** `iso` moved so that `origin` becomes the chart's 0 (each contender starts at 0 on the shared axis). */
const rebased = (iso: string, origin: number) => new Date(EPOCH + Date.parse(iso) - origin).toISOString();

/** One chart: each contender's phases as bars from its own start, its fence window shaded behind them. */
export function chartSvg(title: string, timelines: ContenderTimeline[]): string {
  const bars: TimelineBar[] = [];
  const windows: TimelineWindow[] = [];
  for (const t of timelines) {
    const ran = t.steps.filter((s): s is DrillStep & { startedAt: string } => s.startedAt !== undefined);
    if (ran.length === 0) continue;
    const origin = Math.min(...ran.map((s) => Date.parse(s.startedAt)));
    for (const s of ran)
      bars.push({
        label: `${t.contender} ${s.phase}: ${s.title}`,
        start: rebased(s.startedAt, origin),
        end: rebased(s.endedAt ?? s.startedAt, origin),
        state: s.state,
      });
    if (t.fenceWindow)
      windows.push({
        label: `${t.contender} fence window`,
        from: rebased(t.fenceWindow.from, origin),
        to: rebased(t.fenceWindow.to, origin),
      });
  }
  return renderTimelineSvg({ title, bars, windows, marks: [] });
}

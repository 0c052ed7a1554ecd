import type { Timeline, TimelineBar, TimelineMark, TimelineWindow } from './drill-timeline';

export type DrillMode = 'readiness' | 'game-day';

/** passed: every check passed (readiness) / both moves completed and no acknowledged write was lost (game-day). */
export type DrillOutcome = 'passed' | 'failed' | 'refused';

export interface DrillCheck {
  name: string;
  ok: boolean;
  sentence: string;
}

/** A step of a move the drill ran (or the drill's own), as the timeline draws it. */
export interface DrillStep {
  /** Which move of the drill: failover, failback, or the drill itself. */
  move: 'failover' | 'failback' | 'drill';
  id: string;
  title: string;
  phase: string;
  state: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
}

/** A move the drill ran as its child workflow, with its own outcome and figures. */
export interface DrillMove {
  kind: 'failover' | 'failback';
  workflowId: string;
  outcome: string;
  sentence: string;
  startedAt?: string;
  finishedAt?: string;
  /** The move's measured RTO (from its start). */
  rtoMs?: number;
  /** From the first fence step's start to the end of the last traffic-switch step. */
  fenceWindow?: { from: string; to: string };
  /** The start of the promotion (after which the move only rolls forward). */
  pointOfNoReturn?: string;
  /** How each of its approvals was given: "approver by alice", "auto by policy". */
  approvals?: string[];
}

/** What the drill's own writer measured through the pair's entry point during the failover. */
export interface DrillWrites {
  attempted: number;
  acknowledged: number;
  failed: number;
  unknown: number;
  /** The longest stretch without an acknowledged write. */
  writeOutageMs: number;
  /** Acknowledged writes missing on the new primary; absent when they could not be counted. */
  lostWrites?: number;
  /** The numbers of the first 100 lost writes. */
  lostWriteIds: number[];
  /** The server the acknowledged writes were looked for on. */
  checkedOn?: string;
  sentence: string;
}

export interface DrillReport {
  pair: string;
  workflowId: string;
  mode: DrillMode;
  trigger: string;
  requestedBy: string;
  startedAt: string;
  finishedAt: string;
  outcome: DrillOutcome;
  sentence: string;
  checks: DrillCheck[];
  /** MySQL replica lag (seconds) and Elasticsearch follower lag (operations), as measured. */
  lags: {
    mysql: { server: string; seconds?: number }[];
    elasticsearch: { index: string; operations?: number }[];
  };
  expectedRto: {
    boundMs: number;
    sentence: string;
    parts: { phase: string; ms: number; sentence: string }[];
  };
  /** Game-day: the measured RTO (the failover's, from its start), the moves and the writer's figures. */
  measuredRtoMs?: number;
  moves?: DrillMove[];
  writes?: DrillWrites;
  steps: DrillStep[];
  decisions: { phase: string; sentence: string }[];
  /** Where the report's files were written (absent when the runbook has no drills.reports folder). */
  files?: { json: string; markdown: string; svg: string };
}

/** The drill's timeline picture: one bar per step that ran, the fence windows and the points of no return. */
export function drillTimeline(report: DrillReport): Timeline {
  return movesTimeline(
    `${report.mode} drill of ${report.pair}: ${report.outcome} (${report.startedAt})`,
    report.steps,
    report.moves ?? [],
  );
}

/** A timeline of steps and the moves they belong to: a bar per step that ran, each move's fence window and mark. */
export function movesTimeline(title: string, steps: DrillStep[], moves: DrillMove[]): Timeline {
  const bars: TimelineBar[] = steps
    .filter((s) => s.startedAt)
    .map((s) => ({
      label: `${s.move === 'drill' ? '' : `${s.move} `}${s.phase}: ${s.title}`,
      start: s.startedAt!,
      end: s.endedAt ?? s.startedAt!,
      state: s.state,
    }));
  const windows: TimelineWindow[] = [];
  const marks: TimelineMark[] = [];
  for (const move of moves) {
    if (move.fenceWindow) windows.push({ label: `${move.kind} fence window`, ...move.fenceWindow });
    if (move.pointOfNoReturn)
      marks.push({ label: `${move.kind} point of no return`, at: move.pointOfNoReturn });
  }
  return { title, bars, windows, marks };
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** The report as Markdown, for people: verdict, figures, checks, moves, steps. `svgFile` is linked when given. */
export function drillMarkdown(report: DrillReport, svgFile?: string): string {
  const lines = [
    `# ${report.mode} drill of ${report.pair}: ${report.outcome.toUpperCase()}`,
    '',
    report.sentence,
    '',
    `- workflow: \`${report.workflowId}\` (${report.trigger}, asked by ${report.requestedBy})`,
    `- from ${report.startedAt} to ${report.finishedAt}`,
    `- expected RTO: ${seconds(report.expectedRto.boundMs)} (${report.expectedRto.sentence})`,
  ];
  if (report.measuredRtoMs !== undefined) lines.push(`- measured RTO: ${seconds(report.measuredRtoMs)}`);
  if (report.writes)
    lines.push(
      `- write outage: ${seconds(report.writes.writeOutageMs)}`,
      `- lost writes: ${report.writes.lostWrites ?? 'not counted'} of ${report.writes.acknowledged} acknowledged (${report.writes.sentence})`,
    );
  if (svgFile) lines.push('', `![timeline](${svgFile})`);
  lines.push('', '## Checks', '', '| | check | |', '|---|---|---|');
  for (const c of report.checks) lines.push(`| ${c.ok ? 'ok' : 'FAIL'} | ${c.name} | ${cell(c.sentence)} |`);
  if (report.lags.mysql.length + report.lags.elasticsearch.length > 0) {
    lines.push('', '## Lags', '');
    for (const l of report.lags.mysql) lines.push(`- MySQL ${l.server}: ${l.seconds ?? 'unknown'} s`);
    for (const l of report.lags.elasticsearch)
      lines.push(`- Elasticsearch ${l.index}: ${l.operations ?? 'unknown'} operations`);
  }
  if (report.moves?.length) {
    lines.push('', '## Moves', '');
    for (const m of report.moves)
      lines.push(`- ${m.kind} \`${m.workflowId}\`: ${m.outcome}, RTO ${seconds(m.rtoMs)}: ${m.sentence}`);
  }
  if (report.steps.length > 0) {
    lines.push('', '## Steps', '', '| move | phase | step | state | duration |', '|---|---|---|---|---|');
    for (const s of report.steps)
      lines.push(`| ${s.move} | ${s.phase} | ${cell(s.title)} | ${s.state} | ${seconds(s.durationMs)} |`);
  }
  lines.push('', '## Decisions', '');
  for (const d of report.decisions) lines.push(`- **${d.phase}**: ${d.sentence}`);
  return lines.join('\n') + '\n';
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

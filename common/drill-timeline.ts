/** One bar of a timeline: a step, from its start to its end (ISO 8601 times). */
export interface TimelineBar {
  label: string;
  start: string;
  end: string;
  /** done, failed, skipped, compensated…: the bar's colour. */
  state: string;
}

/** A window drawn behind the bars (the fence window: from the first fence to traffic on the new site). */
export interface TimelineWindow {
  label: string;
  from: string;
  to: string;
}

/** A moment drawn across the bars (the point of no return). */
export interface TimelineMark {
  label: string;
  at: string;
}

export interface Timeline {
  title: string;
  bars: TimelineBar[];
  windows: TimelineWindow[];
  marks: TimelineMark[];
}

const STATE_COLOURS: Record<string, string> = {
  done: '#2e7d32',
  failed: '#c62828',
  compensated: '#ef6c00',
  compensating: '#ef6c00',
  skipped: '#9e9e9e',
  running: '#1565c0',
  pending: '#bdbdbd',
};

const LABEL_WIDTH = 320;
const CHART_WIDTH = 640;
const BAR_HEIGHT = 16;
const ROW = 22;
const TOP = 48;
const BOTTOM = 36;

/** Text as XML character data or an attribute value. */
export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * The timeline as a standalone SVG picture: one bar per step on a shared time axis (seconds from the first start),
 * the windows shaded behind them and each mark a labelled vertical line. Pure: the same timeline gives the same text.
 */
export function renderTimelineSvg(timeline: Timeline): string {
  const times = [
    ...timeline.bars.flatMap((b) => [b.start, b.end]),
    ...timeline.windows.flatMap((w) => [w.from, w.to]),
    ...timeline.marks.map((m) => m.at),
  ].map((t) => Date.parse(t));
  const t0 = times.length > 0 ? Math.min(...times) : 0;
  const spanMs = Math.max(1, (times.length > 0 ? Math.max(...times) : 0) - t0);
  const x = (iso: string) => LABEL_WIDTH + ((Date.parse(iso) - t0) / spanMs) * CHART_WIDTH;
  const height = TOP + timeline.bars.length * ROW + BOTTOM;
  const width = LABEL_WIDTH + CHART_WIDTH + 20;
  const chartBottom = TOP + timeline.bars.length * ROW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${xmlEscape(timeline.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${xmlEscape(timeline.title)}</text>`,
  ];
  for (const w of timeline.windows) {
    const from = x(w.from);
    parts.push(
      `<g class="window"><rect x="${num(from)}" y="${TOP - 12}" width="${num(Math.max(1, x(w.to) - from))}" height="${chartBottom - TOP + 12}" fill="#fff3e0" stroke="#ef6c00" stroke-dasharray="4 2"/>`,
      `<text x="${num(from + 3)}" y="${TOP - 2}" fill="#ef6c00">${xmlEscape(w.label)}</text></g>`,
    );
  }
  timeline.bars.forEach((bar, i) => {
    const y = TOP + i * ROW;
    const start = x(bar.start);
    const seconds = (Date.parse(bar.end) - Date.parse(bar.start)) / 1000;
    parts.push(
      `<g class="step"><text x="10" y="${y + 12}">${xmlEscape(truncate(bar.label, 48))}</text>`,
      `<rect class="bar" x="${num(start)}" y="${y}" width="${num(Math.max(2, x(bar.end) - start))}" height="${BAR_HEIGHT}" fill="${STATE_COLOURS[bar.state] ?? '#616161'}"><title>${xmlEscape(`${bar.label}: ${bar.state}, ${seconds.toFixed(1)} s`)}</title></rect></g>`,
    );
  });
  for (const m of timeline.marks) {
    const at = x(m.at);
    parts.push(
      `<g class="mark"><line x1="${num(at)}" y1="${TOP - 16}" x2="${num(at)}" y2="${chartBottom}" stroke="#c62828" stroke-width="2"/>`,
      `<text x="${num(at + 3)}" y="${TOP - 20}" fill="#c62828">${xmlEscape(m.label)}</text></g>`,
    );
  }
  parts.push(
    `<line x1="${LABEL_WIDTH}" y1="${chartBottom + 4}" x2="${LABEL_WIDTH + CHART_WIDTH}" y2="${chartBottom + 4}" stroke="#424242"/>`,
    `<text x="${LABEL_WIDTH}" y="${chartBottom + 20}">0 s</text>`,
    `<text x="${LABEL_WIDTH + CHART_WIDTH}" y="${chartBottom + 20}" text-anchor="end">${(spanMs / 1000).toFixed(1)} s</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}

const num = (n: number) => (Math.round(n * 10) / 10).toString();
const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

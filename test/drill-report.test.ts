import { describe, expect, it } from 'vitest';
import { toRanges } from '../activities/drills/writer';
import { drillMarkdown, drillTimeline, type DrillReport } from '../common/drill-report';
import { renderTimelineSvg } from '../common/drill-timeline';
import { runbookSchema } from '../config/schema';
import { expectedRto } from '../workflows/checks/expected-rto';
import { fakeSettings } from './helpers/fake-pair';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';

/**
 * A strict XML well-formedness check (enough for the SVG we write: elements, attributes, text, no DTD): every tag
 * closes in order, attribute values are quoted, and `&` only starts a predefined entity. Returns the element names.
 */
function parseXml(text: string): string[] {
  const names: string[] = [];
  const open: string[] = [];
  const token = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let at = 0;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    at = token.lastIndex;
    const [, closing, name, attributes, selfClosing, chars] = m;
    const data = chars ?? attributes ?? '';
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(data)) throw new Error(`bare & in ${data.slice(0, 40)}`);
    if (chars !== undefined) {
      if (open.length === 0 && chars.trim() !== '') throw new Error('text outside the root element');
      continue;
    }
    if (closing) {
      if (open.pop() !== name) throw new Error(`</${name}> closes nothing open`);
    } else {
      names.push(name!);
      if (!selfClosing) open.push(name!);
    }
  }
  if (at !== text.length) throw new Error(`not XML at offset ${at}: ${text.slice(at, at + 40)}`);
  if (open.length > 0) throw new Error(`unclosed <${open.join('>, <')}>`);
  return names;
}

const t = (s: number) => new Date(Date.UTC(2026, 11, 7, 12, 0, s)).toISOString();

const report = (): DrillReport => ({
  pair: 'p&q',
  workflowId: 'drill-p-game-day-1',
  mode: 'game-day',
  trigger: 'test',
  requestedBy: 'tester <t@example.org>',
  startedAt: t(0),
  finishedAt: t(40),
  outcome: 'passed',
  sentence: 'game-day drill passed.',
  checks: [{ name: 'mysql.db-rbx-1', ok: true, sentence: 'replica | ok' }],
  lags: { mysql: [{ server: 'db-rbx-1', seconds: 0 }], elasticsearch: [{ index: 'orders', operations: 3 }] },
  expectedRto: { boundMs: 60_000, sentence: 'within 60 s.', parts: [] },
  measuredRtoMs: 12_000,
  moves: [
    {
      kind: 'failover',
      workflowId: 'dr-move-p',
      outcome: 'completed',
      sentence: 'done',
      rtoMs: 12_000,
      fenceWindow: { from: t(2), to: t(9) },
      pointOfNoReturn: t(5),
    },
  ],
  writes: {
    attempted: 10,
    acknowledged: 8,
    failed: 2,
    unknown: 0,
    writeOutageMs: 3000,
    lostWrites: 0,
    lostWriteIds: [],
    sentence: 'none lost',
  },
  steps: [
    {
      move: 'drill',
      id: 'readiness',
      title: 'readiness checks',
      phase: 'assess',
      state: 'done',
      startedAt: t(0),
      endedAt: t(1),
    },
    {
      move: 'failover',
      id: 'mysql.fence',
      title: 'fence <db-gra-1>',
      phase: 'fence',
      state: 'done',
      startedAt: t(2),
      endedAt: t(3),
    },
    {
      move: 'failover',
      id: 'mysql.promote',
      title: 'promote db-rbx-1',
      phase: 'promote',
      state: 'done',
      startedAt: t(5),
      endedAt: t(6),
    },
    {
      move: 'failover',
      id: 'traffic.switch',
      title: 'switch & verify',
      phase: 'switch',
      state: 'failed',
      startedAt: t(7),
      endedAt: t(9),
    },
    { move: 'failback', id: 'never', title: 'not run', phase: 'switch', state: 'pending' },
  ],
  decisions: [{ phase: 'report', sentence: 'passed.' }],
});

describe('drill timeline SVG', () => {
  it('is well-formed XML with one bar per step that ran, the fence window and the point of no return', () => {
    const svg = renderTimelineSvg(drillTimeline(report()));
    const elements = parseXml(svg);
    expect(elements[0]).toBe('svg');
    expect(svg.match(/<rect class="bar"/g)).toHaveLength(4);
    expect(svg.match(/<g class="window">/g)).toHaveLength(1);
    expect(svg).toContain('failover fence window');
    expect(svg.match(/<g class="mark">/g)).toHaveLength(1);
    expect(svg).toContain('failover point of no return');
    expect(svg).toContain('fence &lt;db-gra-1&gt;');
  });

  it('draws the point of no return inside the fence window, on the time axis of the bars', () => {
    const svg = renderTimelineSvg(drillTimeline(report()));
    const windowX = Number(/<g class="window"><rect x="([\d.]+)"/.exec(svg)![1]);
    const windowWidth = Number(
      /<g class="window"><rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"/.exec(svg)![1],
    );
    const markX = Number(/<g class="mark"><line x1="([\d.]+)"/.exec(svg)![1]);
    expect(markX).toBeGreaterThan(windowX);
    expect(markX).toBeLessThan(windowX + windowWidth);
  });

  it('renders an empty timeline as well-formed XML', () => {
    expect(parseXml(renderTimelineSvg({ title: 'none', bars: [], windows: [], marks: [] }))[0]).toBe('svg');
  });
});

describe('drill report Markdown', () => {
  it('gives the figures, every check and every step, with table cells escaped', () => {
    const md = drillMarkdown(report(), 'x.svg');
    expect(md).toMatch(/^# game-day drill of p&q: PASSED/);
    expect(md).toContain('- measured RTO: 12.0 s');
    expect(md).toContain('- write outage: 3.0 s');
    expect(md).toContain('- lost writes: 0 of 8 acknowledged');
    expect(md).toContain('![timeline](x.svg)');
    expect(md).toContain('| ok | mysql.db-rbx-1 | replica \\| ok |');
    expect(md.match(/^\| (drill|failover|failback) \|/gm)).toHaveLength(5);
  });
});

describe('expected RTO', () => {
  it('adds detection, the policy approval, fence, catch-up from the measured lag, promotion, apps, traffic and verification', () => {
    const settings = fakeSettings({
      approval: {
        policy: 'auto-after',
        approvers: ['a'],
        timeoutMs: 60_000,
        onTimeout: 'reject',
        delayMs: 30_000,
      },
    });
    const rto = expectedRto(settings, 'unplanned', 2);
    expect(rto.parts.map((p) => [p.phase, p.ms])).toEqual([
      ['detect', 2000 * 3 + 1000],
      ['approve', 30_000],
      ['fence', 60_000],
      ['catch-up', 2000],
      ['promote', 60_000],
      ['apps', 30_000],
      ['traffic', 600_000],
      ['verify', 2000 * 2],
    ]);
    expect(rto.boundMs).toBe(7000 + 30_000 + 60_000 + 2000 + 60_000 + 30_000 + 600_000 + 4000);
    expect(rto.excluded).toBeUndefined();
  });

  it('leaves out detection when planned, caps catch-up at its timeout, and says a human approval is not counted', () => {
    const settings = fakeSettings({
      approval: { policy: 'required', approvers: ['a'], timeoutMs: 1_800_000, onTimeout: 'reject' },
      traffic: undefined,
      apps: [],
    });
    const rto = expectedRto(settings, 'planned', 10_000);
    expect(rto.parts.map((p) => p.phase)).toEqual(['fence', 'catch-up', 'promote', 'verify']);
    expect(rto.parts.find((p) => p.phase === 'catch-up')!.ms).toBe(300_000);
    expect(rto.sentence).toMatch(
      /^a planned failover of fake should end within 424 s .*an approver's answer \(up to 1800 s\) is not counted\.$/,
    );
  });
});

describe('runbook drills section', () => {
  const base = () => parse(readFileSync('config/runbooks/local.yaml', 'utf8')) as Record<string, unknown>;
  const issues = (drills: unknown) => {
    const result = runbookSchema.safeParse({ ...base(), drills });
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('accepts cron and interval schedules, and defaults the game-day approval to required', () => {
    const result = runbookSchema.parse({
      ...base(),
      drills: {
        reports: 'reports',
        schedules: [
          { mode: 'readiness', every: '24h' },
          { name: 'monthly', mode: 'game-day', cron: '0 6 1 * *' },
        ],
      },
    });
    expect(result.drills?.gameDay.approval).toBe('required');
    expect(result.drills?.schedules.map((s) => s.paused)).toEqual([false, false]);
  });

  it('names the bad field of each wrong schedule', () => {
    expect(
      issues({
        reports: 'r',
        schedules: [
          { mode: 'readiness' },
          { mode: 'chaos', every: '1h' },
          { mode: 'readiness', cron: '0 6 * *' },
          { mode: 'readiness', every: '0h', name: 'x' },
          { mode: 'game-day', every: '1h', cron: '@daily' },
        ],
        gameDay: { approval: 'yes', writer: { url: 'https://user:pw@host/orders' } },
      }),
    ).toEqual([
      'drills.schedules.0.cron: give either cron (a cron line, UTC) or every (an interval such as "24h"), exactly one',
      'drills.schedules.1.mode: must be "readiness" or "game-day"',
      'drills.schedules.2.cron: must be a cron line such as "0 6 * * 1": it has 4 fields, not 5',
      'drills.schedules.3.every: must be longer than 0',
      'drills.schedules.4.cron: give either cron (a cron line, UTC) or every (an interval such as "24h"), exactly one',
      'drills.gameDay.approval: Invalid option: expected one of "required"|"auto"',
      'drills.gameDay.writer.url: must be an http:// URL (the write endpoint through the entry point)',
    ]);
  });
});

describe('runbook drills section, names', () => {
  it('refuses two schedules of one name (one without a name is named after its mode)', () => {
    const result = runbookSchema.safeParse({
      ...(parse(readFileSync('config/runbooks/local.yaml', 'utf8')) as Record<string, unknown>),
      drills: {
        reports: 'r',
        schedules: [
          { mode: 'game-day', every: '1h' },
          { mode: 'game-day', every: '2h' },
        ],
      },
    });
    expect(result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(
      [
        'drills.schedules.1.name: names schedule "game-day" twice (a schedule without a name is named after its mode)',
      ],
    );
  });
});

describe('drill writer ranges', () => {
  it('packs acknowledged write numbers into ranges, sorted and without duplicates', () => {
    expect(toRanges([5, 1, 2, 3, 3, 9, 10])).toEqual([
      [1, 3],
      [5, 5],
      [9, 10],
    ]);
    expect(toRanges([])).toEqual([]);
  });
});

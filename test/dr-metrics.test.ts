/**
 * The DR metrics a move and a drill leave (workflows/metrics.ts, worker/metrics.ts), on a meter that records what it
 * is given: the figures, their labels, and the write outage measured from the report's steps.
 */
import type { MetricMeter, MetricTags } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { drMetrics } from '../worker/metrics';
import type { StepRecord } from '../workflows/definitions';
import type { FailoverReport } from '../workflows/failover/report';
import { moveFacts } from '../workflows/metrics';

/** A meter that keeps the last value of each series (`name{label=value,…}`) and the sum of each counter's. */
function recordingMeter(): { meter: MetricMeter; values: Map<string, number> } {
  const values = new Map<string, number>();
  const key = (name: string, tags: MetricTags = {}) =>
    `${name}{${Object.entries(tags)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(',')}}`;
  const metric = (name: string) => ({
    name,
    valueType: 'float' as const,
    set: (value: number, tags?: MetricTags) => values.set(key(name, tags), value),
    add: (value: number, tags?: MetricTags) =>
      values.set(key(name, tags), (values.get(key(name, tags)) ?? 0) + value),
    record: () => undefined,
    withTags: () => {
      throw new Error('not used');
    },
  });
  const meter = {
    createGauge: (name: string) => ({ ...metric(name), kind: 'gauge' }),
    createCounter: (name: string) => ({ ...metric(name), kind: 'counter', valueType: 'int' }),
    createHistogram: (name: string) => ({ ...metric(name), kind: 'histogram' }),
    withTags: () => meter,
  } as unknown as MetricMeter;
  return { meter, values };
}

const step = (id: string, phase: StepRecord['phase'], startedAt: string, endedAt: string): StepRecord => ({
  id,
  phase,
  system: 'mysql',
  title: id,
  target: 't',
  state: 'done',
  attempts: 1,
  startedAt: `2026-12-07T10:00:${startedAt}.000Z`,
  endedAt: `2026-12-07T10:00:${endedAt}.000Z`,
});

const report = (outcome: FailoverReport['outcome'], steps: StepRecord[]): FailoverReport =>
  ({
    pair: 'p',
    mode: 'planned',
    outcome,
    finishedAt: '2026-12-07T10:01:00.000Z',
    rto: { fromStartMs: 42_500 },
    steps,
  }) as FailoverReport;

const STEPS = [
  step('traffic.drain', 'fence', '10', '11'),
  step('mysql.fence', 'fence', '11', '12'),
  step('mysql.promote', 'promote', '13', '15'),
  step('traffic.switch', 'switch', '16', '19'),
  step('apps.verify', 'verify', '20', '25'),
];

describe('DR metrics of moves and drills', () => {
  it('a completed move: its RTO, and its write outage from the fence to the end of the switch', () => {
    expect(moveFacts(report('completed', STEPS), 'failover')).toEqual({
      pair: 'p',
      type: 'failover',
      mode: 'planned',
      outcome: 'completed',
      endedAt: Date.parse('2026-12-07T10:01:00.000Z') / 1000,
      rtoSeconds: 42.5,
      writeOutageSeconds: 9,
    });
  });

  it('a move that did not complete has neither RTO nor write outage', () => {
    const facts = moveFacts(report('rolled-back', STEPS.slice(0, 2)), 'failover');
    expect(facts).not.toHaveProperty('rtoSeconds');
    expect(facts).not.toHaveProperty('writeOutageSeconds');
  });

  it('sets the gauges and counts moves and drills by pair, type, mode and outcome', () => {
    const { meter, values } = recordingMeter();
    const metrics = drMetrics(meter, ['p', 'q']);
    metrics.move(moveFacts(report('completed', STEPS), 'failover'));
    metrics.move(moveFacts(report('rejected', []), 'failback'));
    metrics.move(moveFacts(report('completed', STEPS), 'failover'));
    metrics.drill({ pair: 'p', mode: 'readiness', outcome: 'passed', succeeded: true, endedAt: 1000 });
    metrics.drill({ pair: 'p', mode: 'game-day', outcome: 'failed', succeeded: false, endedAt: 2000 });
    expect(Object.fromEntries(values)).toEqual({
      'dr_pair_info{pair=p}': 1,
      'dr_pair_info{pair=q}': 1,
      'dr_moves_total{mode=planned,outcome=completed,pair=p,type=failover}': 2,
      'dr_moves_total{mode=planned,outcome=rejected,pair=p,type=failback}': 1,
      'dr_last_move_timestamp_seconds{pair=p,type=failover}': Date.parse('2026-12-07T10:01:00.000Z') / 1000,
      'dr_last_move_timestamp_seconds{pair=p,type=failback}': Date.parse('2026-12-07T10:01:00.000Z') / 1000,
      'dr_last_move_rto_seconds{pair=p,type=failover}': 42.5,
      'dr_last_move_write_outage_seconds{pair=p,type=failover}': 9,
      'dr_drills_total{mode=readiness,outcome=passed,pair=p}': 1,
      'dr_drills_total{mode=game-day,outcome=failed,pair=p}': 1,
      'dr_last_drill_timestamp_seconds{pair=p}': 2000,
      'dr_last_drill_success{pair=p}': 0,
    });
  });
});

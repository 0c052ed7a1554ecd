/**
 * The DR readiness alert rules of deploy/compose/prometheus/rules.yml (group dr-readiness), checked by Prometheus'
 * own promtool: the file is valid, and each alert fires on the series that should fire it, and only on those (the
 * worker's figures fed in as `promtool test rules` input series).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { packageRoot } from '../common/package-root';

const RULES = path.join(packageRoot(), 'deploy', 'compose', 'prometheus', 'rules.yml');
const PROMTOOL = '/usr/bin/promtool';
const dir = mkdtempSync(path.join(os.tmpdir(), 'prometheus-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs promtool; resolves with its output, or throws with it. */
function promtool(...args: string[]): string {
  try {
    return execFileSync(PROMTOOL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, {
      cause: err,
    });
  }
}

interface Alert {
  pair: string;
  severity: string;
  server?: string;
  summary: string;
}

const alertsOf = (alerts: Alert[]) =>
  alerts.map(({ summary, ...labels }) => ({ exp_labels: labels, exp_annotations: { summary } }));

/** `promtool test rules` on these tests, the rules evaluated every `every` (as often as Prometheus would, or less). */
function testRules(tests: unknown[], every = '1m'): string {
  const file = path.join(dir, `tests-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, stringify({ rule_files: [RULES], evaluation_interval: every, tests }));
  return promtool('test', 'rules', file);
}

const notReady = (pair: string): Alert => ({
  pair,
  severity: 'page',
  summary: `The standby of pair ${pair} could not take over now; \`drctl readiness ${pair}\` names the failing checks.`,
});

describe('DR readiness alert rules (promtool)', () => {
  it('the rules file is valid', () => {
    expect(promtool('check', 'rules', RULES)).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('standby not ready: fires 10 minutes after a check that failed, whatever the worker, and not for a ready pair', () => {
    const out = testRules([
      {
        interval: '1m',
        input_series: [
          // Pair a: ready at 1 min, then a check at 30 min fails (its last ready time stays at 1 min).
          {
            series: 'dr_readiness_last_check_timestamp_seconds{pair="a",instance="w1"}',
            values: '60x29 1800x40',
          },
          { series: 'dr_readiness_last_ready_timestamp_seconds{pair="a",instance="w1"}', values: '60x69' },
          // Pair b: every check, each minute, finds it ready; a second worker's older figures change nothing.
          { series: 'dr_readiness_last_check_timestamp_seconds{pair="b",instance="w1"}', values: '0+60x69' },
          { series: 'dr_readiness_last_ready_timestamp_seconds{pair="b",instance="w1"}', values: '0+60x69' },
          { series: 'dr_readiness_last_check_timestamp_seconds{pair="b",instance="w2"}', values: '30x69' },
          // Pair c: checked, never ready.
          { series: 'dr_readiness_last_check_timestamp_seconds{pair="c",instance="w2"}', values: '0+60x69' },
        ],
        alert_rule_test: [
          { eval_time: '35m', alertname: 'DrStandbyNotReady', exp_alerts: alertsOf([notReady('c')]) },
          {
            eval_time: '45m',
            alertname: 'DrStandbyNotReady',
            exp_alerts: alertsOf([notReady('a'), notReady('c')]),
          },
        ],
      },
    ]);
    expect(out).toContain('SUCCESS');
  });

  it('no drill for 30 days, and no readiness check for a day, of a pair a worker serves', () => {
    const hourly = (value: string) => `${value}x${33 * 24}`;
    const out = testRules(
      [
        {
          interval: '1h',
          input_series: [
            { series: 'dr_pair_info{pair="a",instance="w1"}', values: hourly('1') },
            { series: 'dr_pair_info{pair="b",instance="w1"}', values: hourly('1') },
            // Pair b was drilled at 1 h and never since; pair a never. Both are checked every hour.
            { series: 'dr_last_drill_timestamp_seconds{pair="b",instance="w1"}', values: hourly('3600') },
            {
              series: 'dr_readiness_last_check_timestamp_seconds{pair="b",instance="w1"}',
              values: `0+3600x${33 * 24}`,
            },
          ],
          alert_rule_test: [
            {
              eval_time: '10d',
              alertname: 'DrNoDrillFor30Days',
              exp_alerts: alertsOf([
                { pair: 'a', severity: 'warning', summary: 'No DR drill of pair a for 30 days.' },
              ]),
            },
            {
              eval_time: '31d',
              alertname: 'DrNoDrillFor30Days',
              exp_alerts: alertsOf(
                ['a', 'b'].map((pair) => ({
                  pair,
                  severity: 'warning',
                  summary: `No DR drill of pair ${pair} for 30 days.`,
                })),
              ),
            },
            {
              eval_time: '2d',
              alertname: 'DrReadinessNotChecked',
              exp_alerts: alertsOf([
                {
                  pair: 'a',
                  severity: 'warning',
                  summary: 'No readiness check of pair a for a day; check its drill schedule.',
                },
              ]),
            },
          ],
        },
      ],
      '1h',
    );
    expect(out).toContain('SUCCESS');
  });

  it('a replica that stops replicating, or lags beyond the runbook, fires after 5 minutes', () => {
    const out = testRules([
      {
        interval: '1m',
        input_series: [
          { series: 'dr_mysql_max_lag_seconds{pair="a",instance="w1"}', values: '5x30' },
          { series: 'dr_mysql_max_lag_seconds{pair="a",instance="w2"}', values: '5x30' },
          { series: 'dr_mysql_replica_replicating{pair="a",server="db-rbx-1"}', values: '1x9 0x20' },
          { series: 'dr_mysql_replica_replicating{pair="a",server="db-rbx-2"}', values: '1x30' },
          {
            series: 'dr_mysql_replica_lag_seconds{pair="a",server="db-rbx-1"}',
            values: `0x9 ${Array(20).fill('NaN').join(' ')}`,
          },
          { series: 'dr_mysql_replica_lag_seconds{pair="a",server="db-rbx-2"}', values: '0x9 12x20' },
        ],
        alert_rule_test: [
          { eval_time: '12m', alertname: 'DrReplicaNotReplicating', exp_alerts: [] },
          {
            eval_time: '16m',
            alertname: 'DrReplicaNotReplicating',
            exp_alerts: alertsOf([
              {
                pair: 'a',
                server: 'db-rbx-1',
                severity: 'page',
                summary: 'MySQL replica db-rbx-1 of pair a does not replicate.',
              },
            ]),
          },
          {
            eval_time: '16m',
            alertname: 'DrReplicaLagging',
            exp_alerts: alertsOf([
              {
                pair: 'a',
                server: 'db-rbx-2',
                severity: 'warning',
                summary: "MySQL replica db-rbx-2 of pair a lags 12 s, beyond the runbook's maxLagSeconds.",
              },
            ]),
          },
        ],
      },
    ]);
    expect(out).toContain('SUCCESS');
  });
});

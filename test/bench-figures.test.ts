/** The bench's figures and command line (bench/stats.ts, bench/options.ts): pure functions, no system. */
import { describe, expect, it } from 'vitest';
import { judgeKillLosses } from '../bench/mysql-kill';
import { parseBenchOptions } from '../bench/options';
import { ratios } from '../bench/report';
import { ratioOfMedians, spread } from '../bench/stats';

describe('bench figures', () => {
  it('gives min, median (mean of the middle two for an even count) and max, and nothing for no value', () => {
    expect(spread([30, 10, 20])).toEqual({ min: 10, median: 20, max: 30, runs: 3 });
    expect(spread([40, 10, 30, 20])).toEqual({ min: 10, median: 25, max: 40, runs: 4 });
    expect(spread([])).toBeUndefined();
  });

  it('divides medians, and names the figure that was not measured instead of a number', () => {
    const figures = { a: spread([2, 4, 6]), b: spread([1, 2, 3]), zero: spread([0]) };
    expect(ratioOfMedians(figures, 'a', 'b')).toEqual({ value: 2, numerator: 'a', denominator: 'b' });
    expect(ratioOfMedians(figures, 'a', 'c')).toEqual({ missing: 'c was not measured' });
    expect(ratioOfMedians(figures, 'a', 'zero')).toEqual({ missing: 'zero has a median of 0' });
  });

  it('fails the MySQL kill scenario only when this project lost more writes than MHA, and notes an equal loss', () => {
    expect(judgeKillLosses({ mysql_kill_lost_writes: 0, mha_kill_lost_writes: 0 })).toEqual({
      failures: [],
      notes: [],
    });
    const behind = judgeKillLosses({ mysql_kill_behind_lost_writes: 3, mha_kill_behind_lost_writes: 3 });
    expect(behind.failures).toEqual([]);
    expect(behind.notes).toEqual([
      'replicas 1000 ms behind: this project lost 3 acknowledged write(s), MHA 3: not more than MHA, so not a failure',
    ]);
    expect(judgeKillLosses({ mysql_kill_lost_writes: 2, mha_kill_lost_writes: 0 }).failures).toEqual([
      'replicas caught up: this project lost 2 acknowledged write(s), MHA 0',
    ]);
  });

  it('gives every ratio the issue names, measured or not', () => {
    expect(Object.keys(ratios({})).sort()).toEqual([
      'ratio_outage_vs_script',
      'ratio_outage_vs_script_200',
      'ratio_outage_worker_kill',
      'ratio_overhead',
      'ratio_vs_mha_gap',
      'ratio_vs_mha_kill',
      'ratio_vs_mha_planned',
      'ratio_vs_script',
      'ratio_vs_script_200',
    ]);
  });
});

describe('bench command line', () => {
  it('runs 5 times by default, once with --smoke unless --runs says otherwise', () => {
    expect(parseBenchOptions([], '/out')).toEqual({ runs: 5, smoke: false, outDir: '/out', only: [] });
    expect(parseBenchOptions(['--smoke'], '/out').runs).toBe(1);
    expect(parseBenchOptions(['--smoke', '--runs', '3', 'mysql-switchover'], '/out')).toEqual({
      runs: 3,
      smoke: true,
      outDir: '/out',
      only: ['mysql-switchover'],
    });
  });

  it('refuses a bad option and names it', () => {
    expect(() => parseBenchOptions(['--runs', '0'], '/out')).toThrow(/--runs: expected a whole number/);
    expect(() => parseBenchOptions(['--fast'], '/out')).toThrow(/unknown option --fast/);
    expect(() => parseBenchOptions(['--out'], '/out')).toThrow(/--out: expected a folder/);
  });
});

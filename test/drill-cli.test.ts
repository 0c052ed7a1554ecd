/**
 * `drctl drill` and `drctl schedule` as operators run them (bin/drctl, a process): their help, and their error paths,
 * each naming the bad input and starting nothing. The commands that start and list drills and schedules are run end
 * to end in test/drill.e2e.test.ts.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporalAddress } from './helpers/local-stack';

const DRCTL = path.resolve(__dirname, '..', 'bin', 'drctl');
const drctl = (...args: string[]) =>
  spawnSync(DRCTL, ['--address', temporalAddress(), ...args], {
    encoding: 'utf8',
    env: { ...process.env, DR_RUNBOOKS: '' },
  });

describe('drctl drill and drctl schedule', () => {
  it('have --help on every command', () => {
    for (const command of [
      ['drill'],
      ['drill', 'list'],
      ['schedule'],
      ...['create', 'list', 'pause', 'unpause', 'trigger', 'delete'].map((c) => ['schedule', c]),
    ]) {
      const result = drctl(...command, '--help');
      expect(result.status, command.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/^Usage: drctl /);
    }
  });

  it('refuse a game-day drill without --yes, and a bad mode or pair, before contacting Temporal', () => {
    const gameDay = drctl('drill', 'shop', '--mode', 'game-day');
    expect(gameDay.status).toBe(1);
    expect(gameDay.stderr).toContain('a game-day drill fails shop over and back for real');
    const mode = drctl('drill', 'shop', '--mode', 'chaos');
    expect(mode.status).toBe(1);
    expect(mode.stderr).toContain('the mode is readiness or game-day');
    const pair = drctl('drill', 'list', 'Shop_1');
    expect(pair.status).toBe(1);
    expect(pair.stderr).toContain('a pair name is lower-case letters, digits and dashes');
  });

  it('refuse a schedule without one of --cron and --every, or with a bad one, naming the option', () => {
    const both = drctl('schedule', 'create', 'shop', '--cron', '0 6 * * 1', '--every', '1d');
    expect(both.status).toBe(1);
    expect(both.stderr).toContain('give either --cron (a cron line, UTC) or --every');
    const cron = drctl('schedule', 'create', 'shop', '--cron', '0 6 * *');
    expect(cron.stderr).toContain('--cron: must be a cron line such as "0 6 * * 1": it has 4 fields, not 5');
    const every = drctl('schedule', 'create', 'shop', '--every', '90s');
    expect(every.stderr).toContain('--every: must be a duration in minutes, hours or days');
    const name = drctl('schedule', 'create', 'shop', '--every', '1d', '--name', 'Weekly!');
    expect(name.stderr).toContain('--name: must be lower-case letters, digits and dashes');
    const noRunbook = drctl('schedule', 'create', 'shop');
    expect(noRunbook.status).toBe(1);
    expect(noRunbook.stderr).toContain('no runbook of pair shop (DR_RUNBOOKS names the runbook files)');
  });

  it('refuse to act on a schedule that is not a drill schedule, or that does not exist', () => {
    const foreign = drctl('schedule', 'pause', 'nightly-backup');
    expect(foreign.status).toBe(1);
    expect(foreign.stderr).toContain(
      'nightly-backup is not a drill schedule (their IDs start with "drill-")',
    );
    const missing = drctl('schedule', 'trigger', 'drill-nowhere-x');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no schedule drill-nowhere-x (drctl schedule list shows them)');
  });

  it('say that a pair has no drill, and that Temporal is unreachable naming its address', () => {
    const none = drctl('drill', 'list', 'no-such-pair');
    expect(none.stderr).toBe('');
    expect(none.stdout.trim()).toBe('no drill of no-such-pair found.');
    const down = spawnSync(DRCTL, ['--address', '127.0.0.1:1', 'schedule', 'list'], { encoding: 'utf8' });
    expect(down.status).toBe(1);
    expect(down.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
  });
});

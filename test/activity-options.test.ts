import { describe, expect, it } from 'vitest';
import { activityPresets } from '../workflows/activity-options';
import { fakeSettings } from './helpers/fake-pair';

/** The activity options of the failover workflows, from the runbook's timeouts. */
describe('activity presets', () => {
  const heartbeats = (presets: ReturnType<typeof activityPresets>) =>
    Object.fromEntries(Object.entries(presets).map(([name, options]) => [name, options.heartbeatTimeout]));

  it('heartbeat timeouts default to 30s for catch-up waits, salvages and delegated switches, 20s for rebuilds, 60s for app starts and long steps', () => {
    expect(heartbeats(activityPresets(fakeSettings().timeouts))).toEqual({
      read: undefined,
      change: undefined,
      catchUp: '30s',
      apps: '60s',
      salvage: '30s',
      rebuild: '20s',
      delegated: '30s',
      long: '60s',
      once: undefined,
      longOnce: '60s',
    });
  });

  it("the runbook's timeouts.heartbeat sets every heartbeat timeout (how long a dead worker's step waits)", () => {
    const timeouts = { ...fakeSettings().timeouts, heartbeatMs: 5_000 };
    expect(heartbeats(activityPresets(timeouts))).toEqual({
      read: undefined,
      change: undefined,
      catchUp: '5s',
      apps: '5s',
      salvage: '5s',
      rebuild: '5s',
      delegated: '5s',
      long: '5s',
      once: undefined,
      longOnce: '5s',
    });
  });

  it("with quick heartbeats (runs since the fence window), every preset heartbeats within 2s, or the runbook's timeouts.heartbeat, and retries after half a second", () => {
    const every = (timeout: string) =>
      Object.fromEntries(
        [
          'read',
          'change',
          'catchUp',
          'apps',
          'salvage',
          'rebuild',
          'delegated',
          'long',
          'once',
          'longOnce',
        ].map((p) => [p, timeout]),
      );
    expect(heartbeats(activityPresets(fakeSettings().timeouts, true))).toEqual(every('2s'));
    const firstRetries = Object.values(activityPresets(fakeSettings().timeouts, true)).map(
      (o) => o.retry?.initialInterval,
    );
    expect(new Set(firstRetries)).toEqual(new Set(['500ms']));
    expect(activityPresets(fakeSettings().timeouts).change.retry?.initialInterval).toBe('1s');
    expect(heartbeats(activityPresets({ ...fakeSettings().timeouts, heartbeatMs: 3_000 }, true))).toEqual(
      every('3s'),
    );
  });

  it("a rebuild may last the runbook's timeouts.rebuild (2h when an older worker's settings lack it), plus an activity's", () => {
    const timeouts = { ...fakeSettings().timeouts, activityMs: 60_000 };
    expect(activityPresets({ ...timeouts, rebuildMs: 3 * 3_600_000 }).rebuild.startToCloseTimeout).toBe(
      '10860s',
    );
    expect(activityPresets(timeouts).rebuild.startToCloseTimeout).toBe('7260s');
  });

  it('the one-try presets of a workflow that tries again on its own are never retried by Temporal', () => {
    const presets = activityPresets(fakeSettings().timeouts);
    expect([presets.once.retry?.maximumAttempts, presets.longOnce.retry?.maximumAttempts]).toEqual([1, 1]);
    expect(presets.longOnce.startToCloseTimeout).toBe(presets.long.startToCloseTimeout);
  });

  it("a salvage may last the runbook's timeouts.salvage, plus a connection's and a margin", () => {
    const timeouts = { ...fakeSettings().timeouts, salvageMs: 90_000, activityMs: 60_000 };
    expect(activityPresets(timeouts).salvage.startToCloseTimeout).toBe('180s');
  });

  it("a switch delegated to MHA may last the runbook's mysql.delegate.timeout (5 min without it), plus an activity's", () => {
    const timeouts = { ...fakeSettings().timeouts, activityMs: 60_000 };
    expect(activityPresets({ ...timeouts, delegateMs: 120_000 }).delegated.startToCloseTimeout).toBe('180s');
    expect(activityPresets(timeouts).delegated.startToCloseTimeout).toBe('360s');
  });
});

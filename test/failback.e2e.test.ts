/**
 * End-to-end failback on real components (a scratch DR pair: MariaDB trio, ES emulator, Perl apps over SSH,
 * HAProxy; the real worker as a process; the shared Temporal dev server): a planned failover, then a full failback,
 * under continuous writes through the public entry point. Checked on the systems and on the writes the client saw
 * acknowledged.
 */
import { describe, expect, it } from 'vitest';
import { startReadinessCheck } from '../client/readiness';
import type { FrontendWriteLoad } from '../dev/write-load';
import type { ReadinessReport } from '../workflows/readiness';
import { waitUntil } from './helpers/apps-traffic';
import { reportWithin, startPairFailback, startPairFailover, timer } from './helpers/failover-e2e';
import { takeTurns } from './helpers/turns';
import { pairWithWorker } from './helpers/pair-with-worker';

// Offers a write rate it asserts: never alongside another such load, which would starve it of CPU.
takeTurns('write-load', 'exclusive');

const acknowledgedBy = (load: FrontendWriteLoad, site: string, since = 0) =>
  load.records.filter((r) => r.outcome === 'acknowledged' && r.server === site && r.at >= since);

/** How long writes were refused or left unanswered after `since`: first such answer to the last (0 when none). */
function writesUnavailableMs(load: FrontendWriteLoad, since: number): number {
  const times = load.records.filter((r) => r.outcome !== 'acknowledged' && r.at >= since).map((r) => r.at);
  return times.length > 0 ? Math.max(...times) - Math.min(...times) : 0;
}

describe('failback end to end, on a scratch DR pair with an auto-approving runbook', () => {
  const t = pairWithWorker('e2e-failback', { autoApprove: true });
  const failbackOf = (mode: 'full' | 'reprotect-only') =>
    startPairFailback(t.client, t.pair.pair, mode, t.taskQueue, t.runs);

  it('refuses to fail back a pair that is not failed over, and changes nothing', async () => {
    const before = await t.pair.snapshot();
    const report = await reportWithin(await failbackOf('full'));
    expect(report.outcome).toBe('refused');
    expect(report.sentence).toMatch(/it is not failed over \(db-gra-1 in gra is the writable primary/);
    expect(await t.pair.snapshot()).toEqual(before);
  }, 60_000);

  it('planned failover then failback under continuous writes (250/s asked): no acknowledged write lost, the pair is back as before, readiness READY', async () => {
    const done = timer('failback: planned failover then failback under writes');
    const before = await t.pair.snapshot();
    const load = t.pair.writeLoad({ ratePerSecond: 250, maxInFlight: 1000, requestTimeoutMs: 10_000 });
    load.start();
    await waitUntil('gra acknowledges writes', async () => acknowledgedBy(load, 'gra').length >= 100);
    const failover = await reportWithin(
      await startPairFailover(t.client, t.pair.pair, 'planned', t.taskQueue, t.runs),
    );
    expect(failover.outcome).toBe('completed');
    const failedOverAt = Date.now();
    await waitUntil(
      'rbx acknowledges writes',
      async () => acknowledgedBy(load, 'rbx', failedOverAt).length >= 100,
    );

    const failbackStart = Date.now();
    const report = await reportWithin(await failbackOf('full'), 120_000);
    expect(report.outcome).toBe('completed');
    expect(report.from).toBe('rbx');
    expect(report.to).toBe('gra');
    const failedBackAt = Date.now();
    await waitUntil(
      'gra acknowledges writes again',
      async () => acknowledgedBy(load, 'gra', failedBackAt).length >= 100,
    );
    const summary = await load.stop();
    const verification = await load.verify('db-gra-1');
    expect(verification.lost).toEqual([]);
    expect(verification.acknowledged).toBe(summary.acknowledged);

    const after = await t.pair.snapshot();
    // The same pair as before the failover: db-gra-1 primary, rbx replicating from it, rbx's indices following
    // gra's, rbx's auto-follow active (gra's mirrored pattern gone), traffic on gra.
    expect(after.mysql).toEqual(before.mysql);
    expect(after.elasticsearch.rbx?.indices).toEqual({
      orders: 'follower active',
      customers: 'follower active',
      'logs-app-000001': 'follower active',
    });
    expect(after.elasticsearch.rbx?.autoFollowPatterns).toEqual(before.elasticsearch.rbx?.autoFollowPatterns);
    expect(after.elasticsearch.gra?.autoFollowPatterns ?? {}).toEqual(
      before.elasticsearch.gra?.autoFollowPatterns ?? {},
    );
    expect(after.elasticsearch.gra?.indices).toEqual(before.elasticsearch.gra?.indices);
    // The write blocks each move left on the site it left (gra's, then rbx's) went with the indices the failback
    // replaced by followers.
    expect([after.elasticsearch.gra?.writeBlocked, after.elasticsearch.rbx?.writeBlocked]).toEqual([[], []]);
    expect(after.traffic).toEqual(before.traffic);

    const readiness = (await (
      await startReadinessCheck(t.client, t.pair.pair, 'test', t.taskQueue)
    ).result()) as ReadinessReport;
    expect(readiness.verdict).toMatch(/^ready/);
    expect(readiness.ready).toBe(true);

    // The writer ran through both moves (its rate is a bench figure, not a pass/fail one).
    expect(summary.acknowledged).toBeGreaterThanOrEqual(100);
    console.log(
      `[e2e] failback RTO ${(report.rto.fromStartMs / 1000).toFixed(1)} s (run, reprotect included), ${((report.rto.fromApprovalMs ?? NaN) / 1000).toFixed(1)} s from the switch-back approval; writes refused for ${(writesUnavailableMs(load, failbackStart) / 1000).toFixed(1)} s during the failback (client side); lost ${verification.lost.length} of ${summary.acknowledged} acknowledged writes over both switches (offered ${summary.offeredRatePerSecond}/s; ${summary.failed} refused, ${summary.unknown} unknown); failover RTO ${(failover.rto.fromStartMs / 1000).toFixed(1)} s`,
    );
    done();
  }, 300_000);
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MysqlServerStatus } from '../activities/mysql/status';
import { startScratchPair, type ScratchPair } from './helpers/scratch-cluster';
import { failureOf } from './helpers/failures';

const GRA = 'db-gra-1';
const RBX1 = 'db-rbx-1';
const RBX2 = 'db-rbx-2';

/**
 * Unplanned failover on a scratch MariaDB GTID cluster of its own: the primary's process is killed with
 * SIGKILL under continuous writes, one replica having fallen behind. Measures the lost acknowledged writes (RPO).
 */
describe('MySQL failover primitives: unplanned promotion after the primary is killed', () => {
  let s: ScratchPair;
  const statuses = () => s.act('mysqlServerStatuses', { pair: s.pair });
  const byName = (all: MysqlServerStatus[], name: string) =>
    all.find((x) => x.server === name) as MysqlServerStatus;

  // A fresh trio per test (db-gra-1 primary, both rbx servers replicating from it): no test starts from another's end.
  beforeEach(async () => {
    s = await startScratchPair({ maxLagSeconds: 5, killClientConnectionsOnFence: true });
  });
  afterEach(async () => s?.destroy());

  it('promotes the most advanced replica, measures the lost acknowledged writes, leaves one writable server', async () => {
    const load = s.writeLoad(200);
    await load.prepare();
    load.start();
    await load.waitForAcknowledged(100);

    // db-rbx-2 stops receiving for a while: it falls behind db-rbx-1.
    await s.cluster.sql(RBX2, 'STOP SLAVE IO_THREAD');
    await load.waitForAcknowledged(100);
    const killedAt = Date.now();
    await s.cluster.kill(GRA, 'SIGKILL');
    await s.cluster.sql(RBX2, 'START SLAVE IO_THREAD'); // it now tries, in vain, to reach the dead primary

    // The old primary cannot be fenced: a clear typed failure.
    const fence = await failureOf(s.act('mysqlFence', { pair: s.pair, server: GRA }));
    expect(fence.type).toBe('MysqlUnreachable');
    expect(fence.message).toMatch(/^db-gra-1: .*ECONNREFUSED/);

    const choice = await s.act('mysqlSelectCandidate', { pair: s.pair, exclude: [GRA], site: 'rbx' });
    expect(choice.candidate).toBe(RBX1);
    const [best, other] = choice.ranking;
    expect(best).toMatchObject({ server: RBX1, eligible: true, behindBest: 0 });
    expect(other).toMatchObject({ server: RBX2, eligible: true });
    expect(other?.behindBest).toBeGreaterThanOrEqual(50);

    const caught = await s.act('mysqlCatchUp', { pair: s.pair, server: RBX1 });
    expect(caught.targetFrom).toBe('relay log');
    const promoted = await s.act('mysqlPromote', { pair: s.pair, server: RBX1 });
    expect(promoted).toMatchObject({ alreadyPromoted: false, unreachableOthers: [GRA] });
    const promotedAt = Date.now();

    // The lagging replica follows the new primary and gets what it missed from there.
    const repointed = await s.act('mysqlRepoint', { pair: s.pair, server: RBX2, source: RBX1 });
    expect(repointed).toMatchObject({ mode: 'slave_pos', ioRunning: 'Yes', sqlRunning: 'Yes' });

    await load.waitForAcknowledged(100);
    const summary = await load.stop();
    await s.act('mysqlCatchUp', { pair: s.pair, server: RBX2, untilServer: RBX1 });
    const onNewPrimary = await load.verify(RBX1);
    const onReplica = await load.verify(RBX2);
    expect(onReplica.lost).toEqual(onNewPrimary.lost);

    // No server other than the new primary is writable (the old one is down).
    let all = await statuses();
    expect(all.filter((x) => x.reachable && !x.readOnly).map((x) => x.server)).toEqual([RBX1]);
    expect(byName(all, GRA).reachable).toBe(false);

    // The old primary comes back (read-only, as a fenced server must): what it has and the new one lacks
    // are the writes the failover lost; repointing it refuses while they exist.
    await s.cluster.start(GRA, { readOnly: true });
    expect(await s.act('mysqlFence', { pair: s.pair, server: GRA })).toMatchObject({ alreadyFenced: true });
    const errant = await s.act('mysqlFindErrantTransactions', { pair: s.pair, server: GRA, reference: RBX1 });
    expect(errant.count).toBeGreaterThanOrEqual(onNewPrimary.lost.length);
    if (errant.count > 0) {
      const refused = await failureOf(s.act('mysqlRepoint', { pair: s.pair, server: GRA, source: RBX1 }));
      expect(refused.type).toBe('ErrantTransactions');
    } else {
      const repointedOld = await s.act('mysqlRepoint', { pair: s.pair, server: GRA, source: RBX1 });
      expect(repointedOld).toMatchObject({ mode: 'demote', ioRunning: 'Yes', sqlRunning: 'Yes' });
    }
    all = await statuses();
    expect(all.filter((x) => x.reachable && !x.readOnly).map((x) => x.server)).toEqual([RBX1]);

    console.log(
      `unplanned failover (SIGKILL under ${summary.achievedRatePerSecond} writes/s): RPO = ${onNewPrimary.lost.length} ` +
        `acknowledged write(s) lost of ${onNewPrimary.acknowledged}` +
        `${onNewPrimary.lost.length ? ` (seq ${onNewPrimary.lost.join(', ')})` : ''}; ` +
        `${summary.unknown} write(s) with unknown outcome, ${onNewPrimary.presentUnacknowledged.length} of them kept; ` +
        `kill → promoted in ${promotedAt - killedAt} ms; write outage ${summary.longestGapMs} ms; ` +
        `old primary had ${errant.count} transaction(s) the new one lacks${errant.gtids.length ? `: ${errant.gtids.slice(0, 5).join(', ')}` : ''}; ` +
        `${RBX2} was ${other?.behindBest} transaction(s) behind`,
    );
  });

  it('loses the acknowledged writes no replica received, and lists them as errant on the old primary', async () => {
    // Both replicas stop receiving; the primary goes on acknowledging.
    const load = s.writeLoad(200);
    await load.prepare();
    load.start();
    await load.waitForAcknowledged(50);
    // db-rbx-1 first, so that it is not ahead of db-rbx-2 (else it would hold transactions the candidate lacks).
    for (const name of [RBX1, RBX2]) await s.cluster.sql(name, 'STOP SLAVE IO_THREAD');
    await load.waitForAcknowledged(50);
    await s.cluster.kill(GRA, 'SIGKILL');

    const choice = await s.act('mysqlSelectCandidate', { pair: s.pair, exclude: [GRA], site: 'rbx' });
    expect(choice.candidate).toBe(RBX2);
    await s.act('mysqlCatchUp', { pair: s.pair, server: RBX2 });
    await s.act('mysqlPromote', { pair: s.pair, server: RBX2 });
    await s.act('mysqlRepoint', { pair: s.pair, server: RBX1, source: RBX2 });
    await load.waitForAcknowledged(50);
    const summary = await load.stop();
    const verified = await load.verify(RBX2);
    expect(verified.lost.length).toBeGreaterThanOrEqual(40);

    await s.cluster.start(GRA, { readOnly: true });
    const errant = await s.act('mysqlFindErrantTransactions', {
      pair: s.pair,
      server: GRA,
      reference: RBX2,
    });
    expect(errant.truncated).toBe(false);
    expect(errant.gtids).toHaveLength(errant.count);
    expect(errant.count).toBeGreaterThanOrEqual(verified.lost.length);
    expect(errant.gtids.every((g) => g.startsWith('0-1-'))).toBe(true); // written by db-gra-1 (server_id 1)
    const refused = await failureOf(s.act('mysqlRepoint', { pair: s.pair, server: GRA, source: RBX2 }));
    expect(refused).toMatchObject({ type: 'ErrantTransactions', nonRetryable: true });
    const all = await statuses();
    expect(all.filter((x) => x.reachable && !x.readOnly).map((x) => x.server)).toEqual([RBX2]);
    console.log(
      `unplanned failover with both replicas cut off first: RPO = ${verified.lost.length} acknowledged write(s) lost ` +
        `of ${verified.acknowledged} (${summary.unknown} unknown); the old primary holds ${errant.count} transaction(s) ` +
        `the new one lacks (${errant.gtids[0]} … ${errant.gtids.at(-1)}), and repointing it is refused until a human decides`,
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateMysqlReadiness } from '../workflows/checks/mysql-readiness';
import { failureOf } from './helpers/failures';
import { startScratchPair, topologySnapshot, type ScratchPair } from './helpers/scratch-cluster';

const GRA = 'db-gra-1';
const RBX1 = 'db-rbx-1';
const RBX2 = 'db-rbx-2';

/**
 * MariaDB's errant-transaction check compares binlog states (gtid_binlog_state), which hold what a server
 * replicated only with log_slave_updates=ON (default OFF, read-only at run time). Scratch MariaDB cluster whose
 * db-rbx-2 is started with log_slave_updates=OFF.
 */
describe('MariaDB servers with log_slave_updates=OFF', () => {
  let s: ScratchPair;
  beforeAll(async () => {
    s = await startScratchPair({ instanceConfig: { [RBX2]: ['log_slave_updates=OFF'] } });
    await s.cluster.checkReplication();
  });
  afterAll(async () => s?.destroy());

  it('is a read-only variable: the server had to start with it off, and its binlog lacks what it replicated', async () => {
    expect(
      await s.cluster.sql(RBX2, 'SELECT @@global.log_slave_updates, @@global.gtid_binlog_state'),
    ).toEqual([['0', '']]);
    await expect(s.cluster.sql(RBX2, 'SET GLOBAL log_slave_updates=ON')).rejects.toThrow(
      /read only variable/,
    );
  });

  it('fails the readiness check with a sentence', async () => {
    const statuses = await s.act('mysqlServerStatuses', { pair: s.pair });
    expect(statuses.map((x) => [x.server, x.logSlaveUpdates])).toEqual([
      [GRA, true],
      [RBX1, true],
      [RBX2, false],
    ]);
    const settings = await s.act('pairSettings', { pair: s.pair });
    const checks = evaluateMysqlReadiness(settings, statuses).filter((c) =>
      c.name.endsWith('.log-slave-updates'),
    );
    expect(checks).toEqual([
      {
        name: `${GRA}.log-slave-updates`,
        ok: true,
        sentence: `${GRA} writes the transactions it replicates to its binlog (log_slave_updates=ON).`,
      },
      {
        name: `${RBX1}.log-slave-updates`,
        ok: true,
        sentence: `${RBX1} writes the transactions it replicates to its binlog (log_slave_updates=ON).`,
      },
      {
        name: `${RBX2}.log-slave-updates`,
        ok: false,
        sentence:
          `${RBX2} has log_slave_updates=OFF: its binlog lacks the transactions it replicates, so errant transactions ` +
          'cannot be checked against it; set log_slave_updates=ON in its configuration and restart it.',
      },
    ]);
  });

  it('refuses to compare binlogs (LogSlaveUpdatesOff, not retried) instead of reporting false errant transactions', async () => {
    const before = topologySnapshot(await s.act('mysqlServerStatuses', { pair: s.pair }));
    for (const [server, reference] of [
      [GRA, RBX2],
      [RBX2, GRA],
    ] as const) {
      const failure = await failureOf(
        s.act('mysqlFindErrantTransactions', { pair: s.pair, server, reference }),
      );
      expect(failure).toMatchObject({ type: 'LogSlaveUpdatesOff', nonRetryable: true });
      expect(failure.message).toBe(
        `cannot compare the binlogs of ${server} and ${reference}: ${RBX2} has log_slave_updates=OFF, so its binlog ` +
          'lacks the transactions it replicated and the comparison would report false errant transactions; ' +
          `a human must set log_slave_updates=ON in ${RBX2}'s configuration and restart it.`,
      );
    }
    const repoint = await failureOf(s.act('mysqlRepoint', { pair: s.pair, server: RBX2, source: RBX1 }));
    expect(repoint).toMatchObject({ type: 'LogSlaveUpdatesOff', nonRetryable: true });
    expect(topologySnapshot(await s.act('mysqlServerStatuses', { pair: s.pair }))).toEqual(before);

    // Between servers that log what they replicate, the comparison goes on.
    expect(
      await s.act('mysqlFindErrantTransactions', { pair: s.pair, server: RBX1, reference: GRA }),
    ).toMatchObject({
      count: 0,
    });
  });
});

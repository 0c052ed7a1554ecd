import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MYSQL_FAILURE_TYPES,
  MYSQL_NON_RETRYABLE_FAILURE_TYPES,
  mysqlDecision,
  mysqlFailure,
} from '../activities/mysql/errors';
import { FAKE_PASSWORDS, fakeMysql8Pair } from './helpers/fake-mysql8';
import { failureOf } from './helpers/failures';

const SERVERS = ['db-a', 'db-b', 'db-c'];

/**
 * Failures of the MySQL activities that a retry cannot fix, against scripted MySQL 8.0 stand-ins
 * (test/helpers/fake-mysql8.ts) whose statements can be made to misbehave.
 */
describe('MySQL failure types', () => {
  let stand = fakeMysql8Pair();
  const { pair } = stand;
  beforeEach(async () => {
    await stand.close();
    stand = fakeMysql8Pair();
  });
  afterAll(() => stand.close());

  it('are one catalog saying which a retry can fix; the failures follow it', () => {
    expect(MYSQL_FAILURE_TYPES.MysqlTimeout.retryable).toBe(true);
    expect(MYSQL_NON_RETRYABLE_FAILURE_TYPES).toEqual(
      expect.arrayContaining([
        'StillWritableAfterFence',
        'PromotionNotEffective',
        'InvalidInput',
        'LogSlaveUpdatesOff',
        'InvalidCredentials',
      ]),
    );
    expect(MYSQL_NON_RETRYABLE_FAILURE_TYPES).not.toContain('MysqlUnreachable');
    expect(MYSQL_NON_RETRYABLE_FAILURE_TYPES).toEqual(
      Object.entries(MYSQL_FAILURE_TYPES)
        .filter(([, t]) => !t.retryable)
        .map(([name]) => name),
    );
    expect(mysqlFailure('db-a', { code: 'ETIMEDOUT', message: 'slow' }).nonRetryable).toBe(false);
    expect(mysqlDecision('NoCandidate', 'none').nonRetryable).toBe(true);
    expect(mysqlDecision('MysqlUnreachable', 'gone').nonRetryable).toBe(false);
  });

  it('a fence that does not hold is StillWritableAfterFence (not retried) and says what a human must check', async () => {
    // Something else (another tool, a person) keeps the server writable: the SET is acknowledged, nothing changes.
    stand.fake.get('db-a').intercept = (text) =>
      text === 'SET GLOBAL super_read_only=ON' ? { affectedRows: 0 } : undefined;
    const failure = await failureOf(stand.act('mysqlFence', { pair, server: 'db-a' }));
    expect(failure).toMatchObject({ type: 'StillWritableAfterFence', nonRetryable: true });
    expect(failure.message).toBe(
      'db-a is still writable after SET GLOBAL super_read_only=ON (read_only=OFF, super_read_only=OFF): ' +
        'something turned it back or refused it; a human must find what changes read_only on db-a ' +
        '(another orchestrator, a configuration manager, a person) before any promotion.',
    );
  });

  it('a promotion that does not take effect is PromotionNotEffective (not retried) and says what to look at', async () => {
    await stand.act('mysqlFence', { pair, server: 'db-a' });
    stand.fake.get('db-b').intercept = (text) =>
      text === 'RESET REPLICA ALL' ? { affectedRows: 0 } : undefined;
    const failure = await failureOf(stand.act('mysqlPromote', { pair, server: 'db-b' }));
    expect(failure).toMatchObject({ type: 'PromotionNotEffective', nonRetryable: true });
    expect(failure.message).toBe(
      'db-b is not promoted after STOP REPLICA; RESET REPLICA ALL; SET GLOBAL super_read_only=OFF; SET GLOBAL read_only=OFF: ' +
        'it still has a replication source (127.0.0.1:3301); a human must look at db-b ' +
        '(SHOW REPLICA STATUS, read_only, super_read_only, its error log) before sending writes to it.',
    );
  });

  it('an unfence refuses a replica with UnfenceOfReplica (not retried), changing nothing', async () => {
    stand.taken('db-b');
    const failure = await failureOf(stand.act('mysqlUnfence', { pair, server: 'db-b' }));
    expect(failure).toMatchObject({ type: 'UnfenceOfReplica', nonRetryable: true });
    expect(failure.message).toBe(
      'refusing to make db-b writable: it replicates from 127.0.0.1:3301, and a replica must stay read-only.',
    );
    expect(stand.taken('db-b').filter((s) => s.startsWith('SET'))).toEqual([]);
  });

  it('an unfence that does not take effect is StillReadOnlyAfterUnfence (not retried)', async () => {
    await stand.act('mysqlFence', { pair, server: 'db-a' });
    stand.fake.get('db-a').intercept = (text) =>
      text.startsWith('SET GLOBAL') ? { affectedRows: 0 } : undefined;
    const failure = await failureOf(stand.act('mysqlUnfence', { pair, server: 'db-a' }));
    expect(failure).toMatchObject({ type: 'StillReadOnlyAfterUnfence', nonRetryable: true });
    expect(failure.message).toBe(
      'db-a is still read-only after SET GLOBAL super_read_only=OFF; SET GLOBAL read_only=OFF: something turned ' +
        'it back or refused it; a human must find what sets read_only on it.',
    );
  });

  it('a failed CHANGE REPLICATION SOURCE reports the error number and code only, never the server text', async () => {
    // A syntax error echoes the statement near the fault, cut at 80 characters: part of the password.
    stand.fake.get('db-c').intercept = (text) => {
      if (!text.startsWith('CHANGE REPLICATION SOURCE TO')) return undefined;
      throw Object.assign(
        new Error(
          `You have an error in your SQL syntax; check the manual near '${FAKE_PASSWORDS.replication.slice(0, 6)}' at line 1`,
        ),
        { code: 'ER_PARSE_ERROR', errno: 1064, sqlState: '42000' },
      );
    };
    const failure = await failureOf(stand.act('mysqlRepoint', { pair, server: 'db-c', source: 'db-b' }));
    expect(failure.message).toBe(
      'db-c: CHANGE REPLICATION SOURCE TO failed with error 1064 (ER_PARSE_ERROR)',
    );
    expect(JSON.stringify(failure)).not.toContain(FAKE_PASSWORDS.replication.slice(0, 6));
  });
});

describe('destructive MySQL activities validate their input at run time', () => {
  const stand = fakeMysql8Pair();
  const { pair, act, taken } = stand;
  afterAll(() => stand.close());

  const refused = async (call: Promise<unknown>, field: string) => {
    const failure = await failureOf(call);
    expect(failure).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(failure.message).toMatch(new RegExp(`\\b${field}: `));
    expect(failure.message).toMatch(/nothing was changed/);
    for (const server of SERVERS) expect(taken(server), server).toEqual([]);
    return failure;
  };

  it('refuses bad input naming the field, before touching any server', async () => {
    for (const server of SERVERS) taken(server);
    const unchecked = act as unknown as (name: string, input: unknown) => Promise<unknown>;
    // A string where a boolean belongs would be truthy: promote despite unapplied transactions.
    await refused(
      unchecked('mysqlPromote', { pair, server: 'db-b', allowUnappliedTransactions: 'false' }),
      'allowUnappliedTransactions',
    );
    await refused(unchecked('mysqlFence', { pair, server: 42 }), 'server');
    await refused(unchecked('mysqlFence', { pair }), 'server');
    await refused(unchecked('mysqlCatchUp', { pair, server: 'db-b', timeoutSeconds: -1 }), 'timeoutSeconds');
    await refused(unchecked('mysqlCatchUp', { pair, server: 'db-b', sliceSeconds: 'x' }), 'sliceSeconds');
    await refused(
      unchecked('mysqlRepoint', { pair, server: 'db-c', source: 'db-b', verifyTimeoutSeconds: 0 }),
      'verifyTimeoutSeconds',
    );
    await refused(unchecked('mysqlRepoint', { pair, server: 'db-c', sourc: 'db-b' }), 'source');
    await refused(unchecked('mysqlPromote', { server: 'db-b' }), 'pair');
    await refused(unchecked('mysqlUnfence', { pair, server: '' }), 'server');
    await refused(unchecked('mysqlUnfence', { pair, server: 'db-a', force: true }), 'force');
  });

  it('refuses a GTID target it cannot read, naming untilGtid', async () => {
    const failure = await failureOf(
      act('mysqlCatchUp', { pair, server: 'db-b', untilGtid: 'not-a-gtid-set' }),
    );
    expect(failure).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(failure.message).toMatch(/^mysqlCatchUp: invalid input, nothing was changed: untilGtid: /);
  });
});

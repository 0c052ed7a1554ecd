/**
 * mysqlMeasureLoss, the read a failover's report makes at its end: what the old primary holds that the promoted server
 * lacks, against the scripted MySQL 8.0 stand-in (test/helpers/fake-mysql8.ts); MariaDB's GTIDs as ranges. The
 * end-to-end tests measure it on real MariaDB (test/failover.e2e.test.ts, test/failover-durability.e2e.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mariadbGtidRanges } from '../activities/mysql/loss';
import { FAKE_PASSWORDS, FAKE_UUIDS, fakeMysql8Pair, type FakeMysql8 } from './helpers/fake-mysql8';

describe('mysqlMeasureLoss (MySQL 8 stand-in)', () => {
  const { A } = FAKE_UUIDS;
  const pair = 'fake-mysql8';
  let stand: ReturnType<typeof fakeMysql8Pair>;
  let fake: FakeMysql8;
  let act: ReturnType<typeof fakeMysql8Pair>['act'];

  beforeEach(() => {
    stand = fakeMysql8Pair();
    ({ fake, act } = stand);
  });
  afterEach(() => stand.close());

  it('counts and lists, with GTID_SUBTRACT, the transactions the old primary committed that the new one never received', async () => {
    fake.get('db-b').replica!.io = 'No';
    fake.write('db-a', 3);
    const loss = await act('mysqlMeasureLoss', { pair, from: 'db-a', to: 'db-b' });
    expect(loss).toEqual({
      system: 'mysql',
      from: 'db-a',
      to: 'db-b',
      count: 3,
      gtids: `${A}:6-8`,
      sentence: `3 transaction(s) that db-a committed are not on db-b: ${A}:6-8.`,
    });
    expect(fake.get('db-a').statements).toContain(`SELECT GTID_SUBTRACT('${A}:1-8', '${A}:1-5') AS errant`);
    // A read: nothing was changed on either server.
    for (const server of ['db-a', 'db-b'])
      expect(fake.get(server).statements.filter((s) => !/^(SELECT|SHOW)\b/.test(s))).toEqual([]);
  });

  it('none once the new primary holds everything the old one committed', async () => {
    fake.write('db-a', 2);
    const loss = await act('mysqlMeasureLoss', { pair, from: 'db-a', to: 'db-b' });
    expect(loss).toEqual({
      system: 'mysql',
      from: 'db-a',
      to: 'db-b',
      count: 0,
      sentence: 'none: db-b holds every transaction db-a committed.',
    });
  });

  it('unknown, and why, when the old primary cannot be read; no secret in the sentence', async () => {
    fake.get('db-a').intercept = () => {
      throw Object.assign(
        new Error(`connect ECONNREFUSED 127.0.0.1:3301 (as dr_orchestrator/${FAKE_PASSWORDS.orchestrator})`),
        { code: 'ECONNREFUSED' },
      );
    };
    const loss = await act('mysqlMeasureLoss', { pair, from: 'db-a', to: 'db-b' });
    expect(loss.count).toBeUndefined();
    expect(loss.sentence).toBe(
      'unknown: db-a cannot be read (MysqlUnreachable: db-a: connect ECONNREFUSED 127.0.0.1:3301 (as dr_orchestrator/***) (ECONNREFUSED)), so what db-a committed that db-b lacks is not known.',
    );
  });

  it('unknown, and why, when the new primary cannot be read', async () => {
    fake.get('db-b').intercept = () => {
      throw Object.assign(new Error('Connection lost: The server closed the connection.'), {
        code: 'PROTOCOL_CONNECTION_LOST',
      });
    };
    const loss = await act('mysqlMeasureLoss', { pair, from: 'db-a', to: 'db-b' });
    expect(loss.count).toBeUndefined();
    expect(loss.sentence).toMatch(/^unknown: db-a and db-b cannot be compared \(MysqlUnreachable: db-b: /);
  });

  it('refuses bad input, naming the field, before reading anything', async () => {
    await expect(act('mysqlMeasureLoss', { pair, from: 'db-a', to: 'db-a' })).rejects.toMatchObject({
      type: 'InvalidInput',
      message: expect.stringContaining('to: must name another server than from (db-a)'),
    });
    await expect(
      act('mysqlMeasureLoss', { pair, from: 'db-a', to: 'db-b', too: 'db-c' } as never),
    ).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('too:') });
    await expect(act('mysqlMeasureLoss', { pair, from: 'db-z', to: 'db-b' })).rejects.toMatchObject({
      type: 'UnknownServer',
    });
    expect(fake.get('db-a').statements).toEqual([]);
  });
});

describe('MariaDB GTIDs as ranges', () => {
  it('joins consecutive sequence numbers of one domain and server', () => {
    expect(mariadbGtidRanges(['0-1-5', '0-1-6', '0-1-7', '0-2-8', '0-1-9', '1-1-10', '1-1-11'])).toEqual([
      '0-1-5 to 0-1-7',
      '0-2-8',
      '0-1-9',
      '1-1-10 to 1-1-11',
    ]);
    expect(mariadbGtidRanges([])).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import {
  GtidParseError,
  gtidsMissing,
  mariadbGtidsAhead,
  mysqlGtidsMissing,
  parseMariadbGtidPos,
  parseMysqlGtidSet,
  tryGtidsMissing,
} from '../common/gtid';

const A = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const B = '4f22ab58-82db-22f2-af44-d91bb0530673';

describe('GTID arithmetic', () => {
  it('counts MySQL transactions present in one set and not the other (GTID_SUBTRACT)', () => {
    expect(mysqlGtidsMissing(`${A}:1-10`, `${A}:1-10`)).toBe(0);
    expect(mysqlGtidsMissing(`${A}:1-10`, `${A}:1-7`)).toBe(3);
    expect(mysqlGtidsMissing(`${A}:1-10`, `${A}:1-3:6-8`)).toBe(4);
    expect(mysqlGtidsMissing(`${A}:1-5,${B}:1-2`, `${A}:1-5`)).toBe(2);
    expect(mysqlGtidsMissing(`${A}:1-5`, `${A}:1-5,${B}:1-2`)).toBe(0);
    expect(mysqlGtidsMissing(`${A}:7`, '')).toBe(1);
    expect(mysqlGtidsMissing(`${A.toUpperCase()}:1-3`, `${A}:1-3`)).toBe(0);
    expect(mysqlGtidsMissing(`${A}:1-5,\n${B}:9`, `${B}:1-10`)).toBe(5);
  });

  it('compares MariaDB positions per replication domain', () => {
    expect(mariadbGtidsAhead('0-1-10', '0-1-10')).toBe(0);
    expect(mariadbGtidsAhead('0-1-12', '0-1-10')).toBe(2);
    expect(mariadbGtidsAhead('0-1-10', '0-1-12')).toBe(0);
    expect(mariadbGtidsAhead('0-1-10,1-2-5', '0-1-10')).toBe(5);
    expect(mariadbGtidsAhead('0-2-11', '')).toBe(11);
    expect(gtidsMissing('mariadb', '0-1-4', '0-1-1')).toBe(3);
    expect(gtidsMissing('mysql', `${A}:1-4`, `${A}:1`)).toBe(3);
  });

  it('rejects malformed GTIDs', () => {
    expect(() => parseMariadbGtidPos('0-1')).toThrow(/invalid MariaDB GTID/);
    expect(() => mysqlGtidsMissing('nocolon', '')).toThrow(/invalid GTID set element/);
    expect(() => mysqlGtidsMissing(`${A}:x-3`, '')).toThrow(/invalid GTID range/);
  });
});

/**
 * MySQL 8.3+ tagged GTIDs (WL#15294; MySQL 8.4 manual, "GTID Format and Storage"): a GTID is `uuid:tag:number`,
 * and the server prints a set with one element per uuid, the untagged intervals first, then each tag followed
 * by its intervals, tags in lower case ("…:1-3:15-21:domain_2:8-52", MySQL bug #116789 shows the server's output).
 */
describe('MySQL tagged GTIDs (8.3+)', () => {
  it('parses a tagged set in both notations and keeps tags apart from the untagged intervals', () => {
    expect(mysqlGtidsMissing(`${A}:1-5:tag1:1-3`, `${A}:1-5`)).toBe(3);
    expect(mysqlGtidsMissing(`${A}:1-5:tag1:1-3`, `${A}:1-3`)).toBe(5);
    expect(mysqlGtidsMissing(`${A}:tag1:1-3,${A}:tag2:8-10`, `${A}:tag1:1-3`)).toBe(3);
    expect(mysqlGtidsMissing(`${A}:domain_1:1-3:15-21:domain_2:8-52`, `${A}:domain_1:1-3:15-21`)).toBe(45);
    // Tags are case-insensitive (the server stores them in lower case).
    expect(mysqlGtidsMissing(`${A}:TAG1:1-3`, `${A}:tag1:1-3`)).toBe(0);
    expect(mysqlGtidsMissing(`${A}:1-5:tag1:1-3:11,${B}:1`, `${A}:1-5:tag1:1-3,${B}:1`)).toBe(1);
    expect(parseMysqlGtidSet(`${A}:1-2:_t9:4`)).toEqual(
      new Map([
        [A, [[1, 2]]],
        [`${A}:_t9`, [[4, 4]]],
      ]),
    );
  });

  it('rejects what the server would not print, with a GtidParseError', () => {
    const bad = [
      `${A}:1tag:1`, // a tag starts with a letter or an underscore
      `${A}:${'t'.repeat(33)}:1`, // at most 32 characters
      `${A}:tag1`, // a tag without interval
      `${A}:tag1:tag2:1`,
      `${A}:`,
      `${A}:0`, // transaction numbers start at 1
      `${A}:5-3`,
      'not-a-uuid:1-3',
    ];
    for (const set of bad) expect(() => parseMysqlGtidSet(set), set).toThrow(GtidParseError);
  });

  it('tryGtidsMissing returns a reason instead of throwing, for workflow code', () => {
    expect(tryGtidsMissing('mysql', `${A}:1-4:t:1`, `${A}:1`)).toEqual({ count: 4 });
    expect(tryGtidsMissing('mariadb', '0-1-9', '0-1')).toEqual({
      error: 'invalid MariaDB GTID "0-1"',
    });
    expect(tryGtidsMissing('mysql', `${A}:x`, '')).toEqual({
      error: `GTID tag without transactions in "${A}:x"`,
    });
  });
});

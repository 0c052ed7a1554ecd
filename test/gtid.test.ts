import { describe, expect, it } from 'vitest';
import { gtidsMissing, mariadbGtidsAhead, mysqlGtidsMissing, parseMariadbGtidPos } from '../common/gtid';

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

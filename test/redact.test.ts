import { describe, expect, it } from 'vitest';
import { statusDetail } from '../activities/http-probe';
import { clientFailure } from '../activities/mysql/tool-errors';
import { scrubOutput, secretsIn, withoutQuotedValues } from '../common/redact';

describe('scrubbing what comes from outside the worker before it reaches history', () => {
  it('finds the values a command line gives to secret-looking names', () => {
    expect(
      secretsIn(
        'API_TOKEN=t0k-123 DB_PASS="p a s s" ./start --password=hunter22 --api-key k3y-abc ' +
          "curl -H 'Authorization: Bearer abc.def' https://svc:pw-9876@host/x NAME=plain",
      ).sort(),
    ).toEqual(['abc.def', 'hunter22', 'k3y-abc', 'p a s s', 'pw-9876', 't0k-123'].sort());
    // Too short to tell from an ordinary word, and already scrubbed: not secrets.
    expect(secretsIn('TOKEN=ab password=***')).toEqual([]);
  });

  it('scrubs given secrets, secret-looking assignments, control characters, and keeps the last bytes', () => {
    const out = scrubOutput(
      'started with t0k-123\npassword: s3cr3t-x\u001b[31m red\u0007\nurl postgres://u:pw-1@db/x done',
      ['t0k-123'],
      1000,
    );
    expect(out).toBe('started with ***\npassword: *** red\nurl postgres://u:***@db/x done');
    expect(scrubOutput('é'.repeat(100), [], 11)).toBe('é'.repeat(5));
  });

  it("keeps a server message's words before the first quote, never the values it quotes", () => {
    expect(withoutQuotedValues("Duplicate entry 'alice@example.com' for key 'PRIMARY'")).toBe(
      'Duplicate entry …',
    );
    expect(
      withoutQuotedValues(
        "Could not execute Write_rows_v1 event on table app.fb; Duplicate entry 'O'Brien' for key 'PRIMARY', Error_code: 1062",
      ),
    ).toBe('Could not execute Write_rows_v1 event on table app.fb; Duplicate entry …');
    expect(withoutQuotedValues('Lock wait timeout exceeded; try restarting transaction')).toBe(
      'Lock wait timeout exceeded; try restarting transaction',
    );
  });

  it("describes an HTTP answer by its status and the standard reason phrase, not the server's words", () => {
    expect(statusDetail(503)).toBe('503 Service Unavailable');
    expect(statusDetail(299)).toBe('299 non-standard status');
  });

  it('names a MariaDB client error by its number, never by its text', () => {
    expect(clientFailure("ERROR 1062 (23000) at line 12: Duplicate entry 'x' for key 'PRIMARY'")).toBe(
      'error 1062',
    );
    expect(
      clientFailure(
        "mariadb-dump: Got error: 2003: \"Can't connect to server on '10.0.0.1' (115)\" when trying to connect",
      ),
    ).toBe('error 2003: it could not connect to the server');
    expect(clientFailure("mariadb-dump: Couldn't execute 'FLUSH TABLES': Access denied (1227)")).toBe(
      'error 1227: the account lacks a privilege it needs',
    );
    expect(clientFailure('Segmentation fault')).toBeUndefined();
  });
});

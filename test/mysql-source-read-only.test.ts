import { describe, expect, it } from 'vitest';
import type { MysqlServerStatus } from '../activities/mysql/status';
import { evaluateMysqlReadiness, sourceReadOnlyCheckName } from '../workflows/checks/mysql-readiness';
import { fakeSettings } from './helpers/fake-pair';

const settings = fakeSettings(); // db-gra-1 10.0.0.1 (primary), db-rbx-1 10.0.0.2, db-rbx-2 10.0.0.3, all :3306

const server = (
  name: string,
  state: {
    readOnly: boolean;
    from?: string;
    reachable?: boolean;
    superReadOnly?: boolean;
    serverId?: string;
  },
): MysqlServerStatus => {
  const host = { 'db-gra-1': '10.0.0.1', 'db-rbx-1': '10.0.0.2', 'db-rbx-2': '10.0.0.3' }[state.from ?? ''];
  return state.reachable === false
    ? {
        server: name,
        site: name.slice(3, 6),
        reachable: false,
        error: { type: 'MysqlUnreachable', message: 'x' },
      }
    : {
        server: name,
        site: name.slice(3, 6),
        reachable: true,
        dialect: 'mariadb',
        version: '10.11.6-MariaDB',
        readOnly: state.readOnly,
        superReadOnly: state.superReadOnly ?? false,
        serverId: state.serverId,
        replication: state.from
          ? {
              ioRunning: 'Yes',
              sqlRunning: 'Yes',
              lagSeconds: 0,
              sourceHost: host ?? state.from,
              sourcePort: 3306,
              retrievedGtid: '',
              lastIoError: '',
              lastSqlError: '',
              ...(host ? {} : { sourceServerId: 2 }),
            }
          : undefined,
      };
};

const NAME = sourceReadOnlyCheckName('db-rbx-1');
const check = (statuses: MysqlServerStatus[]) =>
  evaluateMysqlReadiness(settings, statuses).filter((c) => c.name.endsWith('.source-read-only'));

/** A new primary restarted read-only by its own configuration, named with its repair; never repaired here. */
describe('readiness names the server the others replicate from when it is read-only and replicates from nobody', () => {
  it('says nothing of a writable source, nor of a read-only server that itself replicates', () => {
    expect(
      check([
        server('db-gra-1', { readOnly: false }),
        server('db-rbx-1', { readOnly: true, from: 'db-gra-1' }),
        server('db-rbx-2', { readOnly: true, from: 'db-rbx-1' }),
      ]),
    ).toEqual([]);
  });

  it('after a planned move and a restart: the new primary is read-only, the old one replicates from it', () => {
    const statuses = [
      server('db-gra-1', { readOnly: true, from: 'db-rbx-1' }),
      server('db-rbx-1', { readOnly: true }),
      server('db-rbx-2', { readOnly: true, from: 'db-rbx-1' }),
    ];
    expect(check(statuses)).toEqual([
      {
        name: NAME,
        ok: false,
        sentence:
          'db-rbx-1, which db-gra-1 and db-rbx-2 replicate from, is read-only and replicates from nobody (a primary ' +
          'restarted read-only by its own configuration?), so the application cannot write; check that no other ' +
          'server takes writes before making it writable, then run `SET GLOBAL read_only=OFF` on db-rbx-1 and set ' +
          'read_only=OFF in its configuration (not repaired automatically: two writable servers would split the data).',
      },
    ]);
    // It is the first failed check, so the verdict names it.
    expect(evaluateMysqlReadiness(settings, statuses).find((c) => !c.ok)?.name).toBe(NAME);
  });

  it('after an unplanned move: says the old primary is writable, or does not answer, and must be fenced first', () => {
    const rest = [
      server('db-rbx-1', { readOnly: true }),
      server('db-rbx-2', { readOnly: true, from: 'db-rbx-1' }),
    ];
    const [writable] = check([server('db-gra-1', { readOnly: false }), ...rest]);
    expect(writable?.sentence).toContain(
      'check that the old primary is fenced (db-gra-1 is WRITABLE: it must stay stopped or read-only, its ' +
        'configuration included) before making it writable',
    );
    const [gone] = check([server('db-gra-1', { readOnly: false, reachable: false }), ...rest]);
    expect(gone?.sentence).toContain('(db-gra-1 does not answer: it must stay stopped');
    const [fenced] = check([server('db-gra-1', { readOnly: true }), ...rest]);
    expect(fenced?.sentence).toContain('(db-gra-1 is read-only: it must stay');
  });

  it("counts MySQL's super_read_only, and finds a source by the server_id its replica saw when the address differs", () => {
    const [byId] = check([
      server('db-gra-1', { readOnly: false, reachable: false }),
      server('db-rbx-1', { readOnly: false, superReadOnly: true, serverId: '2' }),
      server('db-rbx-2', { readOnly: true, from: 'rbx-1.example.net' }),
    ]);
    expect(byId).toMatchObject({ name: NAME, ok: false });
    expect(byId?.sentence).toMatch(/^db-rbx-1, which db-rbx-2 replicates from, is read-only/);
  });
});

import { ApplicationFailure } from '@temporalio/common';
import { MARIADB_GRANTS, parseVersion, readOnlyBypassPrivileges } from './dialect';
import type { MysqlSession } from './session';

/**
 * Who can still write on a MariaDB server with read_only=ON. MariaDB lets the replication threads and every
 * account holding READ ONLY ADMIN (part of ALL PRIVILEGES; before 10.11 also SUPER) write, and 10.11 has no
 * super_read_only (MariaDB/server sql/privilege.h: PRIV_IGNORE_READ_ONLY = READ_ONLY_ADMIN_ACL; commit
 * 47dccace13, MDEV-29596). MySQL's super_read_only stops every client account, so there it is nobody.
 */
export interface ReadOnlyBypass {
  /** "'user'@'host'", with " (through role r)" when the privilege comes from a role; sorted. */
  accounts: string[];
  /** Their user names: a session shows its user name, not the host pattern of the account it matched. */
  users: Set<string>;
  /** Why the list may miss accounts, when it may. */
  incomplete?: string;
}

const account = (user: string, host: string) => `'${user}'@'${host}'`;
const userOf = (grantee: string) => /^'(.*)'@'.*'$/.exec(grantee)?.[1] ?? grantee;

export async function findReadOnlyBypass(session: MysqlSession): Promise<ReadOnlyBypass> {
  if (session.dialect === 'mysql') return { accounts: [], users: new Set() };
  const privileges = readOnlyBypassPrivileges(parseVersion(session.version));
  const direct = new Set(
    (await session.rows(MARIADB_GRANTS.globalPrivilegeHolders(privileges))).map((r) => String(r.grantee)),
  );
  const viaRole: string[] = [];
  let incomplete: string | undefined;
  try {
    const mapping = await session.rows(MARIADB_GRANTS.rolesMapping);
    const privilegedRoles = new Set<string>();
    for (const role of new Set(mapping.map((r) => String(r.role)))) {
      const lines = (await session.rows(MARIADB_GRANTS.grantsFor(role))).map((r) =>
        String(Object.values(r)[0]),
      );
      if (lines.some((line) => grantsGlobally(line, privileges))) privilegedRoles.add(role);
    }
    for (const row of mapping) {
      const [user, host, role] = [String(row.user), String(row.host), String(row.role)];
      // Roles are stored with an empty host; an account has one.
      if (host === '' || !privilegedRoles.has(role) || direct.has(account(user, host))) continue;
      viaRole.push(`${account(user, host)} (through role ${role})`);
    }
  } catch (err) {
    const type = err instanceof ApplicationFailure ? err.type : undefined;
    if (type === 'MysqlUnreachable' || type === 'MysqlTimeout') throw err;
    incomplete =
      `the orchestrator's account cannot read the role grants (${(err as Error).message}), so accounts ` +
      'holding READ ONLY ADMIN through a role may be missing';
  }
  const accounts = [...new Set([...direct, ...viaRole])].sort();
  const users = new Set([...direct].map(userOf));
  for (const entry of viaRole) users.add(userOf(entry.replace(/ \(through role .*\)$/, '')));
  return { accounts, users, incomplete };
}

/** Whether a SHOW GRANTS line gives one of `privileges` on *.* (ALL PRIVILEGES includes them). */
export function grantsGlobally(line: string, privileges: readonly string[]): boolean {
  const granted = /^GRANT (.+?) ON \*\.\* TO /.exec(line)?.[1];
  if (!granted) return false;
  return granted.split(', ').some((p) => p === 'ALL PRIVILEGES' || privileges.includes(p.toUpperCase()));
}

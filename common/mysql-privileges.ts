/**
 * The privileges each account of the runbook's mysql section needs, from the statements the activities run: the
 * one list `drctl doctor` checks servers against and docs/production.md's GRANT statements come from (a test
 * compares them). Names as each dialect's GRANT spells them (MySQL "Privileges Provided by MySQL"; MariaDB
 * "GRANT", global privileges as split from SUPER in 10.5.2).
 */
import { parseVersion } from './mysql-requirements';
import type { Dialect } from './mysql-status';

export type MysqlAccount = 'orchestrator' | 'replication';

export interface RequiredPrivilege {
  privilege: string;
  /** Where it is granted: `*.*` unless set. */
  on?: string;
  /** Privileges that give the same right, with the version from which one no longer does. */
  alternatives?: { privilege: string; until?: [number, number, number] }[];
  /** The activities, and the statements of theirs, that need it. */
  neededBy: string;
}

const MYSQL_ORCHESTRATOR: RequiredPrivilege[] = [
  { privilege: 'REPLICATION CLIENT', neededBy: 'every status read: SHOW REPLICA STATUS' },
  { privilege: 'RELOAD', neededBy: 'promote: RESET REPLICA ALL' },
  { privilege: 'PROCESS', neededBy: "fence: the process list (every account's sessions)" },
  {
    privilege: 'SYSTEM_VARIABLES_ADMIN',
    alternatives: [{ privilege: 'SUPER' }],
    neededBy:
      'fence, promote, unfence and salvage: SET GLOBAL super_read_only / read_only; promote and repoint: SET GLOBAL rpl_semi_sync_*',
  },
  {
    privilege: 'REPLICATION_SLAVE_ADMIN',
    alternatives: [{ privilege: 'SUPER' }],
    neededBy: 'promote, repoint and catch-up: STOP/START REPLICA, CHANGE REPLICATION SOURCE TO',
  },
  {
    privilege: 'CONNECTION_ADMIN',
    alternatives: [{ privilege: 'SUPER' }],
    neededBy: "fence: KILL CONNECTION of other accounts' sessions",
  },
  {
    privilege: 'BINLOG_ADMIN',
    alternatives: [{ privilege: 'SUPER' }],
    neededBy: "salvage: the BINLOG statements of mysqlbinlog's output",
  },
  {
    privilege: 'SELECT',
    on: 'mysql.*',
    neededBy: "drctl doctor: the replication account's grants (mysql.user)",
  },
];

const MARIADB_ORCHESTRATOR: RequiredPrivilege[] = [
  { privilege: 'SLAVE MONITOR', neededBy: 'every status read: SHOW SLAVE STATUS' },
  {
    privilege: 'BINLOG MONITOR',
    neededBy:
      'errant-transaction listing: SHOW BINARY LOGS, SHOW BINLOG EVENTS; rebuild: the source position',
  },
  {
    privilege: 'READ_ONLY ADMIN',
    // MDEV-29596: SUPER stopped implying READ ONLY ADMIN in 10.11.
    alternatives: [{ privilege: 'SUPER', until: [10, 11, 0] }],
    neededBy: 'fence, promote, unfence and repoint: SET GLOBAL read_only',
  },
  {
    privilege: 'REPLICATION SLAVE ADMIN',
    neededBy:
      'promote, repoint, catch-up, salvage and rebuild: STOP/START SLAVE, CHANGE MASTER TO, RESET SLAVE ALL, SET GLOBAL gtid_slave_pos, rpl_semi_sync_slave_enabled',
  },
  {
    privilege: 'REPLICATION MASTER ADMIN',
    neededBy: 'promote of a semi-synchronous pair: SET GLOBAL rpl_semi_sync_master_enabled',
  },
  { privilege: 'RELOAD', neededBy: 'promote: RESET SLAVE ALL; rebuild: the dump of the source' },
  { privilege: 'PROCESS', neededBy: "fence: the process list (every account's sessions)" },
  { privilege: 'CONNECTION ADMIN', neededBy: "fence: KILL CONNECTION of other accounts' sessions" },
  { privilege: 'BINLOG REPLAY', neededBy: "salvage: the BINLOG statements of mariadb-binlog's output" },
  {
    privilege: 'BINLOG ADMIN',
    neededBy: "rebuild: the load's SET SESSION sql_log_bin=0, and the mark written without binlog",
  },
  {
    privilege: 'SELECT',
    neededBy:
      'readiness: who may write despite read_only (mysql.roles_mapping); rebuild: the dump; drctl doctor: the replication account (mysql.user)',
  },
  ...['SHOW VIEW', 'TRIGGER', 'EVENT', 'LOCK TABLES'].map((privilege) => ({
    privilege,
    neededBy: 'rebuild: mariadb-dump of the source (views, triggers, events)',
  })),
  ...[
    'CREATE',
    'DROP',
    'ALTER',
    'INDEX',
    'INSERT',
    'UPDATE',
    'DELETE',
    'CREATE VIEW',
    'CREATE ROUTINE',
    'ALTER ROUTINE',
    'REFERENCES',
  ].map((privilege) => ({
    privilege,
    neededBy: 'rebuild: loading the dump; salvage: the statements of the dead primary it replays',
  })),
  {
    privilege: 'ALL PRIVILEGES',
    on: 'dr_orchestrator.*',
    neededBy: 'rebuild: its mark (dr_orchestrator schema)',
  },
];

export const REQUIRED_PRIVILEGES: Record<Dialect, Record<MysqlAccount, RequiredPrivilege[]>> = {
  mysql: {
    orchestrator: MYSQL_ORCHESTRATOR,
    replication: [
      { privilege: 'REPLICATION SLAVE', neededBy: 'replicas: reading the binlog of their source' },
    ],
  },
  mariadb: {
    orchestrator: MARIADB_ORCHESTRATOR,
    replication: [
      { privilege: 'REPLICATION SLAVE', neededBy: 'replicas: reading the binlog of their source' },
    ],
  },
};

/** The GRANT statements that give `account` what it needs, one per level (`*.*` first). */
export function grantStatements(dialect: Dialect, account: MysqlAccount, grantee: string): string[] {
  const byLevel = new Map<string, string[]>();
  for (const p of REQUIRED_PRIVILEGES[dialect][account]) {
    const level = p.on ?? '*.*';
    byLevel.set(level, [...(byLevel.get(level) ?? []), p.privilege]);
  }
  return [...byLevel].map(
    ([level, privileges]) => `GRANT ${privileges.join(', ')} ON ${level} TO ${grantee};`,
  );
}

/** "READ_ONLY ADMIN", "read only admin", "REPLICA MONITOR" → one spelling per privilege, for comparison. */
function normalised(privilege: string): string {
  const name = privilege.replace(/_/g, ' ').replace(/\s+/g, ' ').trim().toUpperCase();
  const aliases: Record<string, string> = {
    'REPLICA MONITOR': 'SLAVE MONITOR',
    'REPLICATION REPLICA': 'REPLICATION SLAVE',
    'REPLICATION REPLICA ADMIN': 'REPLICATION SLAVE ADMIN',
    ALL: 'ALL PRIVILEGES',
  };
  return aliases[name] ?? name;
}

/** Privileges per level ("*.*", "mysql.*") from SHOW GRANTS lines; role grants and column grants are skipped. */
export function parseGrants(lines: readonly string[]): Map<string, Set<string>> {
  const levels = new Map<string, Set<string>>();
  for (const line of lines) {
    const m = /^GRANT (.+?) ON (?:TABLE |FUNCTION |PROCEDURE )?(\S+) TO /i.exec(line.trim());
    if (!m) continue;
    const level = (m[2] as string).replace(/`/g, '').toLowerCase();
    const privileges = levels.get(level) ?? new Set<string>();
    for (const p of (m[1] as string).split(',')) if (!p.includes('(')) privileges.add(normalised(p));
    levels.set(level, privileges);
  }
  return levels;
}

/** The required privileges that `grants` (SHOW GRANTS lines of the account) lack on a server of `version`. */
export function missingPrivileges(
  dialect: Dialect,
  account: MysqlAccount,
  version: string,
  grants: readonly string[],
): RequiredPrivilege[] {
  const levels = parseGrants(grants);
  const held = (privilege: string, level: string) => {
    const scopes = level === '*.*' ? ['*.*'] : ['*.*', level.toLowerCase()];
    return scopes.some((scope) => {
      const set = levels.get(scope);
      return !!set && (set.has(normalised(privilege)) || set.has('ALL PRIVILEGES'));
    });
  };
  const [major, minor, patch] = parseVersion(version);
  const before = (until?: [number, number, number]) =>
    !until || major * 1e6 + minor * 1e3 + patch < until[0] * 1e6 + until[1] * 1e3 + until[2];
  return REQUIRED_PRIVILEGES[dialect][account].filter((required) => {
    const level = required.on ?? '*.*';
    if (held(required.privilege, level)) return false;
    return !(required.alternatives ?? []).some((alt) => before(alt.until) && held(alt.privilege, level));
  });
}

/** The sentence naming what an account lacks, or undefined when it has everything. */
export function missingPrivilegesSentence(
  server: string,
  user: string,
  missing: readonly RequiredPrivilege[],
): string | undefined {
  if (missing.length === 0) return undefined;
  const each = missing.map((p) => `${p.privilege} on ${p.on ?? '*.*'} (${p.neededBy})`);
  return `${user} on ${server} lacks ${each.join('; ')}.`;
}

/** Who the production guide grants to: placeholders an operator replaces. */
export const DOC_GRANTEES: Record<MysqlAccount, string> = {
  orchestrator: "'dr_orchestrator'@'<worker addresses>'",
  replication: "'dr_repl'@'<database hosts>'",
};

/** The production guide's text for one dialect: the GRANT statements, then what needs each privilege. */
export function privilegesMarkdown(dialect: Dialect): string {
  const statements = (['orchestrator', 'replication'] as const).flatMap((account) =>
    grantStatements(dialect, account, DOC_GRANTEES[account]),
  );
  const bullets = (['orchestrator', 'replication'] as const).flatMap((account) =>
    REQUIRED_PRIVILEGES[dialect][account].map((p) => {
      const alternatives = (p.alternatives ?? []).map(
        (alt) => ` (or \`${alt.privilege}\`${alt.until ? ` before ${alt.until.slice(0, 2).join('.')}` : ''})`,
      );
      return `- ${account}: \`${p.privilege}\` on \`${p.on ?? '*.*'}\`${alternatives.join('')}: ${p.neededBy}.`;
    }),
  );
  return ['```sql', ...statements, '```', '', ...bullets].join('\n');
}

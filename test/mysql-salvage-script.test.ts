import { describe, expect, it } from 'vitest';
import { parseBinlogScript } from '../activities/mysql/binlog-script';
import { binlogReadCommand, SALVAGE_SQL } from '../activities/mysql/dialect';

/** The shape of `mariadb-binlog --start-position=0-1-28` output (MariaDB 10.11), cut down to one transaction. */
const MARIADB_OUTPUT = `/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;
/*!40019 SET @@session.max_delayed_threads=0*/;
/*!50003 SET @OLD_COMPLETION_TYPE=@@COMPLETION_TYPE,COMPLETION_TYPE=0*/;
DELIMITER /*!*/;
# at 4
#261130 13:03:55 server id 1  end_log_pos 256 CRC32 0x28695dbe 	Start: binlog v 4, server v 10.11.19-MariaDB-0+deb12u1-log created 261130 13:03:55 at startup
# Warning: this binlog is either in use or was not closed properly.
ROLLBACK/*!*/;
BINLOG '
O3QNaw8BAAAA/AAAAAABAAABAAQAMTAuMTEuMTktTWFyaWFEQi0wK2RlYjEydTEtbG9nAAAAAAAA
AAAAAAAAAAAEEwQADQgICAoKCgG+XWko
'/*!*/;
# at 5135
#261130 14:23:00 server id 1  end_log_pos 5177 CRC32 0xecee613e 	GTID 0-1-29 trans
/*M!100101 SET @@session.skip_parallel_replication=0*//*!*/;
/*M!100001 SET @@session.gtid_domain_id=0*//*!*/;
/*M!100001 SET @@session.server_id=1*//*!*/;
/*M!100001 SET @@session.gtid_seq_no=29*//*!*/;
START TRANSACTION
/*!*/;
# at 5177
#261130 14:23:00 server id 1  end_log_pos 5322 CRC32 0x45d2acac 	Annotate_rows:
#Q> INSERT INTO orders (item) VALUES ('GTID 9-9-9 /*!*/;')
#261130 14:23:00 server id 1  end_log_pos 5382 CRC32 0x1a53bd1c 	Table_map: \`app\`.\`orders\` mapped to number 22

BINLOG '
xIYNaxMBAAAAPAAAAAYVAAAAABYAAAAAAAEAA2FwcAAGb3JkZXJzAAYIDwMPDxEHyABAACAABggc
vVMa
'/*!*/;
# Number of rows: 1
# at 5482
#261130 14:23:00 server id 1  end_log_pos 5513 CRC32 0x5699f519 	Xid = 13111
COMMIT/*!*/;
# at 5513
#261130 14:23:01 server id 1  end_log_pos 5555 CRC32 0x0 	GTID 0-1-30 ddl
/*M!100001 SET @@session.gtid_seq_no=30*//*!*/;
use \`app\`/*!*/;
CREATE TABLE t (id INT)
/*!*/;
DELIMITER ;
# End of log file
ROLLBACK /* added by mysqlbinlog */;
/*!50003 SET COMPLETION_TYPE=@OLD_COMPLETION_TYPE*/;
/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=0*/;
`;

/** The shape of MySQL 8.0 `mysqlbinlog --exclude-gtids=…` output, cut down to one transaction. */
const MYSQL_OUTPUT = `# The proper term is pseudo_replica_mode, but we use this compatibility alias
# to make the statement usable on server versions 8.0.24 and older.
/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;
/*!50003 SET @OLD_COMPLETION_TYPE=@@COMPLETION_TYPE,COMPLETION_TYPE=0*/;
DELIMITER /*!*/;
# at 4
#240101 10:00:00 server id 1  end_log_pos 126 CRC32 0x1 	Start: binlog v 4, server v 8.0.36 created 240101 10:00:00
BINLOG '
AAAA
'/*!*/;
# at 157
#240101 10:00:01 server id 1  end_log_pos 236 CRC32 0x2 	GTID	last_committed=0	sequence_number=1	rbr_only=yes	original_committed_timestamp=1	immediate_commit_timestamp=1	transaction_length=300
/*!50718 SET TRANSACTION ISOLATION LEVEL READ COMMITTED*//*!*/;
SET @@SESSION.GTID_NEXT= '3e11fa47-71ca-11e1-9e33-c80aa9429562:23'/*!*/;
# at 236
BEGIN
/*!*/;
BINLOG '
BBBB
'/*!*/;
COMMIT/*!*/;
SET @@SESSION.GTID_NEXT= 'AUTOMATIC' /* added by mysqlbinlog */ /*!*/;
DELIMITER ;
# End of log file
/*!50003 SET COMPLETION_TYPE=@OLD_COMPLETION_TYPE*/;
/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=0*/;
`;

describe('binlog tool output as statements (salvage)', () => {
  it('MariaDB: splits on the current delimiter, skips comment lines, keeps multi-line BINLOG statements', () => {
    const script = parseBinlogScript(MARIADB_OUTPUT, 'mariadb');
    expect(script.statements[0]).toBe('/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/');
    expect(script.statements).toContain('START TRANSACTION\n');
    expect(script.statements).toContain(
      "BINLOG '\nxIYNaxMBAAAAPAAAAAYVAAAAABYAAAAAAAEAA2FwcAAGb3JkZXJzAAYIDwMPDxEHyABAACAABggc\nvVMa\n'",
    );
    expect(script.statements).toContain('COMMIT');
    expect(script.statements).toContain('CREATE TABLE t (id INT)\n');
    expect(script.statements.at(-3)).toBe('ROLLBACK /* added by mysqlbinlog */');
    expect(script.statements.some((s) => s.includes('#'))).toBe(false);
    expect(script.statements.some((s) => s.startsWith('DELIMITER'))).toBe(false);
  });

  it('MariaDB: the GTIDs are those the statements set (domain, server_id, seq_no), not the comments', () => {
    expect(parseBinlogScript(MARIADB_OUTPUT, 'mariadb').gtids).toEqual(['0-1-29', '0-1-30']);
  });

  it('MySQL 8: the GTIDs are those of SET GTID_NEXT, AUTOMATIC excepted', () => {
    const script = parseBinlogScript(MYSQL_OUTPUT, 'mysql');
    expect(script.gtids).toEqual(['3e11fa47-71ca-11e1-9e33-c80aa9429562:23']);
    expect(script.statements).toContain("SET @@SESSION.GTID_NEXT= '3e11fa47-71ca-11e1-9e33-c80aa9429562:23'");
    expect(script.statements).toContain('BEGIN\n');
  });

  it('an output cut in the middle of a statement leaves that statement out', () => {
    const cut = MARIADB_OUTPUT.slice(0, MARIADB_OUTPUT.indexOf('vVMa'));
    const script = parseBinlogScript(cut, 'mariadb');
    expect(script.statements.at(-1)).toBe('START TRANSACTION\n');
    expect(script.incompleteTail).toBe(true);
  });
});

describe('salvage commands (generated)', () => {
  it('MariaDB: mariadb-binlog from the candidate position (exclusive), over every file of the index', () => {
    expect(binlogReadCommand('mariadb', '/var/lib/mysql/mariadb-bin.index', '0-1-28,1-2-5')).toBe(
      `index="/var/lib/mysql/mariadb-bin.index" && cd "$(dirname "$index")" && exec mariadb-binlog --start-position='0-1-28,1-2-5' $(cat "$index")`,
    );
  });

  it('MySQL 8: mysqlbinlog without the GTIDs the candidate has executed', () => {
    expect(
      binlogReadCommand('mysql', '/var/lib/mysql/binlog.index', '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-22'),
    ).toBe(
      `index="/var/lib/mysql/binlog.index" && cd "$(dirname "$index")" && exec mysqlbinlog --exclude-gtids='3e11fa47-71ca-11e1-9e33-c80aa9429562:1-22' $(cat "$index")`,
    );
  });

  it('MySQL 8: takes a set of several sources as the server prints it (",\\n" between them), on one line', () => {
    const set = '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-22,\n4f22ab58-82db-22f2-af44-d91bb0530673:1-3:7';
    expect(binlogReadCommand('mysql', '/var/lib/mysql/binlog.index', set)).toContain(
      "--exclude-gtids='3e11fa47-71ca-11e1-9e33-c80aa9429562:1-22,4f22ab58-82db-22f2-af44-d91bb0530673:1-3:7'",
    );
  });

  it('refuses a position that is not a GTID list (it goes into a shell command)', () => {
    expect(() => binlogReadCommand('mariadb', '/x.index', "0-1-1'; rm -rf /")).toThrow(/not a GTID/);
    expect(() => binlogReadCommand('mysql', '/x.index', 'abc:1$(id)')).toThrow(/not a GTID/);
  });

  it('applies under a named lock; MariaDB records the salvaged GTIDs as applied, MySQL lifts super_read_only only', () => {
    expect(SALVAGE_SQL.mariadb.lock).toEqual({
      sql: 'SELECT GET_LOCK(?, ?) AS locked',
      values: ['dr-orchestrator-salvage', 10],
    });
    expect(SALVAGE_SQL.mariadb.beforeApply).toEqual([]);
    expect(SALVAGE_SQL.mariadb.recordApplied('0-1-130')).toEqual({
      sql: 'SET GLOBAL gtid_slave_pos = ?',
      values: ['0-1-130'],
    });
    expect(SALVAGE_SQL.mysql.beforeApply).toEqual(['SET GLOBAL super_read_only=OFF']);
    expect(SALVAGE_SQL.mysql.afterApply).toEqual(['SET GLOBAL super_read_only=ON']);
    expect(SALVAGE_SQL.mysql.recordApplied('x')).toBeUndefined();
  });
});

#!/bin/bash
# One-shot: the accounts on the primary (replicated to the replica with their GTIDs) and GTID replication of the
# replica from the primary. Idempotent: IF NOT EXISTS, and the replica is repointed only when not yet replicating.
set -euo pipefail
export MYSQL_PWD="$MYSQL_ROOT_PASSWORD"
sql() { mysql -h "$1" -u root --batch --skip-column-names -e "$2"; }
quote() { printf "'%s'" "${1//\'/\'\'}"; }

sql "$PRIMARY" "
  CREATE USER IF NOT EXISTS '$ORCHESTRATOR_USER'@'%' IDENTIFIED BY $(quote "$MYSQL_ORCHESTRATOR_PASSWORD');
  GRANT RELOAD, PROCESS, REPLICATION CLIENT ON *.* TO '$ORCHESTRATOR_USER'@'%';
  GRANT SYSTEM_VARIABLES_ADMIN, REPLICATION_SLAVE_ADMIN, CONNECTION_ADMIN ON *.* TO '$ORCHESTRATOR_USER'@'%';
  CREATE USER IF NOT EXISTS '$REPLICATION_USER'@'%' IDENTIFIED BY $(quote "$MYSQL_REPLICATION_PASSWORD');
  GRANT REPLICATION SLAVE ON *.* TO '$REPLICATION_USER'@'%';
  CREATE DATABASE IF NOT EXISTS app;
  CREATE USER IF NOT EXISTS '$APP_USER'@'%' IDENTIFIED WITH mysql_native_password BY $(quote "$MYSQL_APP_PASSWORD');
  GRANT ALL PRIVILEGES ON app.* TO '$APP_USER'@'%';"

if [ -z "$(sql "$REPLICA" "SELECT 1 FROM performance_schema.replication_connection_configuration LIMIT 1")" ]; then
  sql "$REPLICA" "
    CHANGE REPLICATION SOURCE TO SOURCE_HOST='$PRIMARY', SOURCE_PORT=3306, SOURCE_USER='$REPLICATION_USER',
      SOURCE_PASSWORD=$(quote "$MYSQL_REPLICATION_PASSWORD"), SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1;
    START REPLICA;"
fi
sql "$REPLICA" "SHOW REPLICA STATUS\G" | grep -E 'Replica_(IO|SQL)_Running:'

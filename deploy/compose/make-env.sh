#!/bin/sh
# Prints a .env for docker-compose.yml with a fresh random password for each account:
#   deploy/compose/make-env.sh > .env && chmod 600 .env
set -eu
pw() { od -An -N18 -tx1 /dev/urandom | tr -d ' \n'; }
for name in MYSQL_ROOT_PASSWORD MYSQL_ORCHESTRATOR_PASSWORD MYSQL_REPLICATION_PASSWORD MYSQL_APP_PASSWORD TEMPORAL_DB_PASSWORD; do
  echo "$name=$(pw)"
done

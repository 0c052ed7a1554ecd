#!/bin/sh
# Writes the .env of docker-compose.yml, with a fresh random password for each account, readable by you only: it is
# created with mode 600 (as `chmod 600 .env` would leave it). It never replaces an existing file: the databases keep
# the passwords they were created with (to start over: `docker compose down -v`, remove .env, run this again).
#   deploy/compose/make-env.sh         writes .env beside docker-compose.yml
#   deploy/compose/make-env.sh FILE    writes FILE
set -eu
env_file=${1:-$(cd "$(dirname "$0")/../.." && pwd)/.env}
if [ -s "$env_file" ]; then
  echo "make-env.sh: $env_file exists and is kept (it holds the passwords the databases were created with)" >&2
  exit 1
elif [ -e "$env_file" ]; then
  echo "make-env.sh: $env_file exists, empty: remove it and run make-env.sh alone (it writes the file itself, not with > .env)" >&2
  exit 1
fi
pw() { od -An -N18 -tx1 /dev/urandom | tr -d ' \n'; }
content=$(
  for name in MYSQL_ROOT_PASSWORD MYSQL_ORCHESTRATOR_PASSWORD MYSQL_REPLICATION_PASSWORD MYSQL_APP_PASSWORD TEMPORAL_DB_PASSWORD DR_ALERT_TOKEN; do
    echo "$name=$(pw)"
  done
  echo "# The host address the Temporal UI, HAProxy's frontend and Alertmanager are published on (default 127.0.0.1):"
  echo "# DR_PUBLISH_ADDRESS=127.0.0.1"
)
umask 077
set -C # no clobbering: another make-env.sh may have written the file meanwhile
printf '%s\n' "$content" >"$env_file"
chmod 600 "$env_file"
echo "make-env.sh: wrote $env_file (mode 600)" >&2

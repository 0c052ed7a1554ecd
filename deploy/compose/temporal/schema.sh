#!/bin/sh
# One-shot: creates (or upgrades) Temporal's two PostgreSQL databases with the schema shipped in the admin-tools
# image. Safe to run again: existing databases are kept and only the missing schema versions are applied.
set -eu
tool() { temporal-sql-tool --plugin postgres12 --ep temporal-postgresql -p 5432 -u temporal "$@"; }
for db in temporal temporal_visibility; do
  case "$db" in temporal) dir=temporal ;; *) dir=visibility ;; esac
  tool --db "$db" create || true
  tool --db "$db" setup-schema -v 0.0 || true
  tool --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/$dir/versioned"
done

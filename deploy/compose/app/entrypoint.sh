#!/bin/bash
# Prepares the app's settings for appctl (the password in a file, never on a command line), lets the worker's
# client key in, starts the app, then runs sshd in the foreground with this host's key. The keys come from the
# ssh-keys service (deploy/compose/ssh/make-keys.sh): this host's private key alone in /ssh/host, the public keys in
# /ssh/public, both mounted read-only.
set -euo pipefail
dir="/.stack/perl-app/$DR_APP_SITE"
mkdir -p "$dir" /.stack/secrets /root/.ssh
umask 077
printf '%s' "$MYSQL_APP_PASSWORD" > /.stack/secrets/mysql-app.password
unset MYSQL_APP_PASSWORD
{
  for key in SITE LISTEN DB_HOST DB_PORT DB_NAME DB_USER; do
    var="DR_APP_$key"
    printf '%s=%s\n' "$var" "${!var}"
  done
  echo "DR_APP_DB_PASSWORD_FILE=/.stack/secrets/mysql-app.password"
} > "$dir/app.env"
cp /ssh/public/worker_ed25519.pub /root/.ssh/authorized_keys
/opt/perl-app/appctl start "$DR_APP_SITE"
exec /usr/sbin/sshd -D -e -h /ssh/host/ssh_host_ed25519_key -o PermitRootLogin=prohibit-password \
  -o PasswordAuthentication=no

#!/bin/bash
# Prepares the app's settings for appctl (the password in a file, never on a command line), the SSH keys in the
# shared ssh volume (this host's key under /ssh/<host>/, the orchestrator's client key once, owned by the worker's
# user), starts the app, then runs sshd in the foreground.
set -euo pipefail
host="app-$DR_APP_SITE"
dir="/.stack/perl-app/$DR_APP_SITE"
mkdir -p "$dir" /.stack/secrets /ssh/"$host" /root/.ssh
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
[ -f /ssh/"$host"/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /ssh/"$host"/ssh_host_ed25519_key
flock /ssh/.lock bash -c '[ -f /ssh/client_ed25519 ] || ssh-keygen -q -t ed25519 -N "" -C dr-orchestrator -f /ssh/client_ed25519'
chown 1000:1000 /ssh/client_ed25519
cp /ssh/client_ed25519.pub /root/.ssh/authorized_keys
/opt/perl-app/appctl start "$DR_APP_SITE"
exec /usr/sbin/sshd -D -e -h /ssh/"$host"/ssh_host_ed25519_key -o PermitRootLogin=prohibit-password \
  -o PasswordAuthentication=no

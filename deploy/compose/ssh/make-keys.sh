#!/bin/bash
# The deployment's SSH keys, made once by the one-shot ssh-keys service before the apps and the worker start: the
# worker's client key and each app host's host key, each private key alone in the volume of the one container that
# uses it (mounted read-only there), and every public key in the public volume (the apps' authorized_keys, the
# worker's pinned host keys). A key that exists is kept, so a restart does not change them; removing the volumes
# (`docker compose down -v`) makes new ones. Nothing is written in the checkout.
#   KEYS_DIR    where the volumes are mounted: $KEYS_DIR/worker, $KEYS_DIR/<host>, $KEYS_DIR/public (default /keys)
#   APP_HOSTS   the app hosts, separated by spaces (the runbook's apps.hosts[].ssh.host)
#   WORKER_UID  the worker container's user: its private key is that user's, mode 600, as resolveSecret requires
set -euo pipefail
keys=${KEYS_DIR:-/keys}
: "${APP_HOSTS:?APP_HOSTS (the app hosts) is not set}" "${WORKER_UID:?WORKER_UID (the worker user) is not set}"
umask 077

# keypair FILE COMMENT: an ed25519 pair at FILE and FILE.pub, made unless FILE exists.
keypair() {
  [ -f "$1" ] || ssh-keygen -q -t ed25519 -N '' -C "$2" -f "$1"
  chmod 600 "$1"
  [ -f "$1.pub" ] || ssh-keygen -y -f "$1" >"$1.pub"
}
# publish FILE.pub NAME: the public half, readable by all, in the public volume.
publish() {
  install -m 644 "$1" "$keys/public/$2"
}

mkdir -p "$keys/worker" "$keys/public"
chmod 755 "$keys/public"
keypair "$keys/worker/id_ed25519" dr-orchestrator-worker
chown "$WORKER_UID" "$keys/worker/id_ed25519"
publish "$keys/worker/id_ed25519.pub" worker_ed25519.pub
for host in $APP_HOSTS; do
  mkdir -p "$keys/$host"
  keypair "$keys/$host/ssh_host_ed25519_key" "$host"
  publish "$keys/$host/ssh_host_ed25519_key.pub" "${host}_ssh_host_ed25519_key.pub"
done
echo "ssh-keys: worker client key $(ssh-keygen -l -f "$keys/worker/id_ed25519.pub" | cut -d' ' -f2)"
for host in $APP_HOSTS; do
  echo "ssh-keys: $host host key $(ssh-keygen -l -f "$keys/$host/ssh_host_ed25519_key.pub" | cut -d' ' -f2)"
done

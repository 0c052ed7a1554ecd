#!/bin/sh
# One-shot: each cluster knows the other under its site's name (cluster.remote.<site>, sniff mode on the transport
# port), the leader indices exist on gra, rbx follows them, and rbx auto-follows gra's new logs-* indices.
# Idempotent: settings are PUT again, an existing index or follower is left as it is.
set -eu
put() { curl -fsS -X PUT -H 'Content-Type: application/json' "$1" -d "$2"; echo; }
put "$RBX_URL/_cluster/settings" "{\"persistent\":{\"cluster.remote.gra.seeds\":[\"$GRA_TRANSPORT\"]}}"
put "$GRA_URL/_cluster/settings" "{\"persistent\":{\"cluster.remote.rbx.seeds\":[\"$RBX_TRANSPORT\"]}}"
for index in $FOLLOWER_INDICES; do
  curl -fs "$GRA_URL/$index" > /dev/null || put "$GRA_URL/$index" '{}'
  curl -fs "$RBX_URL/$index" > /dev/null ||
    put "$RBX_URL/$index/_ccr/follow?wait_for_active_shards=1" "{\"remote_cluster\":\"gra\",\"leader_index\":\"$index\"}"
done
put "$RBX_URL/_ccr/auto_follow/$AUTO_FOLLOW_PATTERN" \
  '{"remote_cluster":"gra","leader_index_patterns":["logs-*"],"follow_index_pattern":"{{leader_index}}"}'

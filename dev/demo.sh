#!/usr/bin/env bash
# The main job on the local stack (`npm run demo`): install what is missing, bring the stack up,
# run the readiness check of the local DR pair through Temporal, print the report and the UI link.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/ensure-deps.sh
bin/drctl stack up
echo
bin/drctl readiness local

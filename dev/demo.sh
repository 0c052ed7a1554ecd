#!/usr/bin/env bash
# The main job on the local stack (`npm run demo`, `npm run demo -- --auto-approve` for an unattended run): install
# what is missing, bring the stack up, then tell the story (dev/demo/main.ts): a readiness drill, the primary site
# broken, the alert starting the failover, the approval, the failback, the reports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/ensure-deps.sh
bin/drctl stack up
exec node --import "file://$PWD/node_modules/tsx/dist/loader.mjs" dev/demo/main.ts "$@"

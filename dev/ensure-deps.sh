#!/usr/bin/env bash
# Installs what the project needs and is missing: npm packages, the Temporal CLI, Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules/@temporalio/worker ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi
node node_modules/tsx/dist/cli.mjs dev/install-tools.ts

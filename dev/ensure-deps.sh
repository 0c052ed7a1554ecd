#!/usr/bin/env bash
# Installs what the project needs and is missing: npm packages, the Temporal CLI, Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules/@temporalio/worker ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm packages (npm ci)"
  # --prefer-offline: packages already in npm's cache are taken from it without asking the registry whether they
  # changed (the lockfile pins each one by its integrity hash); missing ones are downloaded as usual.
  npm ci --no-audit --no-fund --prefer-offline
fi
node node_modules/tsx/dist/cli.mjs dev/install-tools.ts

#!/usr/bin/env bash
# Runs the whole test suite N times to find flaky tests (`npm run test:soak -- N [--clean-clone] [vitest args…]`).
# Each run prints its wall time, its closing summary line and the names of the tests that failed in it.
#   --clean-clone   each run is `CI=true bash .ci/run` in a fresh clone of HEAD, as CI does (commit first);
#                   otherwise each run is `npm test` in this checkout.
#   --netns         with --clean-clone: each clone runs in a private network namespace (root, unshare), so it
#                   can run beside this checkout's stack on the same ports. The namespace has no network, so
#                   the clone's npm packages are installed and the tools in .tools/ copied before entering it.
# Extra arguments go to vitest (in this checkout only), e.g. `--sequence.shuffle`.
# Exit status: 0 when every run passed. Full logs stay in .stack/soak/.
set -uo pipefail
cd "$(dirname "$0")/.."
runs="${1:-}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: npm run test:soak -- N [--clean-clone] [vitest args…]  (N: how many runs, a whole number ≥ 1)" >&2
  exit 2
fi
shift
clean=0
netns=0
if [ "${1:-}" = "--clean-clone" ]; then
  clean=1
  shift
  if [ "${1:-}" = "--netns" ]; then
    netns=1
    shift
  fi
fi
if [ "$clean" = 1 ] && [ "$netns" = 0 ] && bin/drctl stack status > /dev/null 2>&1; then
  echo "soak: the local stack of this checkout is running and holds the ports a clean clone needs; stop it first (bin/drctl stack down)" >&2
  exit 2
fi
logs="$(pwd)/.stack/soak/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$logs"
failures=0
for i in $(seq 1 "$runs"); do
  log="$logs/run-$i.log"
  start=$(date +%s)
  if [ "$clean" = 1 ]; then
    # As CI lays it: the clone in a folder of its own, with a copy of the shared/ folder beside it (when this
    # checkout has one beside it), which the reference-schema test reads.
    box=$(mktemp -d /tmp/dr-soak-XXXXXX)
    clone="$box/repo"
    git clone -q . "$clone"
    [ -d ../shared ] && cp -r ../shared "$box/shared"
    if [ "$netns" = 1 ]; then
      (cd "$clone" && npm ci --no-audit --no-fund --prefer-offline > /dev/null && mkdir -p .tools && cp -r "$OLDPWD"/.tools/. .tools/)
      (cd "$clone" && unshare -n bash -c 'ip link set lo up && CI=true bash .ci/run') > "$log" 2>&1
    else
      (cd "$clone" && CI=true bash .ci/run) > "$log" 2>&1
    fi
    status=$?
    report="$clone/.stack/vitest-report.json"
  else
    bash dev/test.sh "$@" > "$log" 2>&1
    status=$?
    report=".stack/vitest-report.json"
  fi
  seconds=$(($(date +%s) - start))
  [ -f "$report" ] && cp "$report" "$logs/run-$i.report.json"
  summary=$(grep -E '^tests: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1)
  echo "run $i/$runs: exit $status in ${seconds}s: ${summary:-no summary line (see $log)}"
  if [ "$status" != 0 ]; then
    failures=$((failures + 1))
    [ -f "$report" ] && node -e '
      const r = require(process.argv[1]);
      for (const file of r.testResults)
        for (const t of file.assertionResults)
          if (t.status === "failed") console.log(`  failed: ${file.name.replace(/^.*\/test\//, "test/")} › ${t.fullName}`);
    ' "$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
  fi
  if [ "$clean" = 1 ]; then
    # The release trees the clone's deploy test made link its node_modules: they go with it.
    for tree in /tmp/dr-release-*; do
      [ "$(readlink "$tree/node_modules" 2> /dev/null)" = "$clone/node_modules" ] && rm -rf "$tree"
    done
    rm -rf "$box"
  fi
done
echo "soak: $((runs - failures)) of $runs runs passed; logs in $logs"
[ "$failures" = 0 ]

#!/usr/bin/env bash
# The test command (`npm test`): static checks, then the whole vitest suite against the real local stack.
# It starts the stack if it is not running and stops it again at the end in that case.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/ensure-deps.sh

# The static checks run while the stack comes up (mostly waiting on its services); their output follows it.
echo "== type check, lint, format (alongside the stack coming up)"
checks_log="$(mktemp)"
(
  npx tsc -p tsconfig.json --noEmit
  npx eslint .
  npx prettier --check . > /dev/null || npx prettier --check .
) > "$checks_log" 2>&1 &
checks=$!

started=0
if ! bin/drctl stack status > /dev/null 2>&1; then
  started=1
  trap 'echo "== stopping the stack"; bin/drctl stack down' EXIT
fi
echo "== bringing the local stack up"
bin/drctl stack up
checks_status=0
wait "$checks" || checks_status=$?
cat "$checks_log"
rm -f "$checks_log"
if [ "$checks_status" -ne 0 ]; then
  echo "type check, lint or format failed (above)"
  exit "$checks_status"
fi

echo "== tests"
report=".stack/vitest-report.json"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line for tools that read the result: "tests: N passed, N failed, N skipped".
node -e '
  const r = require(process.argv[1]);
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$(pwd)/$report" || true
exit "$status"

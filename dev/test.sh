#!/usr/bin/env bash
# The test command (`npm test`): static checks, then the whole vitest suite against the real local stack.
# It starts the stack if it is not running and stops it again at the end in that case.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/ensure-deps.sh
# Each phase says when it starts, in seconds since `npm test` began (bash counts them in SECONDS).
phase() { echo "== $1 (at ${SECONDS} s)"; }

# The static checks run at the lowest priority alongside the stack coming up and the tests, on the CPU time those
# leave idle (they mostly wait on services); their result is reported, and counts, at the end.
phase "type check, lint, format (in the background, reported at the end)"
checks_log="$(mktemp)"
(
  set +e
  nice -n 19 npm run --silent typecheck &
  tsc=$!
  nice -n 19 npx eslint . &
  eslint=$!
  nice -n 19 npx prettier --check . > /dev/null || nice -n 19 npx prettier --check .
  prettier=$?
  wait "$tsc" && wait "$eslint" && exit "$prettier"
  exit 1
) > "$checks_log" 2>&1 &
checks=$!

# The build the stack's worker, the tests' worker processes, drctl and the release test run from (a few seconds
# with the native TypeScript compiler). It runs while the stack comes up: the stack's worker waits for its end
# (DR_STACK_AWAIT_BUILD names the file the build's exit status goes to), so that it starts from this build.
phase "build (npm run build) and the local stack (bin/drctl stack up), side by side"
build_log="$(mktemp)"
build_done="$build_log.status"
(
  build_status=0
  npm run build > "$build_log" 2>&1 || build_status=$?
  echo "$build_status" > "$build_done"
) &
build=$!
stop_stack() {
  phase "stopping the stack"
  bin/drctl stack down
}
started=0
if ! bin/drctl stack status > /dev/null 2>&1; then
  started=1
  trap stop_stack EXIT
fi
stack_status=0
DR_STACK_AWAIT_BUILD="$build_done" bin/drctl stack up || stack_status=$?
wait "$build"
build_status="$(cat "$build_done")"
if [ "$build_status" -ne 0 ]; then
  cat "$build_log"
  echo "npm run build failed (above): the tests run from the sources, and the run fails"
fi
rm -f "$build_log" "$build_done"
[ "$stack_status" -eq 0 ] || exit "$stack_status"

phase "tests"
report=".stack/vitest-report.json"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
if [ "$#" -eq 0 ]; then
  # The bench's smoke (one run, small sizes), so that `npm run bench` cannot rot; the full bench is not in CI.
  phase "bench smoke (npm run bench -- --smoke)"
  npm run --silent bench -- --smoke --out .stack/bench >/dev/null || { echo "bench smoke failed (above)"; [ "$status" -ne 0 ] || status=1; }
fi
phase "type check, lint, format"
checks_status=0
wait "$checks" || checks_status=$?
cat "$checks_log"
rm -f "$checks_log"
if [ "$checks_status" -ne 0 ]; then
  echo "type check, lint or format failed (above)"
  [ "$status" -ne 0 ] || status="$checks_status"
fi
[ "$status" -ne 0 ] || status="$build_status"
if [ "$started" = 1 ]; then
  trap - EXIT
  stop_stack
fi
phase "done"
# One plain closing line, the last, for tools that read the result: "tests: N passed, N failed, N skipped".
node -e '
  const r = require(process.argv[1]);
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$(pwd)/$report" || true
exit "$status"

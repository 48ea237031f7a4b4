#!/usr/bin/env bash
# The test command: installs what is missing, starts the private cluster when no
# DATABASE_URL is given, and runs every test against that real PostgreSQL.
# Each test creates (and drops) a database of its own, so suites may run in parallel.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/pg-cluster.sh start)
  export DATABASE_URL
fi
echo "tests: using $DATABASE_URL" >&2
# Every test is XCTest; Swift Testing's empty run would otherwise close the output with
# "0 tests", so it is disabled. The last line restates XCTest's totals plainly.
log=$(mktemp /tmp/stratos-tests.XXXXXX)
trap 'rm -f "$log"' EXIT
status=0
# Everything is built first, the executables too: the fault drill runs stratos-ledger as a process.
swift build --build-tests 2>&1 | tail -3
swift test --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log" || status=$?
# XCTest's closing line: "Executed N tests, with [K tests skipped and ]M failures (...)".
summary=$(grep -E "Executed [0-9]+ tests?, with " "$log" | tail -1 || true)
if [ -n "$summary" ]; then
  total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
  failed=$(echo "$summary" | sed -E 's/.*[a-z] ([0-9]+) failures?.*/\1/')
  skipped=0
  if echo "$summary" | grep -qE "[0-9]+ tests? skipped"; then
    skipped=$(echo "$summary" | sed -E 's/.*with ([0-9]+) tests? skipped.*/\1/')
  fi
  echo "tests: $((total - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
exit "$status"

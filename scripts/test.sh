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
swift test "$@"

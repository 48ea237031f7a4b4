#!/usr/bin/env bash
# The README's first command: installs what is missing (PostgreSQL, libpq-dev), builds
# stratos-ledger in release mode and runs `stratos-ledger demo` with the arguments given, e.g.
#
#   scripts/demo.sh                  30 days of the small network (under a minute once built)
#   scripts/demo.sh --size tiny      2 days of a tiny one
#   scripts/demo.sh --fresh          start over in a new stratos_demo database
#   scripts/demo.sh --help
#
# Why release: a cold release build took about as long as a debug one on the 2-core development
# machine (~5 minutes each), and the demo then runs about 4 times faster (~25 s instead of ~100 s).
# STRATOS_BUILD=debug scripts/demo.sh builds and runs the debug binary instead.
#
# With no DATABASE_URL the demo starts the project's private PostgreSQL cluster (.pgdata/, on
# 127.0.0.1) and leaves it running for the next run: scripts/pg-cluster.sh stop stops it,
# scripts/pg-cluster.sh destroy deletes it. With DATABASE_URL set it uses that database.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
config=${STRATOS_BUILD:-release}
echo "demo: building stratos-ledger ($config; the first build takes a few minutes)" >&2
swift build -c "$config" --product stratos-ledger >&2
bin=$(swift build -c "$config" --show-bin-path)
exec "$bin/stratos-ledger" demo "$@"

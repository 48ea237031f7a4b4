#!/usr/bin/env bash
# The benchmark suite: builds stratos-bench in release mode, starts the private PostgreSQL
# cluster when no DATABASE_URL is given, runs every suite (or the ones named) and writes
# docs/BENCHMARKS.md and docs/benchmarks.json.
#
#   scripts/bench.sh                 every suite at full size (about 10–20 minutes on 2 cores)
#   scripts/bench.sh --quick         small sizes, a smoke run (writes to demo-output/ instead of docs/)
#   scripts/bench.sh append http     some suites only
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/pg-cluster.sh start)
  export DATABASE_URL
fi
echo "bench: using $DATABASE_URL" >&2
swift build -c release --product stratos-bench
swift build -c release --product stratos-ledger   # the faults suite runs it as a child process
bin=$(swift build -c release --show-bin-path)

out=docs
for arg in "$@"; do [ "$arg" = "--quick" ] && out=demo-output/bench; done
mkdir -p "$out"
STRATOS_BENCH_SWIFT_VERSION=$(swift --version 2>&1 | head -1) \
STRATOS_BENCH_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo "+changes") \
  "$bin/stratos-bench" "$@" --markdown "$out/benchmarks.table.md" --json "$out/benchmarks.json"

{
  echo "# Benchmarks"
  echo
  echo "Written by \`scripts/bench.sh\` (\`swift run -c release stratos-bench\` against a real PostgreSQL);"
  echo "every history comes from the simulator or the suites' generators at the sizes the figures name."
  echo "Targets are the figures the issues ask for. The same figures as JSON: [benchmarks.json](benchmarks.json)."
  echo
  cat "$out/benchmarks.table.md"
} > "$out/BENCHMARKS.md"
rm -f "$out/benchmarks.table.md"
echo "bench: wrote $out/BENCHMARKS.md and $out/benchmarks.json" >&2

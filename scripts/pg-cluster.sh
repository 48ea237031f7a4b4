#!/usr/bin/env bash
# A private, throwaway PostgreSQL cluster for the demo, the tests and CI.
#
#   scripts/pg-cluster.sh start [DIR]   initdb on first use, start, print its URL on stdout
#   scripts/pg-cluster.sh stop  [DIR]   stop it (the data stays for the next start)
#   scripts/pg-cluster.sh url   [DIR]   print the URL of the running cluster
#   scripts/pg-cluster.sh destroy [DIR] stop it and delete DIR
#
# DIR defaults to .pgdata/ under the project folder. The cluster listens on 127.0.0.1 only,
# on the first free port from 54329 up, with trust authentication: it is for this machine's
# own use, never a server for others. PostgreSQL refuses to run as root, so under root the
# cluster is owned and run by the `postgres` user.
set -euo pipefail

cmd=${1:-start}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${2:-$root/.pgdata}

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do bindir=$d; break; done
if [ -z "$bindir" ]; then
  command -v initdb >/dev/null 2>&1 || { echo "pg-cluster: no PostgreSQL server binaries; run scripts/setup.sh" >&2; exit 1; }
  bindir=$(dirname "$(command -v initdb)")
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

url_of() { echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/postgres"; }

running() { [ -f "$dir/port" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      echo "pg-cluster: initdb in $dir/data" >&2
      as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if running; then url_of; exit 0; fi
    port=54329
    while ! port_free "$port"; do port=$((port + 1)); done
    as_owner sh -c "echo $port > '$dir/port'"
    mkdir -p "$dir/socket"; [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir/socket"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir/socket -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=${PG_FSYNC:-on}" start >&2 \
      || { tail -20 "$dir/server.log" >&2; exit 1; }
    url_of
    ;;
  stop)
    if running; then as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2; fi
    ;;
  url)
    running || { echo "pg-cluster: not running ($dir)" >&2; exit 1; }
    url_of
    ;;
  destroy)
    if running; then as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true; fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop|url|destroy [DIR]" >&2; exit 2 ;;
esac

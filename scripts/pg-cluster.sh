#!/usr/bin/env bash
# A private, throwaway PostgreSQL cluster for the demo, the tests and CI.
#
#   scripts/pg-cluster.sh start [DIR]   initdb on first use, start, print its URL on stdout
#   scripts/pg-cluster.sh stop  [DIR]   stop it (the data stays for the next start)
#   scripts/pg-cluster.sh url   [DIR]   print the URL of the running cluster
#   scripts/pg-cluster.sh destroy [DIR] stop it and delete DIR
#
# For replication and fault drills (PostgreSQL's own streaming replication, nothing home-made):
#
#   scripts/pg-cluster.sh standby PRIMARY DIR [--sync]  a hot standby of the running cluster in
#                                     PRIMARY (pg_basebackup -R), started; prints its URL. With
#                                     --sync every commit on PRIMARY waits for it
#   scripts/pg-cluster.sh async   DIR   commits on DIR no longer wait for a standby
#   scripts/pg-cluster.sh promote DIR   promote the standby in DIR to a primary
#   scripts/pg-cluster.sh restart DIR   pg_ctl restart -m fast (same port)
#   scripts/pg-cluster.sh kill    DIR   SIGKILL the server and its processes: a crash
#   scripts/pg-cluster.sh multi-url DIR... [DB]  a libpq multi-host URL over the clusters, to
#                                     whichever is primary (target_session_attrs=read-write)
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

# psql on the cluster in folder $1 (its socket), as the owner; the rest are psql's arguments.
psql_in() {
  local d=$1; shift
  as_owner "$bindir/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h "$d/socket" -p "$(cat "$d/port")" -U postgres -d postgres "$@"
}

# Prepares $dir (owned by the server's user) and picks its port: the first free one from 54329.
prepare_dir() {
  mkdir -p "$dir/socket"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir" "$dir/socket"; fi
  port=54329
  while ! port_free "$port"; do port=$((port + 1)); done
  as_owner sh -c "echo $port > '$dir/port'"
}

# Starts the server of $dir on $port. wal_retrieve_retry_interval: a standby whose primary
# restarted reconnects within a fifth of a second, not five seconds (with a synchronous standby
# the primary's commits wait for that reconnection).
launch() {
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir/socket -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=${PG_FSYNC:-on} -c wal_retrieve_retry_interval=200ms" start >&2 \
    || { tail -20 "$dir/server.log" >&2; exit 1; }
}

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
    prepare_dir
    launch
    url_of
    ;;
  standby)
    primary=${2:?usage: $0 standby PRIMARY DIR [--sync]}
    dir=${3:?usage: $0 standby PRIMARY DIR [--sync]}
    sync=${4:-}
    [ -f "$primary/port" ] && as_owner "$bindir/pg_ctl" -D "$primary/data" status >/dev/null 2>&1 \
      || { echo "pg-cluster: the primary in $primary is not running" >&2; exit 1; }
    if [ -f "$dir/data/PG_VERSION" ]; then echo "pg-cluster: $dir already holds a cluster" >&2; exit 1; fi
    prepare_dir
    # The base backup copies the primary's postgresql.auto.conf, so synchronous_standby_names is
    # set on the primary only after it: a standby promoted later must not wait for a standby of
    # its own that does not exist.
    as_owner "$bindir/pg_basebackup" -h 127.0.0.1 -p "$(cat "$primary/port")" -U postgres \
      -D "$dir/data" -R -X stream -c fast >&2 || { echo "pg-cluster: pg_basebackup failed" >&2; exit 1; }
    launch
    if [ "$sync" = "--sync" ]; then
      psql_in "$primary" -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
      # Until the standby streams, the primary's commits would wait for it: wait here instead.
      for _ in $(seq 1 300); do
        state=$(psql_in "$primary" -c "SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming' LIMIT 1" || true)
        [ "$state" = "sync" ] && break
        sleep 0.1
      done
      [ "$state" = "sync" ] || { echo "pg-cluster: the standby in $dir did not become synchronous within 30 s" >&2; exit 1; }
    fi
    url_of
    ;;
  async)
    running || { echo "pg-cluster: not running ($dir)" >&2; exit 1; }
    psql_in "$dir" -c "ALTER SYSTEM RESET synchronous_standby_names" -c "SELECT pg_reload_conf()" >/dev/null
    ;;
  promote)
    running || { echo "pg-cluster: not running ($dir)" >&2; exit 1; }
    as_owner "$bindir/pg_ctl" -D "$dir/data" -w -t 60 promote >&2
    ;;
  restart)
    running || { echo "pg-cluster: not running ($dir)" >&2; exit 1; }
    # pg_ctl restart reuses the options the server was started with (postmaster.opts).
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >&2 \
      || { tail -20 "$dir/server.log" >&2; exit 1; }
    ;;
  kill)
    running || { echo "pg-cluster: not running ($dir)" >&2; exit 1; }
    pid=$(head -1 "$dir/data/postmaster.pid")
    # The postmaster's children first, then the postmaster: nothing shuts down cleanly.
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    ;;
  multi-url)
    shift
    [ $# -ge 1 ] || { echo "usage: $0 multi-url DIR... [DB]" >&2; exit 2; }
    hosts="" db=postgres
    for a in "$@"; do
      if [ -f "$a/port" ]; then hosts="$hosts${hosts:+,}127.0.0.1:$(cat "$a/port")"; else db=$a; fi
    done
    [ -n "$hosts" ] || { echo "pg-cluster: no cluster folder among $*" >&2; exit 1; }
    echo "postgresql://postgres@$hosts/$db?target_session_attrs=read-write"
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
  *) echo "usage: $0 start|stop|url|destroy [DIR] | standby PRIMARY DIR [--sync] | async|promote|restart|kill DIR | multi-url DIR... [DB]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Installs what stratos-ledger needs on a fresh Debian machine, when it is missing:
# PostgreSQL (server binaries for the private cluster) and libpq-dev (the C client library
# the Swift package links). Safe to run again: it installs nothing that is already there.
set -euo pipefail

have_server() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }
have_libpq() { pkg-config --exists libpq 2>/dev/null || [ -f /usr/include/postgresql/libpq-fe.h ]; }

missing=()
have_server || missing+=(postgresql postgresql-contrib)
have_libpq || missing+=(libpq-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "setup: no Swift toolchain on PATH (Swift 6.x is required; see README)" >&2
  exit 1
fi

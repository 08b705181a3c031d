#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests and benchmarks: its own data directory, port and
# socket directory under target/postgres (or $CARGO_TARGET_DIR/postgres), from Debian's packages (installed if missing).
#
#   scripts/postgres.sh start   # prints the URL to export as DURABLE_TEST_POSTGRES
#   scripts/postgres.sh stop
#
# DURABLE_PG_PORT picks the port (default: the first free one from 55432).
# DURABLE_PG_FSYNC=off trades the cluster's crash safety for speed (the tests kill
# workers, never the database).
set -euo pipefail
cd "$(dirname "$0")/.."

root="$(realpath -m "${CARGO_TARGET_DIR:-target}")/postgres"
data="$root/data"
run="$root/run"

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "postgres: installing PostgreSQL from Debian's packages" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 \
    || { $sudo apt-get update -q >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; }
}

# Whether something listens on 127.0.0.1:$1.
taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  if [ -z "$(bindir)" ] || ! id postgres >/dev/null 2>&1; then install; fi
  local bin port
  bin="$(bindir)"
  mkdir -p "$root"
  # a cluster left by an earlier run is reused while it runs, else started afresh
  if [ -f "$data/PG_VERSION" ] && ! as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    rm -rf "$data" "$run"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data" "$run"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$data" "$run"; fi
    as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$root/initdb.log" 2>&1 \
      || { cat "$root/initdb.log" >&2; exit 1; }
  fi
  if as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    port="$(sed -n 4p "$data/postmaster.pid")"
  else
    # the port asked for, or the first free one from 55432 (another project's server
    # may hold it)
    port="${DURABLE_PG_PORT:-55432}"
    if [ -z "${DURABLE_PG_PORT:-}" ]; then
      while taken "$port"; do port=$((port + 1)); done
    fi
    as_postgres "$bin/pg_ctl" -D "$data" -l "$run/server.log" -w -t 60 start \
      -o "-p $port -k $run -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=${DURABLE_PG_FSYNC:-on} -c shared_buffers=256MB" >&2 \
      || { cat "$run/server.log" >&2; exit 1; }
  fi
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

stop() {
  local bin
  bin="$(bindir)"
  if [ -n "$bin" ] && [ -f "$data/PG_VERSION" ]; then
    as_postgres "$bin/pg_ctl" -D "$data" -m fast -w stop >&2 || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# PostgreSQL for tests: a throwaway cluster on 127.0.0.1, a free port, trust auth.
#   start → .cache/run/postgres.env: TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:PORT/marketplace_test
#   stop  → stops the server and deletes its data directory.
# initdb/pg_ctl refuse to run as root, so they run as the `postgres` system user.
set -euo pipefail
COMPONENT=postgres
source "$(dirname "$0")/lib.sh"

PG_USER=postgres
PG_DB=marketplace_test

find_pg_bin() {
  local dir
  if [[ -n ${PG_BIN:-} ]]; then echo "$PG_BIN"; return; fi
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [[ -n $dir && -x $dir/initdb ]] && echo "$dir"
}

# Debian's package would start its own cluster on port 5432; forbid service starts
# during the install (policy-rc.d exit 101), unless the machine already has a policy.
install_postgresql() {
  local policy=/usr/sbin/policy-rc.d
  if [[ -e $policy ]]; then
    apt_install postgresql
    return
  fi
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  (apt_install postgresql) || { rm -f "$policy"; exit 1; }
  rm -f "$policy"
}

start() {
  if load_state postgres && [[ -f ${PGDATA_DIR:-}/postmaster.pid ]]; then
    die "already started (data dir $PGDATA_DIR); run '$0 stop' first"
  fi
  clear_state postgres

  local bin
  bin=$(find_pg_bin || true)
  if [[ -z $bin ]]; then
    install_postgresql
    bin=$(find_pg_bin) || die "no initdb after installing postgresql"
  fi
  id -u "$PG_USER" >/dev/null 2>&1 || ensure_system_user "$PG_USER"

  local tmp port
  tmp=$(mktemp -d /tmp/marketplace-pg.XXXXXX)
  save_state postgres "PG_TMP=$tmp" "PGDATA_DIR=$tmp/data" "PG_BIN=$bin"
  chown "$PG_USER" "$tmp"
  chmod 700 "$tmp"

  log "initdb in $tmp/data ($bin)"
  as_user "$PG_USER" "$bin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 \
    --no-locale --no-sync >"$RUN_DIR/postgres.log" 2>&1 ||
    { tail -20 "$RUN_DIR/postgres.log" >&2; die "initdb failed"; }

  port=$(free_port)
  save_state postgres "PG_PORT=$port"
  # fsync off: a throwaway test cluster, durability is not wanted.
  as_user "$PG_USER" "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 start \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$tmp \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    >>"$RUN_DIR/postgres.log" 2>&1 ||
    { tail -20 "$tmp/server.log" >&2 || true; die "pg_ctl start failed"; }

  as_user "$PG_USER" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$PG_DB" ||
    die "createdb $PG_DB failed"

  write_env postgres \
    "TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$port/$PG_DB"
  log "ready on 127.0.0.1:$port (database $PG_DB)"
}

stop() {
  if ! load_state postgres; then
    log "not started"
    return 0
  fi
  if [[ -n ${PGDATA_DIR:-} && -f $PGDATA_DIR/postmaster.pid ]]; then
    as_user "$PG_USER" "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 30 stop \
      >>"$RUN_DIR/postgres.log" 2>&1 || {
      # pg_ctl failed: kill the postmaster by its pid (first line of postmaster.pid).
      local pid
      pid=$(head -1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)
      [[ -n $pid ]] && stop_pid "$pid" 20
    }
  fi
  [[ -n ${PG_TMP:-} && $PG_TMP == /tmp/marketplace-pg.* ]] && rm -rf "$PG_TMP"
  clear_state postgres
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac

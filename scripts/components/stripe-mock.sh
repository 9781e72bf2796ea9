#!/usr/bin/env bash
# stripe-mock (Stripe's API mock server), built from the Go module proxy at a pinned version.
#   start → .cache/run/stripe-mock.env: STRIPE_API_BASE=http://127.0.0.1:PORT
#   stop  → kills it.
# stripe-mock opens an HTTPS listener on [::]:12112 unless told otherwise, even with
# -http-addr, and it has no flag to turn it off: bind it to 127.0.0.1 on a free port too.
set -euo pipefail
COMPONENT=stripe-mock
source "$(dirname "$0")/lib.sh"

# Newest version the Go module proxy served on 2026-11-25 (`go list -m -versions`).
STRIPE_MOCK_VERSION="${STRIPE_MOCK_VERSION:-v0.203.0}"
BIN_DIR="$CACHE_DIR/bin"
BIN="$BIN_DIR/stripe-mock-$STRIPE_MOCK_VERSION"

build() {
  [[ -x $BIN ]] && return 0
  command -v go >/dev/null || die "go is not installed"
  log "building github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
  local gobin
  gobin=$(mktemp -d "$CACHE_DIR/gobin.XXXXXX")
  # Module and build caches live in the git-ignored cache, not in ~/go.
  if ! GOBIN="$gobin" GOPATH="$CACHE_DIR/go" GOMODCACHE="$CACHE_DIR/go/mod" \
      GOCACHE="$CACHE_DIR/go/build" GOFLAGS=-modcacherw GOTOOLCHAIN=local \
      go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" \
      >"$RUN_DIR/stripe-mock-build.log" 2>&1; then
    tail -20 "$RUN_DIR/stripe-mock-build.log" >&2
    rm -rf "$gobin"
    die "go install stripe-mock@$STRIPE_MOCK_VERSION failed"
  fi
  mkdir -p "$BIN_DIR"
  mv "$gobin/stripe-mock" "$BIN"
  rm -rf "$gobin"
}

start() {
  if load_state stripe-mock && pid_alive "${SM_PID:-}"; then
    die "already running (pid $SM_PID); run '$0 stop' first"
  fi
  clear_state stripe-mock
  build

  local port pid
  port=$(free_port)
  # setsid: its own session, so a Ctrl-C in the terminal reaches scripts/test's trap,
  # which then stops it cleanly.
  setsid "$BIN" -http-addr "127.0.0.1:$port" -https-addr "127.0.0.1:0" \
    >"$RUN_DIR/stripe-mock.log" 2>&1 </dev/null &
  pid=$!
  save_state stripe-mock "SM_PID=$pid"
  # Any valid-looking request answers 401 without a key; /v1/charges with a key answers 200.
  local deadline=$((SECONDS + 30))
  until curl -fsS -o /dev/null --max-time 2 -u sk_test_123: \
      "http://127.0.0.1:$port/v1/charges" 2>/dev/null; do
    pid_alive "$pid" || { cat "$RUN_DIR/stripe-mock.log" >&2; die "exited at start"; }
    ((SECONDS < deadline)) || die "no answer on 127.0.0.1:$port after 30s"
    sleep 0.2
  done
  write_env stripe-mock "STRIPE_API_BASE=http://127.0.0.1:$port"
  log "ready on 127.0.0.1:$port (pid $pid, $STRIPE_MOCK_VERSION)"
}

stop() {
  if ! load_state stripe-mock; then
    log "not started"
    return 0
  fi
  stop_pid "${SM_PID:-}" 10
  clear_state stripe-mock
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  build) build ;;
  *) usage ;;
esac

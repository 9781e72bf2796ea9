# Shared helpers for scripts/components/*.sh — source it, don't run it.
#
# Layout (all git-ignored, under the repo's .cache/, overridable with MARKETPLACE_CACHE;
# the run/ part alone with MARKETPLACE_RUN_DIR):
#   .cache/run/<name>.env    `export VAR=...` lines a test run sources
#   .cache/run/<name>.state  what `stop` needs (pids, ports, temp dirs); internal
#   .cache/run/<name>.log    the component's own output
#   .cache/bin, .cache/go, .cache/m2, .cache/elasticsearch-*   downloads and builds

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${MARKETPLACE_CACHE:-$REPO_ROOT/.cache}"
# A separate run dir lets two test runs share one checkout and cache.
RUN_DIR="${MARKETPLACE_RUN_DIR:-$CACHE_DIR/run}"
mkdir -p "$RUN_DIR"

log() { printf '[%s] %s\n' "${COMPONENT:-components}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# free_port: print a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# wait_http URL TIMEOUT_S [PID]: wait until URL answers 2xx; give up early if PID dies.
wait_http() {
  local url=$1 timeout=$2 pid=${3:-} deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      return 0
    fi
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      log "process $pid exited while waiting for $url"
      return 1
    fi
    sleep 0.5
  done
  log "no answer from $url after ${timeout}s"
  return 1
}

# pid_alive PID
pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# stop_pid PID [TIMEOUT_S]: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local pid=$1 timeout=${2:-20} deadline
  pid_alive "$pid" || return 0
  kill "$pid" 2>/dev/null || true
  deadline=$((SECONDS + timeout))
  while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if pid_alive "$pid"; then
    log "pid $pid ignored SIGTERM for ${timeout}s; killing"
    kill -9 "$pid" 2>/dev/null || true
  fi
}

# write_env NAME 'VAR=value' ...: write .cache/run/NAME.env as `export VAR=value` lines.
write_env() {
  local name=$1 file="$RUN_DIR/$1.env" kv
  shift
  : >"$file.tmp"
  for kv in "$@"; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}" >>"$file.tmp"
  done
  mv "$file.tmp" "$file"
}

# save_state NAME 'VAR=value' ...: append to .cache/run/NAME.state (sourced by stop).
save_state() {
  local name=$1 kv
  shift
  for kv in "$@"; do
    printf '%s=%q\n' "${kv%%=*}" "${kv#*=}" >>"$RUN_DIR/$name.state"
  done
}

# load_state NAME: source .cache/run/NAME.state if present; returns 1 if absent.
load_state() {
  local file="$RUN_DIR/$1.state"
  [[ -f $file ]] || return 1
  # shellcheck disable=SC1090
  source "$file"
}

clear_state() { rm -f "$RUN_DIR/$1.state" "$RUN_DIR/$1.env"; }

# ensure_system_user NAME: create a locked system user without a home if missing.
ensure_system_user() {
  id -u "$1" >/dev/null 2>&1 && return 0
  [[ $EUID -eq 0 ]] || die "user $1 is missing and only root can create it"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$1"
}

# as_user USER CMD...: run CMD as USER (no shell, no PAM prompt); plain exec if we are USER.
as_user() {
  local user=$1
  shift
  # From / so that a working directory closed to USER draws no warning.
  if [[ $(id -un) == "$user" ]]; then "$@"; else (cd / && runuser -u "$user" -- "$@"); fi
}

# apt_install PKG...: install Debian packages (root only). Tries without `apt-get update`
# first (fast when the lists are fresh), then updates and retries. Waits for apt's lock.
apt_install() {
  [[ $EUID -eq 0 ]] || die "need root to apt-get install $*"
  local alog="$RUN_DIR/apt-$1.log" opts=(-y -qq -o DPkg::Lock::Timeout=300)
  log "apt-get install $* (log: $alog)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install "${opts[@]}" "$@" >"$alog" 2>&1; then
    apt-get update -qq -o DPkg::Lock::Timeout=300 >>"$alog" 2>&1 || true
    apt-get install "${opts[@]}" "$@" >>"$alog" 2>&1 ||
      { tail -20 "$alog" >&2; die "apt-get install $* failed"; }
  fi
}

# usage NAME: standard start|stop dispatch error.
usage() { echo "usage: $0 start|stop" >&2; exit 2; }

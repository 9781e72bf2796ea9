#!/usr/bin/env bash
# Chromium for browser tests: Debian's package (never `playwright install`).
#   start → installs it if missing; .cache/run/chromium.env: CHROMIUM_PATH=/usr/bin/chromium
#   stop  → nothing runs between tests (Playwright launches and closes it); removes the env file.
set -euo pipefail
COMPONENT=chromium
source "$(dirname "$0")/lib.sh"

start() {
  local path
  path=$(command -v chromium || true)
  if [[ -z $path ]]; then
    apt_install chromium
    path=$(command -v chromium) || die "no chromium after apt-get install chromium"
  fi
  # Chinese pages need a CJK font, or screenshots show empty boxes.
  if ! fc-list :lang=zh 2>/dev/null | grep -c . >/dev/null; then  # (-c: no SIGPIPE race, see scripts/setup)
    apt_install fonts-wqy-zenhei
  fi
  # Sanity check: the binary runs (its wrapper script may print noise on stderr).
  "$path" --version >/dev/null 2>&1 || die "$path --version failed"
  write_env chromium "CHROMIUM_PATH=$path"
  log "ready: $path ($("$path" --version 2>/dev/null))"
}

stop() {
  clear_state chromium
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac

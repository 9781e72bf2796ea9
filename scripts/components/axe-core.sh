#!/usr/bin/env bash
# axe-core (the accessibility engine the screenshot test injects into each page), from npm.
#   start → `npm pack axe-core@VERSION` into .cache/axe-core-VERSION/ once (npm checks the
#           tarball's integrity against the registry), unpacks axe.min.js;
#           .cache/run/axe-core.env: AXE_CORE_PATH=.../axe.min.js
#   stop  → nothing runs; removes the env file.
set -euo pipefail
COMPONENT=axe-core
source "$(dirname "$0")/lib.sh"

VERSION="${AXE_CORE_VERSION:-4.14.1}"

start() {
  local dir="$CACHE_DIR/axe-core-$VERSION" tgz
  if [[ ! -s $dir/axe.min.js ]]; then
    command -v npm >/dev/null || apt_install npm
    local tmp
    tmp=$(mktemp -d)
    log "npm pack axe-core@$VERSION"
    (cd "$tmp" && npm pack --silent "axe-core@$VERSION" >"$tmp/name" 2>"$tmp/npm.log") ||
      { cat "$tmp/npm.log" >&2; rm -rf "$tmp"; die "npm pack axe-core@$VERSION failed"; }
    tgz="$tmp/$(tail -1 "$tmp/name")"
    tar -xzf "$tgz" -C "$tmp" package/axe.min.js package/LICENSE package/package.json
    grep -q "\"version\": \"$VERSION\"" "$tmp/package/package.json" || die "unpacked axe-core is not $VERSION"
    mkdir -p "$dir"
    mv "$tmp/package/axe.min.js" "$tmp/package/LICENSE" "$tmp/package/package.json" "$dir/"
    rm -rf "$tmp"
  fi
  grep -q "axe" "$dir/axe.min.js" || die "$dir/axe.min.js does not look like axe-core"
  write_env axe-core "AXE_CORE_PATH=$dir/axe.min.js"
  log "ready: $dir/axe.min.js"
}

stop() {
  clear_state axe-core
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac

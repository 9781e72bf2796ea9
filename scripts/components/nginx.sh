#!/usr/bin/env bash
# nginx for the deployment test (tests/ops/test_deploy.py runs deploy/nginx/marketplace.conf
# on loopback in front of two gunicorn nodes). Debian's nginx-light; the test starts and stops
# its own nginx, so nothing runs between tests.
#   start → installs it if missing; .cache/run/nginx.env: NGINX_PATH=/usr/sbin/nginx
#   stop  → removes the env file.
set -euo pipefail
COMPONENT=nginx
source "$(dirname "$0")/lib.sh"

find_nginx() { command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true; }

# Debian's package would start the system nginx on port 80; forbid service starts during
# the install (policy-rc.d exit 101), unless the machine already has a policy.
install_nginx() {
  local policy=/usr/sbin/policy-rc.d
  if [[ -e $policy ]]; then
    apt_install nginx-light
    return
  fi
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  (apt_install nginx-light) || { rm -f "$policy"; exit 1; }
  rm -f "$policy"
}

start() {
  local path
  path=$(find_nginx)
  if [[ -z $path ]]; then
    install_nginx
    path=$(find_nginx)
    [[ -n $path ]] || die "no nginx after apt-get install nginx-light"
  fi
  command -v openssl >/dev/null || apt_install openssl  # the test's TLS certificate
  "$path" -v >/dev/null 2>&1 || die "$path -v failed"
  write_env nginx "NGINX_PATH=$path"
  log "ready: $path ($("$path" -v 2>&1))"
}

stop() {
  clear_state nginx
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# Elasticsearch for tests: the minimal integ-test-zip distribution from Maven Central.
#   start → .cache/run/elasticsearch.env: ELASTICSEARCH_URL=http://127.0.0.1:PORT
#   stop  → kills it by pidfile, waits, deletes its data/logs directory.
# Pitfalls (see shared/design/COMPONENTS.md): no bundled JDK (9.x needs Java 21+: temurin-25),
# refuses to run as root (runs as system user $ES_USER), `GET /` answers 405 (readiness is
# polled on /_cluster/health), and it writes its keystore into its config dir (so the
# unpacked install belongs to $ES_USER).
set -euo pipefail
COMPONENT=elasticsearch
source "$(dirname "$0")/lib.sh"

ES_VERSION="${ES_VERSION:-9.2.4}"
ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
ES_JAVA_HOME="${ES_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
ES_USER="${ES_USER:-marketplace-es}"
ES_HEAP="${ES_HEAP:-512m}"
ES_START_TIMEOUT="${ES_START_TIMEOUT:-120}"
M2_DIR="$CACHE_DIR/m2"
ES_HOME_CACHED="$CACHE_DIR/elasticsearch-$ES_VERSION"

download_and_unpack() {
  [[ -x $ES_HOME_CACHED/bin/elasticsearch ]] && return 0
  local zip="$M2_DIR/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
  if [[ ! -f $zip ]]; then
    command -v mvn >/dev/null || die "mvn is not installed"
    log "downloading $ES_ARTIFACT"
    mvn -q -B dependency:get -Dmaven.repo.local="$M2_DIR" -Dartifact="$ES_ARTIFACT" \
      -Dtransitive=false >"$RUN_DIR/elasticsearch-download.log" 2>&1 ||
      { tail -20 "$RUN_DIR/elasticsearch-download.log" >&2; die "mvn dependency:get $ES_ARTIFACT failed"; }
  fi
  command -v unzip >/dev/null || apt_install unzip
  log "unpacking into $ES_HOME_CACHED"
  local tmp
  tmp=$(mktemp -d "$CACHE_DIR/es-unpack.XXXXXX")
  unzip -q "$zip" -d "$tmp" || { rm -rf "$tmp"; die "unzip $zip failed"; }
  rm -rf "$ES_HOME_CACHED"
  mv "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME_CACHED"
  rm -rf "$tmp"
}

start() {
  if load_state elasticsearch && pid_alive "${ES_PID:-}"; then
    die "already running (pid $ES_PID); run '$0 stop' first"
  fi
  clear_state elasticsearch
  [[ -x $ES_JAVA_HOME/bin/java ]] || die "no Java at ES_JAVA_HOME=$ES_JAVA_HOME"
  download_and_unpack
  ensure_system_user "$ES_USER"

  local tmp es_home port
  tmp=$(mktemp -d /tmp/marketplace-es.XXXXXX)
  save_state elasticsearch "ES_TMP=$tmp"
  mkdir -p "$tmp/data" "$tmp/logs" "$tmp/tmp"

  # ES writes its keystore into config/: give the install to $ES_USER. If that user cannot
  # reach the cache (a parent directory closed to others), run from a per-run copy.
  chown -R "$ES_USER:" "$ES_HOME_CACHED"
  es_home=$ES_HOME_CACHED
  if ! as_user "$ES_USER" test -x "$es_home/bin/elasticsearch"; then
    log "$ES_USER cannot reach $es_home; running from a copy in $tmp"
    cp -a "$ES_HOME_CACHED" "$tmp/home"
    es_home="$tmp/home"
  fi
  chown -R "$ES_USER:" "$tmp"

  port=$(free_port)
  save_state elasticsearch "ES_PIDFILE=$tmp/es.pid"
  log "starting $ES_VERSION on 127.0.0.1:$port (data in $tmp)"
  if ! as_user "$ES_USER" env ES_JAVA_HOME="$ES_JAVA_HOME" ES_TMPDIR="$tmp/tmp" \
      ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP -XX:-UsePerfData" CLI_JAVA_OPTS="-XX:-UsePerfData" \
      "$es_home/bin/elasticsearch" -d -p "$tmp/es.pid" \
      -Ediscovery.type=single-node -Expack.security.enabled=false \
      -Ehttp.port="$port" -Enetwork.host=127.0.0.1 \
      -Epath.data="$tmp/data" -Epath.logs="$tmp/logs" \
      </dev/null >"$RUN_DIR/elasticsearch.log" 2>&1; then
    tail -30 "$RUN_DIR/elasticsearch.log" >&2
    die "bin/elasticsearch -d failed"
  fi

  local pid="" deadline=$((SECONDS + 30))
  until [[ -s $tmp/es.pid ]] || ((SECONDS >= deadline)); do sleep 0.2; done
  pid=$(cat "$tmp/es.pid" 2>/dev/null || true)
  save_state elasticsearch "ES_PID=$pid"
  [[ -n $pid ]] || die "no pidfile $tmp/es.pid"

  if ! wait_http "http://127.0.0.1:$port/_cluster/health" "$ES_START_TIMEOUT" "$pid"; then
    tail -30 "$tmp/logs"/*.log 2>/dev/null >&2 || true
    die "not ready"
  fi
  write_env elasticsearch "ELASTICSEARCH_URL=http://127.0.0.1:$port"
  log "ready on 127.0.0.1:$port (pid $pid)"
}

stop() {
  if ! load_state elasticsearch; then
    log "not started"
    return 0
  fi
  local pid=${ES_PID:-}
  [[ -z $pid && -n ${ES_PIDFILE:-} ]] && pid=$(cat "$ES_PIDFILE" 2>/dev/null || true)
  [[ -n $pid ]] && stop_pid "$pid" 30
  if [[ -n ${ES_TMP:-} && $ES_TMP == /tmp/marketplace-es.* ]]; then
    # A start interrupted before the pidfile was written: find the JVM by its unique
    # data directory (this run's only), and stop it by pid.
    local p
    for p in $(pgrep -u "$ES_USER" -f -- "-Epath.data=$ES_TMP/data" || true); do
      stop_pid "$p" 30
    done
    rm -rf "$ES_TMP"
  fi
  # JVM perf data of $ES_USER's (dedicated, now stopped) JVMs, if any were written.
  pgrep -u "$ES_USER" >/dev/null 2>&1 || rm -rf "/tmp/hsperfdata_$ES_USER"
  clear_state elasticsearch
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac

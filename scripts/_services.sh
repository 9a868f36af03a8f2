# Sourced by scripts/test: a throwaway PostgreSQL and Redis for the tests that need a real one.
#
# Each is started from Debian's packages into a fresh temporary directory, reached only
# through a Unix socket in that directory (no TCP port, nothing another user on the
# machine can reach), with nothing kept: fsync off, no Redis persistence. Both are
# stopped and the directory removed when the calling script exits.
#
# When CI is set, a missing server is installed with apt (CI never skips these tests);
# elsewhere the tests that need one are skipped, naming the command that installs it.
# The tests find the servers through CASEFEEDBACK_TEST_POSTGRES_URL and
# CASEFEEDBACK_TEST_REDIS_URL (tests/services.py).
set -euo pipefail

_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

_install_when_ci() {  # package, the binary it brings
  if [ -n "${CI:-}" ]; then
    echo "== installing Debian's $1 for the tests" >&2
    _as_root apt-get update -q >&2 || true
    # policy-rc.d is not ours to change: the package's own cluster/service may or may not
    # start; ours is a separate throwaway one either way.
    DEBIAN_FRONTEND=noninteractive _as_root apt-get install -y -q --no-install-recommends "$1" >&2
  else
    echo "note: $2 is missing, so the tests that need it will be skipped: sudo apt-get install $1" >&2
    return 1
  fi
}

_postgres_bin() {  # the newest installed server's bin directory
  local found
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$found" ] && [ -x "$found/initdb" ] && echo "$found"
}

start_test_services() {
  SERVICES_DIR="$(mktemp -d /tmp/casefeedback-services.XXXXXX)"
  chmod 0755 "$SERVICES_DIR"
  trap stop_test_services EXIT

  local bin
  bin="$(_postgres_bin || true)"
  if [ -z "$bin" ] && _install_when_ci postgresql "PostgreSQL (initdb)"; then
    bin="$(_postgres_bin)"
  fi
  if [ -n "$bin" ]; then
    local data="$SERVICES_DIR/postgres" run=()
    mkdir "$data"
    # PostgreSQL refuses to run as root; the Debian package's own user runs it.
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres "$SERVICES_DIR" "$data"
      run=(runuser -u postgres --)
    fi
    "${run[@]}" "$bin/initdb" -D "$data" -U casefeedback -A trust -E UTF8 --no-sync >"$SERVICES_DIR/initdb.log" 2>&1 \
      || { cat "$SERVICES_DIR/initdb.log" >&2; exit 1; }
    "${run[@]}" "$bin/pg_ctl" -D "$data" -l "$SERVICES_DIR/postgres.log" -w -t 60 start \
      -o "-c listen_addresses='' -k $SERVICES_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      >/dev/null || { cat "$SERVICES_DIR/postgres.log" >&2; exit 1; }
    "${run[@]}" "$bin/createdb" -h "$SERVICES_DIR" -U casefeedback casefeedback
    export CASEFEEDBACK_TEST_POSTGRES_URL="postgresql+psycopg://casefeedback@/casefeedback?host=$SERVICES_DIR"
    export CASEFEEDBACK_TEST_POSTGRES_BIN="$bin"
    export CASEFEEDBACK_TEST_POSTGRES_DATA="$data"
    POSTGRES_RUN=("${run[@]}")
    POSTGRES_CTL="$bin/pg_ctl"
    echo "== PostgreSQL $("$bin/postgres" --version | awk '{print $3}') at $SERVICES_DIR" >&2
  fi

  if ! command -v redis-server >/dev/null; then
    _install_when_ci redis-server "redis-server" || true
  fi
  if command -v redis-server >/dev/null; then
    redis-server --port 0 --unixsocket "$SERVICES_DIR/redis.sock" --unixsocketperm 700 --save "" \
      --appendonly no --daemonize yes --dir "$SERVICES_DIR" --pidfile "$SERVICES_DIR/redis.pid" \
      --logfile "$SERVICES_DIR/redis.log" >/dev/null
    for _ in $(seq 50); do [ -S "$SERVICES_DIR/redis.sock" ] && break; sleep 0.1; done
    export CASEFEEDBACK_TEST_REDIS_URL="redis+unix://$SERVICES_DIR/redis.sock"
    echo "== Redis $(redis-server --version | awk '{print $3}') at $SERVICES_DIR" >&2
  fi
}

stop_test_services() {
  local status=$?
  if [ -n "${POSTGRES_CTL:-}" ]; then
    "${POSTGRES_RUN[@]}" "$POSTGRES_CTL" -D "$SERVICES_DIR/postgres" -m immediate stop >/dev/null 2>&1 || true
  fi
  if [ -f "${SERVICES_DIR:-}/redis.pid" ]; then
    kill "$(cat "$SERVICES_DIR/redis.pid")" 2>/dev/null || true
  fi
  [ -n "${SERVICES_DIR:-}" ] && rm -rf "$SERVICES_DIR"
  return $status
}

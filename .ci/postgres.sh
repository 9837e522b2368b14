#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL server on 127.0.0.1 for the test suite.
#   source .ci/postgres.sh && pg_start   -> exports CRM_TEST_PG_URL and PG_PID
#   pg_stop                              -> stops the server by its PID, removes its data
# Debian's postgresql package; initdb and pg_ctl run as the postgres user in a temporary directory.
set -euo pipefail

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$dir" ]; then
        echo "installing PostgreSQL (Debian package)" >&2
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
        dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    echo "$dir"
}

as_postgres() {
    if [ "$(id -un)" = "postgres" ]; then "$@"; elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

pg_start() {
    local bin port
    bin=$(pg_bin)
    port=${PG_PORT:-$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")}
    PG_DIR=$(mktemp -d /tmp/crm-pg.XXXXXX)
    chown postgres "$PG_DIR" 2>/dev/null || sudo chown postgres "$PG_DIR"
    as_postgres "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
    as_postgres "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c full_page_writes=off" start >/dev/null
    PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres crm_test
    export PG_DIR PG_PID
    export CRM_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/crm_test"
    export PATH="$bin:$PATH"  # pg_dump for the backup-before-upgrade test
    echo "PostgreSQL running on 127.0.0.1:$port (pid $PG_PID)" >&2
}

pg_stop() {
    [ -n "${PG_PID:-}" ] || return 0
    kill -INT "$PG_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.2; done
    rm -rf "$PG_DIR"
    unset PG_PID
}

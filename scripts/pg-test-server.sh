#!/usr/bin/env bash
# 启动一个测试用的 PostgreSQL（临时目录、本机端口），打印 DATABASE_URL。
# Start a throwaway PostgreSQL server for the tests (a temporary data folder, loopback only) and
# print its URL. Durability is switched off: it holds test data only.
#
# 用法 / usage: scripts/pg-test-server.sh [start|stop]   (PG_TEST_DIR, PG_TEST_PORT to override)
set -euo pipefail

dir="${PG_TEST_DIR:-/tmp/kefu-pg-test}"
port="${PG_TEST_PORT:-55432}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [[ -z "$bin" ]]; then
    echo "PostgreSQL is not installed (Debian package postgresql)" >&2
    exit 1
fi
# The server refuses to run as root; run it as the postgres user when we are root.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
    start)
        if [[ ! -f "$dir/PG_VERSION" ]]; then
            mkdir -p "$dir"
            [[ "$(id -u)" == 0 ]] && chown postgres: "$dir"
            as_owner "$bin/initdb" -D "$dir" -U postgres -E UTF8 --locale=C.UTF-8 -A trust >/dev/null
        fi
        if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
            as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w start -o \
                "-p $port -h 127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
        fi
        if ! psql -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'kefu_test'" | grep -q 1; then
            psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE kefu_test" >/dev/null
        fi
        echo "postgresql://postgres@127.0.0.1:$port/kefu_test"
        ;;
    stop)
        as_owner "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null || true
        ;;
    *)
        echo "usage: $0 [start|stop]" >&2
        exit 2
        ;;
esac

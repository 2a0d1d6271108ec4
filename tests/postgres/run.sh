#!/usr/bin/env bash
# The PostgreSQL identity store against a real server: starts a throwaway
# PostgreSQL on a free loopback port (installing the server package if the
# machine has none), points CORDON_TEST_POSTGRES at it, runs the store's
# conformance tests and the CLI's PostgreSQL tests, and stops the server on
# exit. A server that cannot be had, or a run in which no PostgreSQL test
# ran, is a failure: nothing here is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }
if [ -z "$(pg_bin)" ] && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq postgresql >/dev/null
fi
PGBIN=$(pg_bin)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    echo "tests/postgres: no PostgreSQL server found (/usr/lib/postgresql/*/bin); install the postgresql package" >&2
    exit 1
fi

TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# initdb refuses to run as root: the server runs as the `postgres` user then.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/bash -c "$1"
    else
        bash -c "$1"
    fi
}
[ "$(id -u)" = 0 ] && chown postgres "$TMP"

cleanup() {
    as_owner "$PGBIN/pg_ctl -D $TMP/data -m immediate stop" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT

as_owner "$PGBIN/initdb -D $TMP/data -A trust -U postgres" >"$TMP/initdb.log" 2>&1 ||
    { cat "$TMP/initdb.log" >&2; exit 1; }
as_owner "$PGBIN/pg_ctl -D $TMP/data -o '-p $PORT -k $TMP -c listen_addresses=127.0.0.1' -l $TMP/server.log -w start" >/dev/null ||
    { cat "$TMP/server.log" >&2; exit 1; }

export CORDON_TEST_POSTGRES="postgres://postgres@127.0.0.1:$PORT/postgres"

# Runs a test command and fails unless it passed at least one test.
run_tests() {
    local out
    out=$("$@" 2>&1) || { echo "$out"; exit 1; }
    echo "$out" | grep -E '^test |^test result'
    if ! echo "$out" | grep -qE '^test result: ok\. [1-9][0-9]* passed'; then
        echo "tests/postgres: no PostgreSQL test ran in: $*" >&2
        exit 1
    fi
}
run_tests cargo test -q -p cordon-store --test conformance postgres -- --test-threads 2
run_tests cargo test -q -p cordon-cli --test cli postgres:: -- --test-threads 2
run_tests cargo test -q -p cordon-fleet --test shipping -- --test-threads 2
run_tests cargo test -q -p cordon-console --test console postgres -- --test-threads 2

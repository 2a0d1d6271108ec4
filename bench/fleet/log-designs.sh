#!/usr/bin/env bash
# The fleet's audit logs in PostgreSQL, two designs compared on a throwaway
# server: each node shipping its own log (Cordon's design) against one
# shared log sequenced in PostgreSQL with batched appends (the design of
# Tessera's SQL drivers). Appends/s at batches of 1, 64 and 512 from WRITERS
# writers at once (default 3, one per node), SECONDS per point (default 5).
# The server runs with its defaults (fsync on). Asserts nothing.
#
#   bash bench/fleet/log-designs.sh [SECONDS] [WRITERS]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER=${1:-5}
WRITERS=${2:-3}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$PGBIN/initdb" ] || { echo "no PostgreSQL server binaries" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
TMP=$(mktemp -d); chmod 755 "$TMP"; PGDIR="$TMP/pg"; mkdir "$PGDIR"
as_owner() { if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi; }
PGPORT=$(free_port)
cleanup() {
    as_owner "$PGBIN/pg_ctl -D $PGDIR/data -m immediate stop" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
as_owner "$PGBIN/initdb -D $PGDIR/data -A trust -U postgres >/dev/null && $PGBIN/pg_ctl -D $PGDIR/data -o '-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1' -l $PGDIR/log -w start >/dev/null"
cargo bench --quiet -p cordon-fleet --bench log_designs -- "postgres://postgres@127.0.0.1:$PGPORT/postgres" "$SECONDS_PER" "$WRITERS"

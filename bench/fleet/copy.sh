#!/usr/bin/env bash
# `cordon store copy` of N generated accounts (default 1,000,000) from SQLite
# into a throwaway PostgreSQL on this machine: prints the copy's own report
# (with its wall time) and the time of a second, resuming run.
#
#   bash bench/fleet/copy.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
cargo build --release --quiet --bin cordon
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/cordon"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$PGBIN/initdb" ] || { echo "no PostgreSQL server binaries" >&2; exit 1; }
TMP=$(mktemp -d); chmod 755 "$TMP"; PGDIR="$TMP/pg"; mkdir "$PGDIR"
as_owner() { if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi; }
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { as_owner "$PGBIN/pg_ctl -D $PGDIR/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
as_owner "$PGBIN/initdb -D $PGDIR/data -A trust -U postgres >/dev/null && $PGBIN/pg_ctl -D $PGDIR/data -o '-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1' -l $PGDIR/log -w start >/dev/null"
URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
"$BIN" store migrate --store "$URL" >/dev/null
"$BIN" accounts generate --count "$N" --seed 1 --store "$TMP/source.db" >/dev/null 2>&1
"$BIN" store copy --from "$TMP/source.db" --to "$URL" 2>/dev/null
start=$(date +%s.%N)
"$BIN" store copy --from "$TMP/source.db" --to "$URL" 2>/dev/null | head -1
echo "resuming run (nothing new): $(echo "$(date +%s.%N) - $start" | bc) s"

#!/usr/bin/env bash
# Decisions per second of gateway nodes sharing one PostgreSQL store: one
# node against three, with the audit log `local` (durable on the node's
# disk, shipped within a second) and `replicated` (a decision also waits for
# the shared store). Starts a throwaway PostgreSQL, a mock upstream and the
# nodes (release build); loads every node at once with wrk for DURATION
# seconds at CONNECTIONS connections in all; reports decisions/s, the CPU
# the nodes and PostgreSQL spent per decision, and the nodes' shipping lag
# (p50/p99 from /healthz). Everything shares this machine's cores, so three
# nodes divide the same CPU as one: read CPU per decision as the stable
# figure. Asserts nothing.
#
#   bash bench/fleet/throughput.sh            DURATION=10 CONNECTIONS=48
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-48}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet --bin cordon
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/cordon"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$PGBIN/initdb" ] || { echo "no PostgreSQL server binaries" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
TMP=$(mktemp -d); chmod 755 "$TMP"; PGDIR="$TMP/pg"; mkdir "$PGDIR"
as_owner() { if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi; }
PGPORT=$(free_port)
PIDS=""; NODES=""
cleanup() {
    for p in $PIDS $NODES; do kill "$p" 2>/dev/null || true; done
    as_owner "$PGBIN/pg_ctl -D $PGDIR/data -m immediate stop" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
as_owner "$PGBIN/initdb -D $PGDIR/data -A trust -U postgres >/dev/null && $PGBIN/pg_ctl -D $PGDIR/data -o '-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1' -l $PGDIR/log -w start >/dev/null"
URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
"$BIN" store migrate --store "$URL" >/dev/null
"$BIN" accounts add bench --store "$URL" --subject '{"citizenships": ["US"], "verification": "document_verified", "screening": []}' >/dev/null
KEY=$("$BIN" accounts keys create bench --store "$URL" 2>/dev/null)
UP=$(free_port); "$BIN" mock-upstream --listen "127.0.0.1:$UP" >/dev/null 2>&1 & PIDS="$!"

# CPU seconds (user + system) of the given processes so far.
cpu() { python3 -c '
import os, sys
tick = os.sysconf("SC_CLK_TCK"); total = 0
for p in sys.argv[1:]:
    try:
        f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        total += int(f[11]) + int(f[12])
    except OSError:
        pass
print(total / tick)' "$@"; }
pg_pids() { pgrep -u postgres -d ' ' postgres || true; }

run() { # nodes durability
    local n=$1 durability=$2 ports="" i
    NODES=""
    for i in $(seq 1 "$n"); do
        local port; port=$(free_port); ports="$ports $port"
        cat >"$TMP/$durability-$n-$i.toml" <<TOML
listen = "127.0.0.1:$port"
directives = "$PWD/directives"
catalog = "$PWD/catalog.toml"
store = "$URL"
trusted_proxies = []
[operator]
name = "bench"
url = "https://example.com"
[geo]
databases = ["$PWD/data/geoip/geo-whois-asn-country.mmdb"]
internal_country = "US"
accept_missing_regions = ["UA"]
[audit]
dir = "$TMP/audit-$durability-$n-$i"
durability = "$durability"
[[upstream]]
name = "mock"
url = "http://127.0.0.1:$UP"
families = ["fable", "mythos", "lyric", "echo"]
api = "both"
TOML
        RUST_LOG=warn "$BIN" serve --config "$TMP/$durability-$n-$i.toml" --data-dir "$TMP/data-$durability-$n-$i" --node "$durability-$n-$i" >"$TMP/$durability-$n-$i.log" 2>&1 &
        NODES="$NODES $!"
    done
    for port in $ports; do
        for _ in $(seq 1 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    done
    local per=$((CONNECTIONS / n)) pg; pg=$(pg_pids)
    local c0 p0; c0=$(cpu $NODES); p0=$(cpu $pg)
    local loads=""
    for port in $ports; do
        KEY=$KEY wrk -t1 -c"$per" -d"${DURATION}s" -s bench/gateway/post.lua "http://127.0.0.1:$port/v1/chat/completions" >"$TMP/wrk-$port.txt" 2>&1 &
        loads="$loads $!"
    done
    for p in $loads; do wait "$p"; done
    sleep 0.5
    local c1 p1; c1=$(cpu $NODES); p1=$(cpu $pg)
    python3 - "$n" "$durability" "$c0" "$c1" "$p0" "$p1" "$TMP" $ports <<'PY'
import json, re, sys, urllib.request
n, durability, c0, c1, p0, p1, tmp, *ports = sys.argv[1:]
total = bad = 0; secs = 0.0; lats = []
for p in ports:
    t = open(f"{tmp}/wrk-{p}.txt").read()
    m = re.search(r"(\d+) requests in ([\d.]+)s", t)
    total += int(m.group(1)); secs = max(secs, float(m.group(2)))
    b = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    bad += int(b.group(1)) if b else 0
    h = json.load(urllib.request.urlopen(f"http://127.0.0.1:{p}/healthz"))
    lag = h.get("fleet", {}).get("shipping_lag_ms", {})
    lats.append((lag.get("p50"), lag.get("p99")))
ok = total - bad
cpu_us = (float(c1) - float(c0)) / max(ok, 1) * 1e6
pg_us = (float(p1) - float(p0)) / max(ok, 1) * 1e6
p99 = max((l[1] or 0) for l in lats)
p50 = max((l[0] or 0) for l in lats)
print(f"{n} node(s), {durability:<10}: {ok / secs:8.0f} decisions/s ({bad} not 200), "
      f"node CPU {cpu_us:6.0f} us/decision, PostgreSQL CPU {pg_us:5.0f} us/decision, "
      f"shipping lag p50 {p50:.1f} ms p99 {p99:.1f} ms")
PY
    for p in $NODES; do kill "$p" 2>/dev/null || true; done
    for p in $NODES; do wait "$p" 2>/dev/null || true; done
    NODES=""
}
echo "$(nproc) cores, ${CONNECTIONS} connections in all, ${DURATION} s per point, mock upstream answering at once"
for durability in local replicated; do
    for n in 1 3; do run "$n" "$durability"; done
done

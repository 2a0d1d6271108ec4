#!/usr/bin/env bash
# Where the gateway's CPU goes, per request: one load at a fixed concurrency
# against the 0 ms mock, measured on the gateway process alone. Prints, for
# each configuration, requests/s, CPU time per request (utime + stime),
# context switches per request and, with STRACE=1, system calls per request
# (`strace -c -f`, in a separate run because tracing slows everything), and
# wrk's p50 and p99 at that load (closed loop).
# With PERF=1 it also writes a `perf record` profile of each configuration.
# Asserts nothing.
#
#   bench/gateway/profile.sh                 # ~1 min after the release build
#   STRACE=1 PERF=1 bench/gateway/profile.sh
#
# With POSTGRES=1 it also starts a PostgreSQL server (the machine's server
# binaries, run as the `postgres` user when root) and measures a node on it
# with `durability = "local"` and with `durability = "replicated"`.
#
# Environment: DURATION (s, default 5), CONNS (32), RUNS (3, medians are
# printed), PORT_BASE (19300), ACCOUNTS (10000), WORK (scratch directory),
# AUDIT_EXTRA (lines added to `[audit]` with the log on, e.g. `batch_window_ms = 1`),
# PACE_MS (each connection pauses a jittered PACE_MS between requests, for a
# load below saturation; 0 by default).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/cordon-gateway-profile.XXXXXX)}
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
RUNS=${RUNS:-3}
PORT_BASE=${PORT_BASE:-19300}
ACCOUNTS=${ACCOUNTS:-10000}
PY=${PYTHON:-python3}
MOCK=$((PORT_BASE + 0))
mkdir -p "$WORK/logs"
PIDS=()
PG_STOP=""
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    [ -n "$PG_STOP" ] && eval "$PG_STOP" > /dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
command -v wrk >/dev/null || { echo "needs wrk (apt-get install -y wrk)" >&2; exit 1; }

(cd "$REPO" && cargo build --release -q -p cordon-cli)
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/cordon

wait_http() { local i; for i in $(seq 1 300); do curl -s -o /dev/null --max-time 1 "$1" && return 0; sleep 0.1; done; echo "nothing at $1" >&2; return 1; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s}'; }
# CPU ticks of every PostgreSQL server process (0 without POSTGRES=1).
pg_ticks() {
    local sum=0 p
    for p in $(pgrep -u postgres -x postgres 2>/dev/null); do
        [ -r "/proc/$p/stat" ] && sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$sum"
}

$PY - "$WORK/accounts.jsonl" "$ACCOUNTS" <<'PYEOF'
import json, random, sys
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
with open(path, "w") as f:
    f.write(json.dumps({"id": "bench-us", "verification": "document_verified", "source": "bench",
                        "citizenships": ["US"], "residence_country": "US", "screening": []}) + "\n")
    for i in range(1, n):
        c = rnd.choice(["US", "DE", "FR", "IN", "GB", "JP", "BR", "CA"])
        f.write(json.dumps({"id": f"acct-{i:06d}", "verification": "document_verified", "source": "bench",
                            "citizenships": [c], "residence_country": c, "screening": []}) + "\n")
PYEOF
"$BIN" accounts --store "$WORK/identity.db" import "$WORK/accounts.jsonl" --batch 5000 > "$WORK/logs/import.txt" 2>&1
KEY=$("$BIN" accounts --store "$WORK/identity.db" keys create bench-us --label bench 2>/dev/null)

"$BIN" mock-upstream --listen "127.0.0.1:$MOCK" --stats-listen "127.0.0.1:$((PORT_BASE + 9))" \
    > "$WORK/logs/mock.txt" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$((PORT_BASE + 9))/mock/stats"

# name port rust_log audit(on|off)
declare -A PID PORT KEYS
start() {
    sed -e "s#@REPO@#$REPO#g" -e "s#@WORK@#$WORK#g" -e "s/@PORT@/$2/" -e "s/@UPSTREAM_PORT@/$MOCK/" \
        "$HERE/cordon.toml" > "$WORK/cordon-$1.toml"
    if [ "$4" = off ]; then
        printf '\n[audit]\nenabled = false\n' >> "$WORK/cordon-$1.toml"
    elif [ -n "${AUDIT_EXTRA:-}" ]; then
        printf '\n[audit]\n%s\n' "$AUDIT_EXTRA" >> "$WORK/cordon-$1.toml"
    fi
    RUST_LOG=$3 "$BIN" serve --config "$WORK/cordon-$1.toml" --data-dir "$WORK/data-$1" \
        > "$WORK/logs/cordon-$1.txt" 2>&1 &
    PIDS+=($!); PID[$1]=$!; PORT[$1]=$2
}
CONFIGS="log-on log-on-quiet log-off"
start log-on $((PORT_BASE + 1)) info on
start log-on-quiet $((PORT_BASE + 2)) warn on
start log-off $((PORT_BASE + 3)) info off

if [ -n "${POSTGRES:-}" ]; then
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    [ -x "$PGBIN/initdb" ] || { echo "POSTGRES=1 needs PostgreSQL's server binaries" >&2; exit 1; }
    PGDIR=$WORK/pg; mkdir -p "$PGDIR"; chmod 755 "$WORK"
    as_owner() { if [ "$(id -u)" = 0 ]; then chown -R postgres "$PGDIR"; su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi; }
    PGPORT=$((PORT_BASE + 8))
    as_owner "$PGBIN/initdb -D $PGDIR/data -A trust -U postgres" > "$WORK/logs/initdb.txt" 2>&1
    as_owner "$PGBIN/pg_ctl -D $PGDIR/data -o '-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1' -l $PGDIR/log -w start" > /dev/null
    PG_STOP="as_owner '$PGBIN/pg_ctl -D $PGDIR/data -m fast stop'"
    URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
    "$BIN" store migrate --store "$URL" > /dev/null
    "$BIN" accounts --store "$URL" import "$WORK/accounts.jsonl" --batch 5000 > "$WORK/logs/import-pg.txt" 2>&1
    PGKEY=$("$BIN" accounts --store "$URL" keys create bench-us --label bench 2>/dev/null)
    for mode in local replicated; do
        name=pg-$mode; port=$((PORT_BASE + 4)); [ "$mode" = replicated ] && port=$((PORT_BASE + 5))
        sed -e "s#@REPO@#$REPO#g" -e "s#@WORK@#$WORK#g" -e "s/@PORT@/$port/" -e "s/@UPSTREAM_PORT@/$MOCK/" \
            -e "s#^store = .*#store = \"$URL\"#" "$HERE/cordon.toml" > "$WORK/cordon-$name.toml"
        printf '\n[audit]\ndurability = "%s"\n' "$mode" >> "$WORK/cordon-$name.toml"
        RUST_LOG=info "$BIN" serve --config "$WORK/cordon-$name.toml" --data-dir "$WORK/data-$name" --node "bench-$mode" \
            > "$WORK/logs/cordon-$name.txt" 2>&1 &
        PIDS+=($!); PID[$name]=$!; PORT[$name]=$port; KEYS[$name]=$PGKEY
    done
    CONFIGS="$CONFIGS pg-local pg-replicated"
fi
for c in $CONFIGS; do wait_http "http://127.0.0.1:${PORT[$c]}/healthz"; done

load() { # port seconds [key] -> "requests p50_ms p99_ms"
    KEY=${3:-$KEY} MEAN_DELAY_MS=${PACE_MS:-0} wrk -t1 -c"$CONNS" -d"$2"s --latency -s "$HERE/post.lua" \
        "http://127.0.0.1:$1/v1/chat/completions" 2>/dev/null |
        awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
             $1 == "50%" {p50 = ms($2)} $1 == "99%" {p99 = ms($2)} /requests in/ {n = $1}
             END {printf "%s %.3f %.3f\n", n, p50, p99}'
}
{
printf '%-14s %10s %12s %14s %12s %9s %9s\n' config req/s "CPU µs/req" "switches/req" "PG µs/req" "p50 ms" "p99 ms"
for c in $CONFIGS; do
    load "${PORT[$c]}" 2 "${KEYS[$c]:-}" > /dev/null
    rows=()
    for _ in $(seq 1 "$RUNS"); do
        t0=$(ticks "${PID[$c]}"); s0=$(switches "${PID[$c]}"); p0=$(pg_ticks)
        read -r n p50 p99 < <(load "${PORT[$c]}" "$DURATION" "${KEYS[$c]:-}")
        t1=$(ticks "${PID[$c]}"); s1=$(switches "${PID[$c]}"); p1=$(pg_ticks)
        rows+=("$($PY -c 'import sys; n,t,s,p,d,hz=map(float,sys.argv[1:7]); print("%.0f %.1f %.2f %.1f %s %s" % (n/d, t/hz*1e6/n, s/n, p/hz*1e6/n, sys.argv[7], sys.argv[8]))' \
            "$n" "$((t1 - t0))" "$((s1 - s0))" "$((p1 - p0))" "$DURATION" "$(getconf CLK_TCK)" "$p50" "$p99")")
    done
    printf '%s\n' "${rows[@]}" | sort -k2 -n | awk -v c="$c" -v k="$(( (RUNS + 1) / 2 ))" \
        'NR == k {printf "%-14s %10s %12s %14s %12s %9s %9s\n", c, $1, $2, $3, (c ~ /^pg-/ ? $4 : ""), $5, $6}'
done
} | tee "$WORK/table.txt"

if [ -n "${STRACE:-}" ] && command -v strace >/dev/null; then
    for c in $CONFIGS; do
        strace -c -f -o "$WORK/strace-$c.txt" -p "${PID[$c]}" 2>/dev/null & st=$!
        sleep 1
        read -r n _ < <(load "${PORT[$c]}" "$DURATION" "${KEYS[$c]:-}")
        kill -INT "$st"; wait "$st" 2>/dev/null || true
        calls=$(awk '/^100.00|total/ {print $4}' "$WORK/strace-$c.txt" | tail -1)
        printf '%-14s syscalls/req %.1f (strace, %s requests)\n' "$c" "$($PY -c "print($calls/$n)")" "$n"
        sort -k4 -n -r "$WORK/strace-$c.txt" | awk 'NR > 1 && NR <= 9 && $NF != "total" {printf "    %-16s %s\n", $NF, $4}' | head -8
    done
fi

if [ -n "${PERF:-}" ] && command -v perf >/dev/null; then
    for c in $CONFIGS; do
        ( KEY=${KEYS[$c]:-$KEY} timeout $((DURATION + 4)) wrk -t1 -c"$CONNS" -d$((DURATION + 2))s -s "$HERE/post.lua" \
            "http://127.0.0.1:${PORT[$c]}/v1/chat/completions" > /dev/null 2>&1 & )
        sleep 1
        perf record -F 999 -g -o "$WORK/perf-$c.data" -p "${PID[$c]}" -- sleep "$DURATION" > /dev/null 2>&1 || true
        perf report -i "$WORK/perf-$c.data" --no-children --sort sym -g none --stdio 2>/dev/null |
            grep -v -e '^#' -e '^$' | head -40 | cut -c1-150 > "$WORK/perf-$c.txt" || true
        sleep 2
        echo "perf profile of $c: $WORK/perf-$c.txt"
    done
fi
echo "scratch: $WORK" >&2

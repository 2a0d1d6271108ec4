#!/usr/bin/env bash
# Gateway benchmark: direct to a mock upstream, through nginx as a plain
# reverse proxy, and through `cordon serve` with full enforcement (API keys
# from a 100,000-account identity store, GeoIP, the shipped directives), plus
# LiteLLM's proxy when it can be installed. Everything listens on 127.0.0.1;
# every load run is bounded in time. Prints figures and writes RESULTS.md;
# asserts nothing.
#
#   bench/gateway/run.sh                 # full run (~10 min after the build)
#   DURATION=4 SKIP_LITELLM=1 bench/gateway/run.sh   # quicker
#
# Environment: DURATION (s per load point, default 8), PORT_BASE (19100), AUDIT=off
# (cordon without its audit log, to compare the proxy alone),
# SKIP_LITELLM=1, LITELLM_VENV (default ~/.cache/cordon-bench/litellm-venv),
# PROFILE=1 (perf record the gateway at saturation), WORK (scratch directory),
# ACCOUNTS (100000), STREAMS (1000), BUDGET_0_MS (10), BUDGET_60_MS (90),
# NO_INSTALL=1 (do not apt-get), RESULTS (output file).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/cordon-gateway-bench.XXXXXX)}
DURATION=${DURATION:-8}
PORT_BASE=${PORT_BASE:-19100}
ACCOUNTS=${ACCOUNTS:-100000}
STREAMS=${STREAMS:-1000}
BUDGET_0_MS=${BUDGET_0_MS:-10}
BUDGET_60_MS=${BUDGET_60_MS:-90}
RESULTS=${RESULTS:-$HERE/RESULTS.md}
LITELLM_VENV=${LITELLM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cordon-bench/litellm-venv}
SWEEP_0=${SWEEP_0:-"1 16 64 256"}
SWEEP_60=${SWEEP_60:-"64 128 256 384 512 768 1024"}
PY=${PYTHON:-python3}

MOCK_0=$((PORT_BASE + 0)); MOCK_60=$((PORT_BASE + 1)); MOCK_HOLD=$((PORT_BASE + 2))
STATS_0=$((PORT_BASE + 10)); STATS_60=$((PORT_BASE + 11)); STATS_HOLD=$((PORT_BASE + 12))
NGX_0=$((PORT_BASE + 20)); NGX_60=$((PORT_BASE + 21)); NGX_HOLD=$((PORT_BASE + 22))
CRD_0=$((PORT_BASE + 30)); CRD_60=$((PORT_BASE + 31)); CRD_HOLD=$((PORT_BASE + 32)); CRD_QUIET=$((PORT_BASE + 33)); CRD_NOAUDIT=$((PORT_BASE + 34))
LLM_0=$((PORT_BASE + 40)); LLM_60=$((PORT_BASE + 41))

mkdir -p "$WORK"/{wrk,logs,nginx}
OUT=$WORK/results.jsonl
: > "$OUT"
PIDS=()

log() { printf '\n== %s\n' "$*" >&2; }
record() { printf '%s\n' "$1" >> "$OUT"; }

cleanup() {
    local pid
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    sleep 0.5
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT INT TERM

ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# --- tools -------------------------------------------------------------------
need_pkgs=()
command -v wrk >/dev/null || need_pkgs+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_pkgs+=(nginx-light)
command -v curl >/dev/null || need_pkgs+=(curl)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ -n "${NO_INSTALL:-}" ]; then echo "missing: ${need_pkgs[*]}" >&2; exit 1; fi
    log "installing ${need_pkgs[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get install -y "${need_pkgs[@]}" >&2
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

log "building cordon (release)"
(cd "$REPO" && cargo build --release -q -p cordon-cli)
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
BIN=$TARGET_DIR/release/cordon

# --- helpers -----------------------------------------------------------------
wait_http() { # url, up to 30 s
    local i
    for i in $(seq 1 300); do
        curl -s -o /dev/null --max-time 1 "$1" && return 0
        sleep 0.1
    done
    echo "nothing answers at $1" >&2; return 1
}
cpu_ticks() { # utime+stime of the given pids (a proxy's processes), in clock ticks
    local sum=0 pid
    for pid in $1; do
        [ -r "/proc/$pid/stat" ] && sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$sum"
}
declare -A CPU_PIDS
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
open_streams() { curl -s --max-time 2 "http://127.0.0.1:$1/mock/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["open_streams"])'; }
wait_streams_zero() { # stats port, up to 60 s
    local i
    for i in $(seq 1 600); do
        [ "$(open_streams "$1")" = "0" ] && return 0
        sleep 0.1
    done
    echo "the mock on stats port $1 still has open streams" >&2
}

# run_wrk SCENARIO TARGET PORT CONNS [MEAN_DELAY_MS RATE]
run_wrk() {
    local scen=$1 target=$2 port=$3 c=$4 mean=${5:-0} rate=${6:-0}
    local t=2; [ "$c" -lt 2 ] && t=1
    local cpu0; cpu0=$(cpu_ticks "${CPU_PIDS[$target]:-}")
    local f="$WORK/wrk/$scen-$target-c$c-r$rate.txt"
    local cmd="wrk -t$t -c$c -d${DURATION}s --timeout 10s --latency -s bench/gateway/post.lua http://127.0.0.1:$port/v1/chat/completions"
    KEY=$KEY MEAN_DELAY_MS=$mean wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 10s --latency \
        -s "$HERE/post.lua" "http://127.0.0.1:$port/v1/chat/completions" > "$f" 2>&1 || true
    local rec
    rec=$($PY "$HERE/report.py" wrk "$f" --scenario "$scen" --target "$target" --conns "$c" \
        --rate "$rate" --mean-delay "$mean" --cpu-ticks "$(( $(cpu_ticks "${CPU_PIDS[$target]:-}") - cpu0 ))" \
        --clk-tck "$(getconf CLK_TCK)" --command "KEY=… MEAN_DELAY_MS=$mean $cmd")
    record "$rec"
    printf '%-9s %-13s c=%-5s rate=%-6s %s\n' "$scen" "$target" "$c" "$rate" "$($PY "$HERE/report.py" line "$rec")" >&2
}
warm() { KEY=$KEY wrk -t1 -c8 -d2s -s "$HERE/post.lua" "http://127.0.0.1:$1/v1/chat/completions" >/dev/null 2>&1 || true; }

# --- identity store: 100,000 accounts and one key ----------------------------
log "generating and importing $ACCOUNTS accounts"
$PY - "$WORK/accounts.jsonl" "$ACCOUNTS" <<'EOF'
import json, random, sys
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
countries = ["US", "DE", "FR", "IN", "GB", "JP", "BR", "CA", "KR", "MX", "NG", "CN", "IR"]
with open(path, "w") as f:
    # Screened against the lists with no hit, as every customer is once the
    # lists have been imported: the restricted-parties order refuses an
    # account that has never been screened.
    f.write(json.dumps({"id": "bench-us", "verification": "document_verified", "source": "bench",
                        "citizenships": ["US"], "residence_country": "US", "screening": []}) + "\n")
    for i in range(1, n):
        c = rnd.choice(countries)
        rec = {"id": f"acct-{i:06d}", "verification": rnd.choice(["document_verified", "self_declared"]),
               "source": "bench", "citizenships": [c], "residence_country": rnd.choice(countries),
               "screening": []}
        if c != "US" and rnd.random() < 0.1:
            rec["citizenships"].append("US")
        if rnd.random() < 0.5:
            rec["permanent_residencies"] = []
            rec["protected_individual"] = False
        f.write(json.dumps(rec) + "\n")
EOF
rm -f "$WORK"/identity.db*
t0=$(date +%s.%N)
"$BIN" accounts --store "$WORK/identity.db" import "$WORK/accounts.jsonl" --batch 5000 > "$WORK/logs/import.txt" 2>&1
t1=$(date +%s.%N)
KEY=$("$BIN" accounts --store "$WORK/identity.db" keys create bench-us --label bench 2>/dev/null)
record "$($PY -c 'import json,sys; print(json.dumps({"kind":"import","accounts":int(sys.argv[1]),"secs":float(sys.argv[3])-float(sys.argv[2]),"store_bytes":int(sys.argv[4])}))' \
    "$ACCOUNTS" "$t0" "$t1" "$(stat -c %s "$WORK/identity.db")")"
tail -1 "$WORK/logs/import.txt" >&2

# --- upstreams, nginx, cordon ------------------------------------------------
log "starting the mock upstreams"
declare -A MOCK_PID
start_mock() { # port stats first_ms token_ms
    "$BIN" mock-upstream --listen "127.0.0.1:$1" --stats-listen "127.0.0.1:$2" \
        --first-token-ms "$3" --token-delay-ms "$4" > "$WORK/logs/mock-$1.txt" 2>&1 &
    PIDS+=($!)
    MOCK_PID[$1]=$!
}
start_mock "$MOCK_0" "$STATS_0" 0 0
start_mock "$MOCK_60" "$STATS_60" 60 0
start_mock "$MOCK_HOLD" "$STATS_HOLD" 0 1000
for p in "$STATS_0" "$STATS_60" "$STATS_HOLD"; do wait_http "http://127.0.0.1:$p/mock/stats"; done

log "starting nginx"
sed -e "s#@WORK@#$WORK#g" -e "s/@NGINX_PORT_0@/$NGX_0/" -e "s/@NGINX_PORT_60@/$NGX_60/" \
    -e "s/@NGINX_PORT_HOLD@/$NGX_HOLD/" -e "s/@MOCK_PORT_0@/$MOCK_0/" -e "s/@MOCK_PORT_60@/$MOCK_60/" \
    -e "s/@MOCK_PORT_HOLD@/$MOCK_HOLD/" "$HERE/nginx.conf" > "$WORK/nginx/nginx.conf"
"$NGINX" -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' \
    > "$WORK/logs/nginx.txt" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")

log "starting cordon serve"
declare -A CRD_PID
start_cordon() { # name port upstream [RUST_LOG] [audit: on|off]
    sed -e "s#@REPO@#$REPO#g" -e "s#@WORK@#$WORK#g" -e "s/@PORT@/$2/" -e "s/@UPSTREAM_PORT@/$3/" \
        "$HERE/cordon.toml" > "$WORK/cordon-$1.toml"
    if [ "${5:-${AUDIT:-on}}" = off ]; then printf '\n[audit]\nenabled = false\n' >> "$WORK/cordon-$1.toml"; fi
    RUST_LOG=${4:-info} "$BIN" serve --config "$WORK/cordon-$1.toml" --data-dir "$WORK/data-$1" \
        > "$WORK/logs/cordon-$1.txt" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    CRD_PID[$1]=$pid
}
start_cordon 0 "$CRD_0" "$MOCK_0"
start_cordon 60 "$CRD_60" "$MOCK_60"
start_cordon hold "$CRD_HOLD" "$MOCK_HOLD"
start_cordon quiet "$CRD_QUIET" "$MOCK_0" warn
start_cordon noaudit "$CRD_NOAUDIT" "$MOCK_0" info off
for p in "$CRD_0" "$CRD_60" "$CRD_HOLD" "$CRD_QUIET" "$CRD_NOAUDIT"; do wait_http "http://127.0.0.1:$p/healthz"; done
for p in "$NGX_0" "$NGX_60" "$NGX_HOLD"; do
    for i in $(seq 1 100); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/" && break; sleep 0.1; done
done
sleep 1
for n in 0 60 hold; do
    record "{\"kind\":\"rss\",\"what\":\"idle\",\"instance\":\"$n\",\"kib\":$(rss_kib "${CRD_PID[$n]}")}"
done
echo "cordon idle RSS: $(rss_kib "${CRD_PID[hold]}") KiB" >&2

log "sanity: one request through each path"
for p in "$MOCK_0" "$NGX_0" "$CRD_0"; do
    curl -s -o /dev/null -D - --max-time 5 "http://127.0.0.1:$p/v1/chat/completions" \
        -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -d '{"model": "fable-5", "messages": [{"role": "user", "content": "Hello"}]}' \
        | grep -iE '^HTTP|^x-cordon-effect' | tr -d '\r' | paste -sd ' ' >&2
done
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$CRD_0/v1/chat/completions" \
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"model": "fable-5", "messages": [{"role": "user", "content": "Hello"}]}')
[ "$code" = 200 ] || { echo "cordon answered $code, not 200: see $WORK/logs" >&2; exit 1; }

# --- LiteLLM (optional) ------------------------------------------------------
LITELLM_OK=""
declare -A LLM_PID
if [ -z "${SKIP_LITELLM:-}" ]; then
    log "LiteLLM: installing into $LITELLM_VENV (if needed)"
    if [ ! -x "$LITELLM_VENV/bin/litellm" ]; then
        mkdir -p "$(dirname "$LITELLM_VENV")"
        if ! ( $PY -m venv "$LITELLM_VENV" && timeout 900 "$LITELLM_VENV/bin/pip" install -q 'litellm[proxy]' ) \
            > "$WORK/logs/litellm-install.txt" 2>&1; then
            record '{"kind":"litellm","status":"install failed (see logs/litellm-install.txt)"}'
        fi
    fi
    if [ -x "$LITELLM_VENV/bin/litellm" ]; then
        for pair in "$LLM_0:$MOCK_0" "$LLM_60:$MOCK_60"; do
            lp=${pair%%:*}; mp=${pair##*:}
            sed -e "s/@MOCK_PORT@/$mp/" "$HERE/litellm.yaml" > "$WORK/litellm-$lp.yaml"
            LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_TELEMETRY=False NO_DOCS=True DISABLE_ADMIN_UI=True \
                "$LITELLM_VENV/bin/litellm" --config "$WORK/litellm-$lp.yaml" --host 127.0.0.1 --port "$lp" \
                > "$WORK/logs/litellm-$lp.txt" 2>&1 &
            PIDS+=($!)
            LLM_PID[$lp]=$!
        done
        if wait_http "http://127.0.0.1:$LLM_0/health/liveliness" && wait_http "http://127.0.0.1:$LLM_60/health/liveliness"; then
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$LLM_0/v1/chat/completions" \
                -H "Authorization: Bearer sk-bench-master" -H 'Content-Type: application/json' \
                -d '{"model": "fable-5", "messages": [{"role": "user", "content": "Hello"}]}')
            if [ "$code" = 200 ]; then
                LITELLM_OK=1
                record "{\"kind\":\"litellm\",\"status\":\"ok\",\"version\":\"$("$LITELLM_VENV/bin/pip" show litellm 2>/dev/null | awk '/^Version/ {print $2}')\"}"
            else
                record "{\"kind\":\"litellm\",\"status\":\"proxy answered HTTP $code\"}"
            fi
        else
            record '{"kind":"litellm","status":"proxy did not start within 30 s (see logs/litellm-*.txt)"}'
        fi
    fi
fi

# --- non-streaming load: 0 ms mock (pure overhead) ---------------------------
NGINX_WORKERS=$(pgrep -P "$NGINX_PID" | tr "\n" " ")
TARGETS_0="direct:$MOCK_0 nginx:$NGX_0 cordon:$CRD_0 cordon-nolog:$CRD_QUIET cordon-noaudit:$CRD_NOAUDIT"
TARGETS_60="direct:$MOCK_60 nginx:$NGX_60 cordon:$CRD_60"
CPU_PIDS=([direct]="${MOCK_PID[$MOCK_0]}" [nginx]="$NGINX_PID $NGINX_WORKERS" [cordon]="${CRD_PID[0]}" [cordon-nolog]="${CRD_PID[quiet]}" [cordon-noaudit]="${CRD_PID[noaudit]}")
log "non-streaming sweep, 0 ms mock, ${DURATION}s per point"
for tp in $TARGETS_0; do
    t=${tp%%:*}; p=${tp##*:}; warm "$p"
    for c in $SWEEP_0; do run_wrk mock0 "$t" "$p" "$c"; done
done
if [ -n "$LITELLM_OK" ]; then
    CPU_PIDS[litellm]="${LLM_PID[$LLM_0]} $(cat /proc/"${LLM_PID[$LLM_0]}"/task/*/children 2>/dev/null | tr '\n' ' ')"
    KEY_SAVED=$KEY; KEY=sk-bench-master; warm "$LLM_0"
    for c in 1 16 64; do run_wrk mock0 litellm "$LLM_0" "$c"; done
    KEY=$KEY_SAVED
fi

if [ -n "${PROFILE:-}" ] && command -v perf >/dev/null; then
    log "perf record of cordon at saturation (c=64)"
    ( KEY=$KEY timeout 12 wrk -t2 -c64 -d10s -s "$HERE/post.lua" "http://127.0.0.1:$CRD_0/v1/chat/completions" > /dev/null 2>&1 & )
    sleep 2
    perf record -F 499 -g -o "$WORK/perf.data" -p "${CRD_PID[0]}" -- sleep 5 > /dev/null 2>&1 || true
    { perf report -i "$WORK/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null | grep -v -e '^#' -e '^$' | head -6
      echo
      perf report -i "$WORK/perf.data" --no-children --sort sym -g none --stdio 2>/dev/null | grep -v -e '^#' -e '^$' | head -40
    } | cut -c1-160 > "$WORK/perf-cordon.txt" || true
    sleep 4
fi

# Half of cordon's max throughput within the budget, the same rate for every target.
half_rate_runs() { # scenario budget base_latency_ms targets
    local scen=$1 budget=$2 base=$3 targets=$4 c
    local max half mean
    max=$($PY "$HERE/report.py" maxrate "$OUT" --scenario "$scen" --target cordon --budget-ms "$budget")
    half=$($PY -c 'import sys; print(int(float(sys.argv[1]) / 2))' "$max")
    [ "$half" -gt 0 ] || { echo "no cordon point within the budget for $scen" >&2; return 0; }
    # Enough connections that each pauses several times its latency between requests.
    c=$($PY -c 'import sys; r,b=map(float,sys.argv[1:]); print(max(32,int(r*(b+2)/1000*3)))' "$half" "$base")
    mean=$($PY -c 'import sys; c,r,b=map(float,sys.argv[1:]); print(max(1,int(c*1000/r-b)))' "$c" "$half" "$base")
    log "$scen at half of cordon's max ($half req/s): $c connections, mean pause $mean ms"
    for tp in $targets; do run_wrk "$scen" "${tp%%:*}" "${tp##*:}" "$c" "$mean" "$half"; done
}
half_rate_runs mock0 "$BUDGET_0_MS" 0.3 "$TARGETS_0"
# The disk's own fdatasync, beside which the log's added p99 is read.
log "the disk's fdatasync latency (the floor under a durable decision)"
record "$($PY "$HERE/fsync.py" "$WORK" -n 2000)"

# --- non-streaming load: 60 ms mock ------------------------------------------
CPU_PIDS=([direct]="${MOCK_PID[$MOCK_60]}" [nginx]="$NGINX_PID $NGINX_WORKERS" [cordon]="${CRD_PID[60]}")
log "non-streaming sweep, 60 ms mock, ${DURATION}s per point"
for tp in $TARGETS_60; do
    t=${tp%%:*}; p=${tp##*:}; warm "$p"
    for c in $SWEEP_60; do run_wrk mock60 "$t" "$p" "$c"; done
done
if [ -n "$LITELLM_OK" ]; then
    CPU_PIDS[litellm]="${LLM_PID[$LLM_60]} $(cat /proc/"${LLM_PID[$LLM_60]}"/task/*/children 2>/dev/null | tr '\n' ' ')"
    KEY_SAVED=$KEY; KEY=sk-bench-master; warm "$LLM_60"
    for c in 64 256; do run_wrk mock60 litellm "$LLM_60" "$c"; done
    KEY=$KEY_SAVED
fi
half_rate_runs mock60 "$BUDGET_60_MS" 60 "$TARGETS_60"
record "{\"kind\":\"rss\",\"what\":\"after_load\",\"instance\":\"0\",\"kib\":$(rss_kib "${CRD_PID[0]}")}"
record "{\"kind\":\"rss\",\"what\":\"after_load\",\"instance\":\"60\",\"kib\":$(rss_kib "${CRD_PID[60]}")}"

# --- time to first token -----------------------------------------------------
log "time to first token, 200 sequential streams per path"
ttft() { # scenario target port key
    local r
    r=$($PY "$HERE/streams.py" ttft --port "$3" --key "$4" -n 200 --timeout 10)
    record "$($PY -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(kind="ttft",scenario=sys.argv[2],target=sys.argv[3],command=sys.argv[4]); print(json.dumps(r))' \
        "$r" "$1" "$2" "python3 bench/gateway/streams.py ttft --port $3 -n 200")"
    echo "$1 $2: $r" >&2
}
for tp in $TARGETS_0; do ttft mock0 "${tp%%:*}" "${tp##*:}" "$KEY"; done
for tp in $TARGETS_60; do ttft mock60 "${tp%%:*}" "${tp##*:}" "$KEY"; done
if [ -n "$LITELLM_OK" ]; then
    ttft mock0 litellm "$LLM_0" sk-bench-master
    ttft mock60 litellm "$LLM_60" sk-bench-master
fi

# --- memory with open streams ------------------------------------------------
log "cordon RSS with $STREAMS open streams ($ACCOUNTS accounts in the store)"
r=$($PY "$HERE/streams.py" hold --port "$CRD_HOLD" --key "$KEY" -n "$STREAMS" --pid "${CRD_PID[hold]}" \
    --stats "http://127.0.0.1:$STATS_HOLD/mock/stats" --hold-secs 4 --timeout 30)
record "$($PY -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(kind="hold",target="cordon"); print(json.dumps(r))' "$r")"
echo "$r" >&2
wait_streams_zero "$STATS_HOLD"

# --- 1,000 clients disconnecting mid-stream ----------------------------------
log "$STREAMS clients disconnect mid-stream (mock: 1 token per second)"
for tp in "direct:$MOCK_HOLD" "nginx:$NGX_HOLD" "cordon:$CRD_HOLD"; do
    wait_streams_zero "$STATS_HOLD"
    r=$($PY "$HERE/streams.py" disconnect --port "${tp##*:}" --key "$KEY" -n "$STREAMS" \
        --stats "http://127.0.0.1:$STATS_HOLD/mock/stats" --timeout 30)
    record "$($PY -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(kind="disconnect",target=sys.argv[2]); print(json.dumps(r))' "$r" "${tp%%:*}")"
    echo "${tp%%:*}: $r" >&2
done
record "{\"kind\":\"rss\",\"what\":\"after_streams\",\"instance\":\"hold\",\"kib\":$(rss_kib "${CRD_PID[hold]}")}"

# --- the report --------------------------------------------------------------
record "$($PY - "$REPO" "$NGINX" "$DURATION" "$BUDGET_0_MS" "$BUDGET_60_MS" "$STREAMS" <<'EOF'
import json, platform, subprocess, sys, datetime
repo, nginx, duration, b0, b60, streams = sys.argv[1:]
def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip() or \
               subprocess.run(cmd, capture_output=True, text=True, timeout=10).stderr.strip()
    except Exception as e:
        return f"unavailable ({e})"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((l.split(":", 1)[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
print(json.dumps({"kind": "meta", "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "cpu": cpu, "cpus": sh("nproc"), "mem": mem, "kernel": platform.release(), "os": sh("sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"),
    "commit": sh("git", "-C", repo, "rev-parse", "--short", "HEAD"), "rustc": sh("rustc", "--version"),
    "wrk": sh("sh", "-c", "wrk -v 2>&1 | head -1"), "nginx": sh("sh", "-c", f"{nginx} -v 2>&1"),
    "python": platform.python_version(), "duration": int(duration), "budget_0_ms": float(b0),
    "budget_60_ms": float(b60), "streams": int(streams)}))
EOF
)"
[ -f "$WORK/perf-cordon.txt" ] && cp "$WORK/perf-cordon.txt" "$WORK/perf.txt"
$PY "$HERE/report.py" render "$WORK" > "$RESULTS"
log "wrote $RESULTS (raw outputs in $WORK)"
cat "$RESULTS"

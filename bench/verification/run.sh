#!/usr/bin/env bash
# Verification benchmark, against a release `cordon serve` with its identity
# store on disk and its audit log on (every change durable before the answer):
#
#  (a) webhook intake: INTAKE signed deliveries for distinct accounts over
#      CONNS concurrent keep-alive connections -> accepted events/s;
#  (b) time from a webhook's 2xx to the first allowed request of that account:
#      for LATENCY accounts refused with `verification_required` (each asked
#      once first, so its principal is cached), one at a time: deliver the
#      verification and, as soon as the 2xx arrives, send the chat request
#      (again until allowed, bounded) -> p50/p99 in ms;
#  (c) the decision path with no event arriving: requests/s of a fixed chat
#      load (wrk, CHAT_CONNS connections, DURATION s, a verified U.S. citizen
#      asking for fable-5) with and without a `[verification]` section in the
#      configuration, same binary, RUNS runs each, alternating.
#
# Everything listens on 127.0.0.1; every loop is bounded. Prints one results
# block and writes RESULTS.md; asserts nothing.
#
#   bench/verification/run.sh                          # ~3 min after the build
#   INTAKE=2000 LATENCY=100 DURATION=4 bench/verification/run.sh   # quicker
#
# Environment: ACCOUNTS (generated accounts, 20000), INTAKE (5000), CONNS (16),
# LATENCY (300), CHAT_CONNS (32), DURATION (8), RUNS (3), PORT_BASE (19300),
# WORK (scratch directory, on disk), NO_BUILD=1 with CORDON=path (use an
# existing binary), NO_INSTALL=1 (do not apt-get wrk), PYTHON (python3),
# RESULTS (output file).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/cordon-verification-bench.XXXXXX)}
ACCOUNTS=${ACCOUNTS:-20000}
INTAKE=${INTAKE:-5000}
CONNS=${CONNS:-16}
LATENCY=${LATENCY:-300}
CHAT_CONNS=${CHAT_CONNS:-32}
DURATION=${DURATION:-8}
RUNS=${RUNS:-3}
PORT_BASE=${PORT_BASE:-19300}
RESULTS=${RESULTS:-$HERE/RESULTS.md}
PY=${PYTHON:-python3}
MOCK=$((PORT_BASE + 0))
GW=$((PORT_BASE + 1))

mkdir -p "$WORK/logs"
PIDS=()
log() { printf '\n== %s\n' "$*" >&2; }

cleanup() {
    local pid
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT INT TERM

if ! command -v wrk >/dev/null; then
    if [ -n "${NO_INSTALL:-}" ]; then echo "run.sh: wrk is missing" >&2; exit 1; fi
    log "installing wrk"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get install -y wrk >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y wrk >&2; }
fi

TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
CORDON=${CORDON:-$TARGET_DIR/release/cordon}
if [ "${NO_BUILD:-0}" != 1 ]; then
    log "cargo build --release -p cordon-cli"
    (cd "$REPO" && cargo build --release -q -p cordon-cli)
fi
[ -x "$CORDON" ] || { echo "run.sh: no cordon binary at \`$CORDON\`" >&2; exit 1; }

SECRET=$($PY -c 'import base64, os; print("whsec_" + base64.b64encode(os.urandom(32)).decode())')
SOURCE_TOML="[[verification.source]]
name = \"mock-vendor\"
format = \"cordon\"
secrets = [\"$SECRET\"]"

# config NAME VERIFICATION_TOML: writes $WORK/NAME.toml.
config() {
    local body
    body=$(sed -e "s#@REPO@#$REPO#g" -e "s#@WORK@#$WORK#g" -e "s#@PORT@#$GW#g" \
        -e "s#@UPSTREAM_PORT@#$MOCK#g" "$HERE/cordon.toml")
    printf '%s\n' "${body//@VERIFICATION@/$2}" > "$WORK/$1.toml"
}

wait_healthy() {
    local i
    for i in $(seq 1 150); do
        curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "run.sh: nothing healthy on port $1; see $WORK/logs" >&2
    exit 1
}

SERVE_PID=""
# serve CONFIG DATA_DIR: starts the gateway and waits until it is healthy.
serve() {
    RUST_LOG=warn "$CORDON" serve --config "$WORK/$1.toml" --data-dir "$2" \
        > "$WORK/logs/$1.out" 2>> "$WORK/logs/$1.err" &
    SERVE_PID=$!
    PIDS+=("$SERVE_PID")
    wait_healthy "$GW"
}

stop() {
    kill "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
    SERVE_PID=""
}

cd "$REPO"
log "generating $ACCOUNTS accounts into $WORK/identity.db"
"$CORDON" accounts generate --count "$ACCOUNTS" --seed 20261207 --out "$WORK/accounts.jsonl" >&2
"$CORDON" accounts --store "$WORK/identity.db" generate --count "$ACCOUNTS" --seed 20261207 >&2
log "choosing accounts and creating API keys"
$PY "$HERE/load.py" plan --accounts "$WORK/accounts.jsonl" --cordon "$CORDON" \
    --store "$WORK/identity.db" --intake "$INTAKE" --latency "$LATENCY" --out "$WORK/plan.json" >&2
LOAD_KEY=$($PY -c 'import json, sys; p = json.load(open(sys.argv[1])); print(p["keys"][p["load"]])' "$WORK/plan.json")

"$CORDON" mock-upstream --listen "127.0.0.1:$MOCK" > "$WORK/logs/mock.out" 2>&1 &
PIDS+=("$!")
sleep 0.3

config with "$SOURCE_TOML"
config without ""

log "(a) intake and (b) 2xx -> allowed"
serve with "$WORK/data-ab"
$PY "$HERE/load.py" intake --plan "$WORK/plan.json" --port "$GW" --secret "$SECRET" \
    --connections "$CONNS" > "$WORK/intake.json"
cat "$WORK/intake.json" >&2
$PY "$HERE/load.py" latency --plan "$WORK/plan.json" --port "$GW" --secret "$SECRET" > "$WORK/latency.json"
cat "$WORK/latency.json" >&2
stop

log "(c) chat load with and without [verification], $RUNS runs each"
: > "$WORK/chat.txt"
for run in $(seq 1 "$RUNS"); do
    for cfg in with without; do
        data="$WORK/data-c-$cfg-$run"
        serve "$cfg" "$data"
        KEY=$LOAD_KEY wrk -t2 -c"$CHAT_CONNS" -d2s -s "$REPO/bench/gateway/post.lua" \
            "http://127.0.0.1:$GW/v1/chat/completions" > /dev/null
        KEY=$LOAD_KEY wrk -t2 -c"$CHAT_CONNS" -d"${DURATION}s" --latency -s "$REPO/bench/gateway/post.lua" \
            "http://127.0.0.1:$GW/v1/chat/completions" > "$WORK/logs/wrk-$cfg-$run.txt"
        rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/logs/wrk-$cfg-$run.txt")
        non2xx=$(awk '/Non-2xx/ {print $5}' "$WORK/logs/wrk-$cfg-$run.txt")
        echo "$cfg $run $rps ${non2xx:-0}" | tee -a "$WORK/chat.txt" >&2
        stop
        rm -rf "$data"
    done
done

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
$PY - "$WORK" "$RESULTS" "$CPU" "$(nproc)" "$REV" "$ACCOUNTS" "$INTAKE" "$CONNS" "$LATENCY" "$CHAT_CONNS" "$DURATION" "$RUNS" <<'PY'
import json, statistics, sys
work, results, cpu, ncpu, rev, accounts, intake_n, conns, latency_n, chat_conns, duration, runs = sys.argv[1:]
intake = json.load(open(f"{work}/intake.json"))["intake"]
lat = json.load(open(f"{work}/latency.json"))["latency"]
chat = {"with": [], "without": []}
errors = {"with": 0, "without": 0}
for line in open(f"{work}/chat.txt"):
    cfg, _, rps, non2xx = line.split()
    chat[cfg].append(float(rps))
    errors[cfg] += int(non2xx)
med = {k: statistics.median(v) for k, v in chat.items()}
delta = (med["with"] - med["without"]) / med["without"] * 100
block = f"""cordon verification benchmark ({rev}; {ncpu} vCPU, {cpu})
(a) intake, durable:   {intake['events_per_s']:.0f} events/s  ({intake['outcomes'].get('accepted', 0)} accepted of {intake['deliveries']} deliveries over {conns} connections in {intake['seconds']:.2f} s; per delivery p50 {intake['p50_ms']:.1f} ms, p99 {intake['p99_ms']:.1f} ms)
(b) 2xx -> allowed:    p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms, max {lat['max_ms']:.2f} ms  ({lat['accounts']} accounts, {lat['refused_before']} refused before; {lat['retries']} retried requests, {lat['never_allowed']} never allowed; the webhook itself p50 {lat['webhook_p50_ms']:.2f} ms, p99 {lat['webhook_p99_ms']:.2f} ms)
(c) chat req/s, no events arriving ({chat_conns} connections, {duration} s per run):
    with [verification]:    {' / '.join(f'{x:.0f}' for x in chat['with'])}  (median {med['with']:.0f}; non-2xx {errors['with']})
    without:                {' / '.join(f'{x:.0f}' for x in chat['without'])}  (median {med['without']:.0f}; non-2xx {errors['without']})
    difference of medians:  {delta:+.1f} %"""
print(block)
with open(results, "w") as f:
    f.write(f"""# Verification benchmark results

Machine: a shared VM with {ncpu} vCPU ({cpu}); the gateway, the mock model
server and the load generators (Python for (a) and (b), wrk for (c)) share
these two CPUs, so every figure is a floor rather than the gateway's own
limit, and runs on a shared VM vary by several per cent. The identity store
and the audit log are on disk (WAL, `synchronous=FULL`; the audit log
durable before each answer). Revision `{rev}`.

```
{block}
```

## How it was run

```sh
bench/verification/run.sh
# = ACCOUNTS={accounts} INTAKE={intake_n} CONNS={conns} LATENCY={latency_n} CHAT_CONNS={chat_conns} DURATION={duration} RUNS={runs}
```

- `cordon accounts generate --count {accounts} --seed 20261207` into the store
  on disk; `bench/verification/load.py plan` picks accounts whose records are
  below `document_verified` (refused `fable-5` with `verification_required`
  after the foreign-national order's grace period) and creates API keys with
  `cordon accounts keys create`.
- `cordon serve --config bench/verification/cordon.toml` (filled in by run.sh)
  in front of `cordon mock-upstream`, with one `[[verification.source]]`
  (`format = "cordon"`, a fresh `whsec_` secret) for (a) and (b).
- (a) `load.py intake`: {intake_n} deliveries, one per account, alternately a
  U.S. citizen and a verified German national, each with its own
  `webhook-id`, signed as Standard Webhooks at send time, over {conns}
  keep-alive connections; events/s = accepted deliveries / wall time.
- (b) `load.py latency`: {latency_n} accounts one at a time; each is refused
  once first (so the gateway holds its principal), then its verification is
  delivered and, the moment the 2xx is read, its chat request is sent (and
  sent again every 5 ms, at most 200 times, until allowed). The figure runs
  from the 2xx to the allowed answer, so it is one chat request's latency
  when the gateway decides on the new facts at once.
- (c) `wrk -t2 -c{chat_conns} -d{duration}s -s bench/gateway/post.lua` (after
  2 s of warm-up) with a verified U.S. citizen's key asking for `fable-5`,
  against a fresh gateway per run, alternating the configuration with the
  `[[verification.source]]` table and the one without it, {runs} runs each.
""")
PY

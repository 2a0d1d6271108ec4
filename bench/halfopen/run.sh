#!/usr/bin/env bash
# Half-open connections against a release `cordon serve`: HOLD connections
# that send part of a request's headers and then nothing, from many client
# addresses (127.0.0.2 upwards, PER_IP each, under the per-address cap), while
# a normal client sends a chat request every 100 ms over fresh connections.
# Reports how many connections were held and the normal client's latencies.
#
#   bench/halfopen/run.sh                 # 19,000 held: the sandbox's
#                                         # descriptor limit is 20,000 per process
#   HOLD=5000 bench/halfopen/run.sh
#
# Environment: HOLD (19000), PER_IP (900), SECONDS_MEASURED (10), PORT (19500),
# NO_BUILD=1 with CORDON=path, PYTHON (python3), RESULTS (output file).
# Prints one results block and writes RESULTS.md; asserts nothing.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d /tmp/cordon-halfopen.XXXXXX)
HOLD=${HOLD:-19000}
PER_IP=${PER_IP:-900}
SECONDS_MEASURED=${SECONDS_MEASURED:-10}
PORT=${PORT:-19500}
UP_PORT=$((PORT + 1))
PYTHON=${PYTHON:-python3}
RESULTS=${RESULTS:-$HERE/RESULTS.md}

if [ -z "${NO_BUILD:-}" ]; then
    (cd "$REPO" && cargo build --release --quiet --bin cordon)
    CORDON="$REPO/target/release/cordon"
fi
CORDON=${CORDON:-$REPO/target/release/cordon}

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

ulimit -n "$(ulimit -Hn)"
"$CORDON" accounts --store "$WORK/identity.db" add us --subject \
    '{"verification": "document_verified", "citizenships": ["US"], "residence_country": "US"}' >/dev/null
KEY=$("$CORDON" accounts --store "$WORK/identity.db" keys create us 2>/dev/null)
cat > "$WORK/cordon.toml" <<TOML
listen = "127.0.0.1:$PORT"
directives = "$REPO/directives"
catalog = "$REPO/catalog.toml"
store = "$WORK/identity.db"
trusted_proxies = []

[operator]
name = "bench"
url = "https://example.com/legal"

[geo]
databases = ["$REPO/data/geoip/geo-whois-asn-country.mmdb"]
internal_country = "US"

[limits]
# Held far longer than the measurement, so every half-open connection stays
# open while the normal client is timed.
header_read_timeout_secs = 300
max_connections_per_ip = 1024

[[upstream]]
name = "mock"
url = "http://127.0.0.1:$UP_PORT"
families = ["fable", "mythos", "lyric", "echo"]
api = "both"
TOML
"$CORDON" mock-upstream --listen "127.0.0.1:$UP_PORT" >/dev/null 2>&1 &
pids+=($!)
RUST_LOG=warn "$CORDON" serve --config "$WORK/cordon.toml" --data-dir "$WORK/data" \
    >/dev/null 2>"$WORK/serve.log" &
SERVE=$!
pids+=($SERVE)
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

"$PYTHON" "$HERE/halfopen.py" --port "$PORT" --key "$KEY" --hold "$HOLD" --per-ip "$PER_IP" \
    --seconds "$SECONDS_MEASURED" --server-pid "$SERVE" | tee "$WORK/out.txt"

{
    echo "# Half-open connections"
    echo
    echo "\`bench/halfopen/run.sh\`, $(date -u +%Y-%m-%d), $(nproc) vCPUs, release build."
    echo
    cat "$WORK/out.txt"
} > "$RESULTS"

#!/usr/bin/env bash
# nginx (auth_request) in front of the mock model server, with Cordon deciding:
# installs nginx if needed, starts `cordon demo` and nginx on free loopback
# ports, and checks allow, stream, deny (451 with Cordon's message) and 401.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq nginx-light >/dev/null 2>&1 || apt-get install -y -qq nginx >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

cargo build -q --bin cordon
BIN="${CARGO_TARGET_DIR:-target}/debug/cordon"
TMP=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
CORDON_PORT=$(free_port); NGINX_PORT=$(free_port); UPSTREAM_PORT=$(free_port)

cleanup() {
    [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null || true
    [ -n "${DEMO_PID:-}" ] && kill "$DEMO_PID" 2>/dev/null || true
    [ -n "${MOCK_PID:-}" ] && kill "$MOCK_PID" 2>/dev/null || true
    # The demo writes its audit log as it stops: wait for every process
    # before removing what they write into.
    for pid in "${NGINX_PID:-}" "${DEMO_PID:-}" "${MOCK_PID:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

"$BIN" demo --listen "127.0.0.1:$CORDON_PORT" --keys-out "$TMP/keys.json" --data-dir "$TMP/data" >"$TMP/demo.out" 2>"$TMP/demo.err" &
DEMO_PID=$!
"$BIN" mock-upstream --listen "127.0.0.1:$UPSTREAM_PORT" >"$TMP/mock.out" 2>&1 &
MOCK_PID=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$CORDON_PORT/healthz" >/dev/null && [ -s "$TMP/keys.json" ] && break
    sleep 0.2
done
mkdir -p "$TMP/nginx"
sed -e "s#@DIR@#$TMP/nginx#g" -e "s#@NGINX_PORT@#$NGINX_PORT#g" -e "s#@CORDON_PORT@#$CORDON_PORT#g" -e "s#@UPSTREAM_PORT@#$UPSTREAM_PORT#g" \
    tests/nginx/nginx.conf.template >"$TMP/nginx/nginx.conf"
"$NGINX" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" &
NGINX_PID=$!
sleep 0.5

key() { python3 -c "import json,sys; print(json.load(open('$TMP/keys.json'))[sys.argv[1]])" "$1"; }
BASE="http://127.0.0.1:$NGINX_PORT"
pass=0; fail=0
check() { # name, expected, actual
    if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1: expected [$2], got [$3]"; fi
}
chat() { # who model stream extra-curl-args...
    local who=$1 model=$2 stream=$3; shift 3
    curl -s "$@" "$BASE/m/$model/v1/chat/completions" -H "Authorization: Bearer $(key "$who")" -H 'Content-Type: application/json' \
        -d "{\"model\": \"$model\", \"stream\": $stream, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"
}

check "allowed request is proxied" 200 "$(chat us-citizen fable-5 false -o /dev/null -w '%{http_code}')"
check "stream passes through nginx" "data: [DONE]" "$(chat us-citizen mythos-5 true | grep -c 'data: ' >/dev/null && chat us-citizen mythos-5 true | tail -n 2 | head -n 1)"
check "refusal becomes 451" 451 "$(chat foreign-national fable-5 false -o /dev/null -w '%{http_code}')"
body=$(chat foreign-national fable-5 false)
check "refusal body names the directive" 1 "$(echo "$body" | python3 -c 'import json,sys; e=json.load(sys.stdin)["error"]; print(int(e["code"] == "cordon_denied" and "foreign-national-frontier-2026" in e["message"]))')"
headers=$(chat foreign-national fable-5 false -D - -o /dev/null)
check "refusal carries blocked-by link" 1 "$(echo "$headers" | grep -ci '^link: <https://cordon.example/operator>; rel="blocked-by"')"
check "refusal is not cacheable" 1 "$(echo "$headers" | grep -ci '^cache-control: no-store')"
check "verification required becomes 451" 451 "$(chat unverified mythos-5 false -o /dev/null -w '%{http_code}')"
check "unknown model is 404" 404 "$(chat us-citizen fable-9 false -o /dev/null -w '%{http_code}')"
check "bad key is 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/m/lyric-4/v1/chat/completions" -H 'Authorization: Bearer ck_bad_bad' -H 'Content-Type: application/json' -d '{"model": "lyric-4"}')"

echo "nginx: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

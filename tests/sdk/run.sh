#!/usr/bin/env bash
# Runs the real OpenAI and Anthropic Python SDKs against `cordon demo`.
#
#   bash tests/sdk/run.sh            # from anywhere in the repository
#
# Environment:
#   CORDON_BIN   a cordon binary to use instead of building `cargo build --bin cordon` (debug)
#   PYTHON       the Python interpreter for the virtualenv (default: python3)
# Extra arguments are passed to pytest.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
VENV="$ROOT/target/sdk-venv"
REQS="$ROOT/tests/sdk/requirements.txt"

log() { printf 'sdk-tests: %s\n' "$*" >&2; }

# --- virtualenv -------------------------------------------------------------
make_venv() {
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    if "$PYTHON" -m venv "$VENV" 2>/dev/null && [ -x "$VENV/bin/pip" ]; then
        return 0
    fi
    log "python -m venv failed (ensurepip missing?); trying virtualenv"
    rm -rf "$VENV"
    if "$PYTHON" -m virtualenv --version >/dev/null 2>&1 \
        || "$PYTHON" -m pip install --quiet --user virtualenv \
        || "$PYTHON" -m pip install --quiet --user --break-system-packages virtualenv; then
        if "$PYTHON" -m virtualenv --quiet "$VENV" && [ -x "$VENV/bin/pip" ]; then
            return 0
        fi
    fi
    log "virtualenv failed; installing python3-venv with apt-get"
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
log "installing $(grep -v '^#' "$REQS" | xargs)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
"$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
    | grep -iE '^(openai|anthropic|websockets|pytest) ' | sed 's/^/sdk-tests: /' >&2 || true

# --- gateway binary ---------------------------------------------------------
if [ -n "${CORDON_BIN:-}" ]; then
    BIN="$CORDON_BIN"
else
    log "building cordon (debug)"
    cargo build --quiet --bin cordon
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/cordon"
fi
[ -x "$BIN" ] || { log "no cordon binary at $BIN"; exit 1; }

# --- start the demo ---------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/cordon-sdk.XXXXXX")"
DEMO_PID=""
cleanup() {
    local rc=$?
    if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
        kill "$DEMO_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$DEMO_PID" 2>/dev/null || true
        wait "$DEMO_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
log "starting cordon demo on $BASE"
NO_COLOR=1 "$BIN" demo --listen "127.0.0.1:$PORT" --keys-out "$TMP/keys.json" --data-dir "$TMP/data" \
    </dev/null >"$TMP/demo.out" 2>"$TMP/demo.err" &
DEMO_PID=$!

demo_logs() {
    log "--- cordon demo stdout (tail) ---"; tail -n 20 "$TMP/demo.out" >&2 || true
    log "--- cordon demo stderr (tail) ---"; tail -n 60 "$TMP/demo.err" >&2 || true
}

export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

deadline=$((SECONDS + 60))
until "$PYTHON" - "$BASE/healthz" <<'PY' 2>/dev/null
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
do
    if ! kill -0 "$DEMO_PID" 2>/dev/null; then
        log "cordon demo exited before becoming healthy"
        demo_logs
        exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        log "cordon demo not healthy after 60 s"
        demo_logs
        exit 1
    fi
    sleep 0.2
done
[ -s "$TMP/keys.json" ] || { log "no keys written to $TMP/keys.json"; demo_logs; exit 1; }
log "gateway healthy"

# --- tests ------------------------------------------------------------------
export CORDON_SDK_BASE_URL="$BASE"
export CORDON_SDK_KEYS="$TMP/keys.json"
export PYTHONDONTWRITEBYTECODE=1
status=0
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/sdk "$@" || status=$?
if [ "$status" -ne 0 ]; then
    demo_logs
    exit "$status"
fi

# --- the audit log of everything the SDKs just did ---------------------------
# Every SDK call above was decided; each decision must be in the demo's log,
# which must verify against the public key with the gateway still running.
# A customer's receipt: refused request → its log index → the receipt from the
# gateway → checked offline with nothing but the public key.
KEY=$("$VENV/bin/python" -c "import json,sys; print(json.load(open(sys.argv[1]))['foreign-national'])" "$TMP/keys.json")
index=$(curl -s -D - -o /dev/null "$BASE/v1/chat/completions" -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' -d '{"model": "fable-5", "messages": [{"role": "user", "content": "hi"}]}' \
    | tr -d '\r' | awk -F': ' 'tolower($1) == "x-cordon-audit-index" {print $2}')
[ -n "$index" ] || { log "a refusal carried no x-cordon-audit-index"; demo_logs; exit 1; }
curl -sf "$BASE/v1/audit/receipts/$index" -H "Authorization: Bearer $KEY" > "$TMP/receipt.tlog-proof" \
    || { log "no receipt for entry $index"; demo_logs; exit 1; }
"$BIN" audit check-proof "$TMP/receipt.tlog-proof" --key "$TMP/data/audit-key.pub" \
    || { log "the receipt for entry $index does not check out"; exit 1; }

log "verifying the demo's audit log"
"$BIN" audit verify --data-dir "$TMP/data" || { log "the audit log does not verify"; demo_logs; exit 1; }
denials=$("$BIN" audit search --data-dir "$TMP/data" --kind decision --effect deny | wc -l)
[ "$denials" -ge 1 ] || { log "no denial in the audit log after the 451 tests"; exit 1; }
log "audit log verified ($denials denials recorded)"

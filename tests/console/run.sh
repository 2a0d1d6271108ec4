#!/usr/bin/env bash
# The compliance console in a real headless Chromium: starts `cordon demo`
# (which serves the console and prints the first administrator's login),
# then logs in and finds the `unverified` demo account with the keyboard
# alone, sees why it is refused, records a verification by hand and sees
# the demo gateway let it through; opens the screening queue and the audit
# log, proposes a directive change that fails its check (the error shown on
# its line), proposes it fixed, and logs out; a reviewer clears the demo's
# pending screening hit and the gateway lets that account through; a
# second officer approves the change for three days later and the overview
# counts down to it, then searches the audit log for the U.S. citizen's decision (made
# through the demo gateway first), opens it and downloads its receipt,
# which `cordon audit check-proof` verifies. Every page must render under
# the console's CSP without a browser error, pass axe-core (WCAG 2.2 A/AA,
# tests/browser/a11y.py) and reflow at 320 CSS px. Screenshots of each page,
# at full width and at 320 px, go to target/console-check/.
#
#   bash tests/console/run.sh        (also run by .ci/run)
#
# Environment: CORDON_BIN (a cordon binary instead of the debug build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BROWSER_LOG_TAG=console-check
# shellcheck source=../browser/lib.sh
source "$ROOT/tests/browser/lib.sh"
install_axe

if [ -n "${CORDON_BIN:-}" ]; then
    BIN="$CORDON_BIN"
else
    log "building cordon (debug)"
    cargo build --quiet --bin cordon
    BIN="$TARGET/debug/cordon"
fi
OUT="$TARGET/console-check"
rm -rf "$OUT"; mkdir -p "$OUT"
WORK=$(mktemp -d)
PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" demo --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --keys-out "$WORK/keys.json" >"$WORK/demo.log" 2>&1 &
DEMO=$!
trap 'kill $DEMO 2>/dev/null || true; wait $DEMO 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 150); do
    grep -q "Compliance console on" "$WORK/demo.log" && [ -s "$WORK/keys.json" ] && break
    kill -0 "$DEMO" 2>/dev/null || { cat "$WORK/demo.log" >&2; exit 1; }
    sleep 0.2
done
LINE=$(grep "Compliance console on" "$WORK/demo.log") || { log "the demo printed no console address"; cat "$WORK/demo.log" >&2; exit 1; }
URL=$(echo "$LINE" | grep -oE 'http://127\.0\.0\.1:[0-9]+/console/')
PASSWORD=$(echo "$LINE" | grep -oE 'password `[^`]+`' | cut -d'`' -f2)
log "console at $URL"
# Decisions for the console to find: the U.S. citizen asks for fable-5 (and
# is let through), the unverified account too (and must verify first).
ask() {
    local key
    key=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/keys.json" "$1")
    curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/chat/completions" \
        -H "authorization: Bearer $key" -H 'content-type: application/json' \
        -d '{"model": "fable-5", "messages": [{"role": "user", "content": "hello"}]}'
}
code=$(ask us-citizen)
[ "$code" = 200 ] || { log "the demo answered $code to the U.S. citizen"; exit 1; }
code=$(ask unverified)
[ "$code" = 451 ] || { log "the demo answered $code to the unverified account, not 451"; exit 1; }
# A second officer, for the two-person rule.
OFFICER_PASSWORD="second officer passphrase"
echo "$OFFICER_PASSWORD" | "$BIN" console admin add oli --role officer --data-dir "$WORK/data" >/dev/null
REVIEWER_PASSWORD="screening reviewer passphrase"
echo "$REVIEWER_PASSWORD" | "$BIN" console admin add rita --role reviewer --data-dir "$WORK/data" >/dev/null
PROFILE=$(mktemp -d "${TMPDIR:-/tmp}/cordon-console-chrome.XXXXXX")
export PYTHONDONTWRITEBYTECODE=1
"$VENV/bin/python" "$ROOT/tests/console/check.py" --url "$URL" --user admin --password "$PASSWORD" \
    --officer oli --officer-password "$OFFICER_PASSWORD" \
    --reviewer rita --reviewer-password "$REVIEWER_PASSWORD" \
    --gateway "http://127.0.0.1:$PORT" --keys "$WORK/keys.json" --axe "$AXE_JS" \
    --directive "$ROOT/directives/foreign-national-frontier.toml" --out "$OUT" --profile "$PROFILE"
rm -rf "$PROFILE"
# The receipt the console handed out checks with the log's public key alone.
"$BIN" audit check-proof "$OUT/receipt.tlog-proof" --key "$WORK/data/audit-key.pub" >"$OUT/check-proof.txt" ||
    { log "the console's receipt does not check"; cat "$OUT/check-proof.txt" >&2; exit 1; }
log "$(head -n1 "$OUT/check-proof.txt")"
log "ok: screenshots in $OUT"

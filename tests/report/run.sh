#!/usr/bin/env bash
# Opens the HTML impact report in headless Chromium and checks it against its JSON.
#
#   bash tests/report/run.sh                          # a report made by `cordon simulate`
#   bash tests/report/run.sh REPORT.json REPORT.html  # check an existing report
#
# Without arguments the script builds cordon, generates a synthetic
# population into a fresh store (`cordon accounts generate`) and runs
# `cordon simulate` with the shipped directives as the proposed set and the
# same set minus the foreign-national directives as the baseline. With CORDON_REPORT_SOURCE=example (or when the
# binary has no `simulate` command) it renders the sample report of
# `cargo run -p cordon-simulate --example render` instead.
#
# The screenshot is written next to the HTML as `<name>.png`.
#
# Environment:
#   CORDON_BIN             a cordon binary to use instead of building one (debug)
#   CORDON_REPORT_SOURCE   `simulate` (default when available) or `example`
#   CORDON_REPORT_OUT      where a generated report goes (default: target/report-check)
#   PYTHON                 the Python interpreter for the virtualenv (default: python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

BROWSER_LOG_TAG=report-check
# shellcheck source=../browser/lib.sh
source "$ROOT/tests/browser/lib.sh"

# --- the report ---------------------------------------------------------------
if [ "$#" -eq 2 ]; then
    JSON="$1"
    HTML="$2"
elif [ "$#" -ne 0 ]; then
    log "usage: tests/report/run.sh [REPORT.json REPORT.html]"
    exit 2
else
    OUT="${CORDON_REPORT_OUT:-$TARGET/report-check}"
    rm -rf "$OUT"
    mkdir -p "$OUT"
    if [ -n "${CORDON_BIN:-}" ]; then
        BIN="$CORDON_BIN"
    else
        log "building cordon (debug)"
        cargo build --quiet --bin cordon
        BIN="$TARGET/debug/cordon"
    fi
    [ -x "$BIN" ] || { log "no cordon binary at $BIN"; exit 1; }
    SOURCE="${CORDON_REPORT_SOURCE:-}"
    if [ -z "$SOURCE" ]; then
        if "$BIN" simulate --help >/dev/null 2>&1; then SOURCE=simulate; else SOURCE=example; fi
    fi
    case "$SOURCE" in
    simulate)
        log "generating a synthetic population and running cordon simulate"
        "$BIN" accounts generate --count 5000 --seed 7 --store "$OUT/accounts.db" >/dev/null
        # Markup in user-supplied text must reach the page escaped.
        "$BIN" accounts --store "$OUT/accounts.db" add acct-markup --subject \
            '{"verification": "document_verified", "citizenships": ["FR"], "permanent_residencies": [], "protected_individual": false, "residence_country": "FR", "organization": {"name": "<script>alert(1)</script> Ltd", "country": "FR"}}' >/dev/null
        # Proposed: the shipped set. Baseline: the same without the
        # foreign-national orders, so their effect shows.
        mkdir -p "$OUT/baseline" "$OUT/proposed"
        for f in directives/*.toml; do
            cp "$f" "$OUT/proposed/"
            case "$(basename "$f")" in
            foreign-national-*) ;;
            *) cp "$f" "$OUT/baseline/" ;;
            esac
        done
        "$BIN" simulate --directives "$OUT/proposed" --baseline "$OUT/baseline" \
            --store "$OUT/accounts.db" --at 2026-11-27T00:00:00Z --out "$OUT" >"$OUT/summary.txt"
        JSON="$OUT/report.json"
        HTML="$OUT/report.html"
        ;;
    example)
        log "rendering the sample report (cordon-simulate example)"
        JSON="$OUT/report.json"
        HTML="$OUT/report.html"
        cargo run --quiet -p cordon-simulate --example render -- "$JSON" "$HTML"
        ;;
    *)
        log "CORDON_REPORT_SOURCE must be \`simulate\` or \`example\`, not \`$SOURCE\`"
        exit 2
        ;;
    esac
fi
[ -s "$JSON" ] || { log "no report JSON at $JSON"; exit 1; }
[ -s "$HTML" ] || { log "no report HTML at $HTML"; exit 1; }

# --- the check ----------------------------------------------------------------
PROFILE="$(mktemp -d "${TMPDIR:-/tmp}/cordon-report-chrome.XXXXXX")"
trap 'rm -rf "$PROFILE"' EXIT
SHOT="${HTML%.*}.png"
export PYTHONDONTWRITEBYTECODE=1
"$VENV/bin/python" "$ROOT/tests/report/check.py" \
    --json "$JSON" --html "$HTML" --screenshot "$SHOT" --profile "$PROFILE"
log "ok: $HTML ($(wc -c <"$HTML") bytes); screenshot $SHOT"

# Headless Chromium with chromedriver and a virtualenv with Selenium, for the
# browser checks (tests/report, tests/console). Sourced, not run: sets TARGET
# (CARGO_TARGET_DIR, else target/) and VENV (under it), installs what is
# missing (Chromium and its driver with apt-get, Selenium from PyPI), and
# defines install_axe (axe-core from npm, for the accessibility check).
#
# Environment: PYTHON (default python3), BROWSER_LOG_TAG (the log prefix).

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PYTHON="${PYTHON:-python3}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="$TARGET/browser-venv"
REQS="$ROOT/tests/browser/requirements.txt"

log() { printf '%s: %s\n' "${BROWSER_LOG_TAG:-browser}" "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- Chromium and its driver --------------------------------------------------
if [ ! -x /usr/bin/chromium ] || ! command -v chromedriver >/dev/null 2>&1; then
    log "installing chromium and chromium-driver with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver >/dev/null
fi
log "$(/usr/bin/chromium --version 2>/dev/null || echo 'chromium: version unknown')"

# --- virtualenv ---------------------------------------------------------------
make_venv() {
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    if "$PYTHON" -m venv "$VENV" 2>/dev/null && [ -x "$VENV/bin/pip" ]; then
        return 0
    fi
    log "python -m venv failed (ensurepip missing?); installing python3-venv with apt-get"
    rm -rf "$VENV"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$PYTHON" -m venv "$VENV" && [ -x "$VENV/bin/pip" ]
}
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    log "reusing $VENV"
else
    log "creating $VENV"
    make_venv
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"

# --- axe-core -----------------------------------------------------------------
# install_axe: axe-core at the version tests/browser/package-lock.json pins
# (npm checks the tarball against the lock's integrity hash), under $TARGET;
# sets AXE_JS to its axe.min.js, which a check injects into the page.
install_axe() {
    local dir="$TARGET/browser-npm"
    if ! command -v npm >/dev/null 2>&1; then
        log "installing npm with apt-get"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
    fi
    mkdir -p "$dir"
    if ! cmp -s "$ROOT/tests/browser/package-lock.json" "$dir/package-lock.json" ||
        [ ! -f "$dir/node_modules/axe-core/axe.min.js" ]; then
        cp "$ROOT/tests/browser/package.json" "$ROOT/tests/browser/package-lock.json" "$dir/"
        (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --silent)
    fi
    AXE_JS="$dir/node_modules/axe-core/axe.min.js"
    log "axe-core $(sed -n 's/^ *"version": "\([^"]*\)".*/\1/p' "$dir/node_modules/axe-core/package.json" | head -n1)"
}

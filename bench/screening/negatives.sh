#!/usr/bin/env bash
# Regenerates crates/screening/tests/data/negatives.tsv, the screening negative set:
# synthetic people and companies from 24 Faker locales, drawn from a fixed seed.
#
#   bench/screening/negatives.sh            # writes the committed file
#   OUT=/tmp/negatives.tsv bench/screening/negatives.sh
#
# Environment: OUT (the TSV to write), VENV (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/cordon-bench/faker-venv), PYTHON (python3).
# The first run needs PyPI to install the pinned Faker into the venv.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$REPO/crates/screening/tests/data/negatives.tsv}
VENV=${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cordon-bench/faker-venv}
PY=${PYTHON:-python3}
# The same Faker version and seed give the same file; another version may not.
FAKER_VERSION=40.63.0

[ -x "$VENV/bin/python" ] || { mkdir -p "$(dirname "$VENV")"; "$PY" -m venv "$VENV"; }
VPY=$VENV/bin/python
if ! "$VPY" -c "import importlib.metadata as m, sys; sys.exit(m.version('Faker') != '$FAKER_VERSION')" 2>/dev/null; then
    "$VPY" -m pip install --quiet --disable-pip-version-check "Faker==$FAKER_VERSION"
fi

"$VPY" "$HERE/negatives.py" --out "$OUT"

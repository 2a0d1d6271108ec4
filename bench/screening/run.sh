#!/usr/bin/env bash
# Screening benchmark: `cordon screen` next to a brute-force rapidfuzz baseline,
# over the same exported names and the same queries (the labelled accuracy set),
# in one run. Prints per-query time for both, the speed ratio, recall and
# precision of both, and the number of names. Asserts nothing.
#
#   bench/screening/run.sh                       # ~1 min after the release build
#   REPEAT_TO=2000 bench/screening/run.sh        # quicker, noisier cordon timing
#
# Environment: REPEAT_TO (rows cordon screens, the accuracy set repeated; default
# 20000), BASELINE_REPEAT_TO (rows the baseline screens; default 0 = one pass over
# the set), LISTS (list directory, default data/sanctions), VENV (default
# target/screening-venv), WORK (scratch directory), NO_BUILD=1 with CORDON=path
# (use an existing binary), PYTHON (python3), NEGATIVES=1 (also screen the synthetic
# negative set with the baseline and print its per-locale hold rates; about two
# minutes more).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/cordon-screening-bench.XXXXXX)}
REPEAT_TO=${REPEAT_TO:-20000}
BASELINE_REPEAT_TO=${BASELINE_REPEAT_TO:-0}
LISTS=${LISTS:-$REPO/data/sanctions}
VENV=${VENV:-$REPO/target/screening-venv}
CASES=$REPO/crates/screening/tests/data/accuracy.tsv
CORDON=${CORDON:-$REPO/target/release/cordon}
PY=${PYTHON:-python3}
RAPIDFUZZ_VERSION=3.14.6

mkdir -p "$WORK"
log() { printf '\n== %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

cd "$REPO"

if [ "${NO_BUILD:-0}" != 1 ]; then
    log "cargo build --release -p cordon-cli"
    cargo build --release -p cordon-cli
fi
[ -x "$CORDON" ] || { echo "run.sh: no cordon binary at \`$CORDON\`" >&2; exit 1; }

log "python venv at $VENV with rapidfuzz $RAPIDFUZZ_VERSION"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
VPY=$VENV/bin/python
if ! "$VPY" -c "import rapidfuzz, sys; sys.exit(rapidfuzz.__version__ != '$RAPIDFUZZ_VERSION')" 2>/dev/null; then
    "$VPY" -m pip install --quiet --disable-pip-version-check "rapidfuzz==$RAPIDFUZZ_VERSION"
fi

log "exporting names from $LISTS"
"$CORDON" lists names --lists "$LISTS" > "$WORK/names.jsonl"
NAMES=$(wc -l < "$WORK/names.jsonl")
echo "$NAMES names" >&2

log "queries from $CASES"
"$VPY" "$HERE/baseline.py" queries --cases "$CASES" > "$WORK/cases.jsonl"
"$VPY" "$HERE/baseline.py" queries --cases "$CASES" --repeat-to "$REPEAT_TO" > "$WORK/queries.jsonl"
"$VPY" "$HERE/baseline.py" queries --cases "$CASES" --repeat-to "$BASELINE_REPEAT_TO" > "$WORK/baseline-queries.jsonl"
head -n 1 "$WORK/queries.jsonl" > "$WORK/one.jsonl"
ROWS=$(wc -l < "$WORK/queries.jsonl")

log "cordon screen: start-up (one query)"
t0=$(now)
"$CORDON" screen --lists "$LISTS" --batch "$WORK/one.jsonl" --format json > "$WORK/cordon-one.jsonl"
t1=$(now)
STARTUP=$(elapsed "$t0" "$t1")

log "cordon screen: $ROWS queries"
t0=$(now)
"$CORDON" screen --lists "$LISTS" --batch "$WORK/queries.jsonl" --format json > "$WORK/cordon.jsonl"
t1=$(now)
CORDON_WALL=$(elapsed "$t0" "$t1")
OUT_ROWS=$(wc -l < "$WORK/cordon.jsonl")
if [ "$OUT_ROWS" -ne "$ROWS" ]; then
    echo "run.sh: cordon wrote $OUT_ROWS rows for $ROWS queries" >&2
    exit 1
fi

log "rapidfuzz baseline: $(wc -l < "$WORK/baseline-queries.jsonl") queries x $NAMES names"
t0=$(now)
"$VPY" "$HERE/baseline.py" run --names "$WORK/names.jsonl" --queries "$WORK/baseline-queries.jsonl" \
    --out "$WORK/baseline.jsonl" --timing "$WORK/baseline-timing.json"
t1=$(now)
BASELINE_WALL=$(elapsed "$t0" "$t1")

cat > "$WORK/timings.json" <<EOF
{
  "cordon": {"rows": $ROWS, "wall_s": $CORDON_WALL, "startup_wall_s": $STARTUP},
  "baseline_wall_s": $BASELINE_WALL,
  "baseline": $(cat "$WORK/baseline-timing.json")
}
EOF

log "results"
"$VPY" "$HERE/baseline.py" report --cases "$CASES" --names "$WORK/names.jsonl" \
    --cordon "$WORK/cordon.jsonl" --baseline "$WORK/baseline.jsonl" --timings "$WORK/timings.json"
if [ "${NEGATIVES:-0}" = 1 ]; then
    log "rapidfuzz baseline: the negative set"
    "$VPY" "$HERE/baseline.py" negatives --names "$WORK/names.jsonl" \
        --negatives "$REPO/crates/screening/tests/data/negatives.tsv" | tee "$WORK/baseline-negatives.md"
fi

echo
echo "raw outputs in $WORK (misses and false positives: baseline.py score -v --cases $CASES --results $WORK/cordon.jsonl)"

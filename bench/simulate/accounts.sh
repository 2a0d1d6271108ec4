#!/usr/bin/env bash
# Times `cordon simulate` on 1,000,000 stored accounts × 20 models, with peak
# memory: once producing the reports, once with the notify file as well.
#
#   bench/simulate/accounts.sh [WORK_DIR]      (default: $TMPDIR/cordon-simulate-accounts)
#
# ACCOUNTS overrides the size. The store is generated once and kept in
# WORK_DIR for later runs; delete WORK_DIR when done. The catalog is the
# shipped one plus 14 benchmark models; the proposed set is the shipped one
# with the foreign-national order widened to every model (so no model is
# skipped as unchanged); the baseline is the shipped set without that order.
# Simulated after its grace period.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${1:-${TMPDIR:-/tmp}/cordon-simulate-accounts}
accounts=${ACCOUNTS:-1000000}
mkdir -p "$work"

cargo build --release -q -p cordon-cli --manifest-path "$root/Cargo.toml"
cordon="$root/target/release/cordon"

if [ ! -f "$work/store.db" ]; then
    echo "generating $accounts accounts" >&2
    "$cordon" accounts generate --count "$accounts" --seed 1 --store "$work/store.db.tmp" >/dev/null
    mv "$work/store.db.tmp" "$work/store.db"
fi

cp "$root/catalog.toml" "$work/catalog.toml"
for i in $(seq -w 1 14); do
    printf '\n[[model]]\nid = "bench-%s"\nfamily = "bench"\ntags = ["frontier"]\ndescription = "Benchmark model %s."\n' "$i" "$i" >>"$work/catalog.toml"
done
rm -rf "$work/baseline" "$work/proposed"
mkdir -p "$work/baseline" "$work/proposed"
cp "$root"/directives/*.toml "$work/proposed/"
cp "$root"/directives/*.toml "$work/baseline/"
rm "$work"/baseline/foreign-national-frontier*.toml
sed -i 's/^models = \["fable-5", "mythos-5"\]$/models = ["fable-5", "mythos-5"]\ntags = ["frontier", "general", "previous-generation", "embedding"]/' \
    "$work/proposed/foreign-national-frontier.toml"
grep -q '^tags = \["frontier", "general"' "$work/proposed/foreign-national-frontier.toml" ||
    { echo "could not widen the order's scope" >&2; exit 1; }

run() {
    /usr/bin/time -f "%e s wall, %U s user, %M KB peak RSS" "$cordon" simulate \
        --directives "$work/proposed" --baseline "$work/baseline" \
        --catalog "$work/catalog.toml" --store "$work/store.db" \
        --at 2026-12-10T00:00:00Z --out "$work/out" "$@" 2>&1 >"$work/summary.txt" |
        grep -E 'simulated|wall'
}
echo "reports:" >&2
run
echo "reports and notify file:" >&2
run --notify-out "$work/notify.csv"
grep -E '^Accounts' "$work/summary.txt"

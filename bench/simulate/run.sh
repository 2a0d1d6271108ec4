#!/usr/bin/env bash
# Times `cordon simulate --traffic` on 1,000,000 stored accounts and an audit
# log of 10,000,000 decisions (about 8.6 GB), with peak memory.
#
#   bench/simulate/run.sh [WORK_DIR]      (default: $TMPDIR/cordon-simulate-bench)
#
# DECISIONS and ACCOUNTS override the sizes. The store and the log are built
# once and kept in WORK_DIR for later runs; delete WORK_DIR when done. The
# log is written straight through the log writer by gen-log (next to this
# script), not through a gateway. The proposed set is the shipped one; the
# baseline is the same without `foreign-national-frontier.toml`, simulated
# after its grace period.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${1:-${TMPDIR:-/tmp}/cordon-simulate-bench}
decisions=${DECISIONS:-10000000}
accounts=${ACCOUNTS:-1000000}
mkdir -p "$work"

free_gb=$(df -BG --output=avail "$work" | tail -1 | tr -dc 0-9)
if [ ! -d "$work/data/audit" ] && [ "$free_gb" -lt 15 ]; then
    echo "need 15 GB free in $work, have ${free_gb} GB" >&2
    exit 1
fi

cargo build --release -q -p cordon-cli --manifest-path "$root/Cargo.toml"
cargo build --release -q --manifest-path "$here/gen-log/Cargo.toml"
cordon="$root/target/release/cordon"

if [ ! -f "$work/store.db" ]; then
    echo "generating $accounts accounts" >&2
    "$cordon" accounts generate --count "$accounts" --seed 1 --store "$work/store.db.tmp" >/dev/null
    mv "$work/store.db.tmp" "$work/store.db"
fi
if [ ! -d "$work/data/audit" ]; then
    echo "writing $decisions decisions" >&2
    rm -rf "$work/data.tmp"
    "$here/gen-log/target/release/cordon-simulate-gen-log" "$work/data.tmp" "$decisions" "$accounts"
    mv "$work/data.tmp" "$work/data"
fi

rm -rf "$work/baseline"
mkdir -p "$work/baseline"
cp "$root"/directives/*.toml "$work/baseline/"
rm "$work/baseline/foreign-national-frontier.toml"

echo "log: $(du -sh "$work/data/audit" | cut -f1), store: $(du -sh "$work/store.db" | cut -f1)" >&2
/usr/bin/time -v "$cordon" simulate \
    --directives "$root/directives" --baseline "$work/baseline" \
    --catalog "$root/catalog.toml" --store "$work/store.db" \
    --traffic "$work/data/audit" --at 2026-12-10T00:00:00Z \
    --format json >"$work/report.json" 2>"$work/time.txt" || { cat "$work/time.txt" >&2; exit 1; }
grep -v '^\s*\(Average\|Major\|Minor\|Volun\|Invol\|Swaps\|File sys\|Socket\|Signals\|Page size\|Exit\|Percent\)' "$work/time.txt" >&2
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["traffic"]; t.pop("by_model"); print(json.dumps(t))' "$work/report.json"

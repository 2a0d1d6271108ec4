#!/usr/bin/env bash
# Console page renders at scale: generates an identity store of N accounts
# (default 1,000,000; `cordon accounts generate`) and an audit log of D
# decisions (default 1,000,000; DECISIONS overrides; written by
# bench/simulate/gen-log straight through the log writer), starts
# `cordon console` on both (release build), logs in, and times each page K
# times (default 20): the overview (with its charts, which read the last
# 200,000 entries), the accounts page, account searches (text in one
# record; text in most), one account, the audit log page and decision
# searches (one account's decisions, which reads all 200,000 entries
# searched; the first 100 denials). Prints the load, p50/p99 per page and
# the console's resident memory. Asserts nothing.
#
#   bash bench/console/run.sh [N] [K]
#   STORE=identity.db DECISIONS=1000000 bash bench/console/run.sh [N] [K]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
K=${2:-20}
D=${DECISIONS:-1000000}
cargo build --release --quiet --bin cordon
cargo build --release --quiet --manifest-path bench/simulate/gen-log/Cargo.toml
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/cordon"
GEN="${CARGO_TARGET_DIR:-$PWD/bench/simulate/gen-log/target}/release/cordon-simulate-gen-log"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
TMP=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$TMP"' EXIT
mkdir -p "$TMP/data"
# STORE names a store generated before (by this script's command) to use
# instead of generating one, which takes minutes at 1,000,000 accounts.
DB=${STORE:-$TMP/data/identity.db}
if [ -z "${STORE:-}" ]; then
    t0=$(date +%s.%N)
    "$BIN" accounts generate --count "$N" --seed 7 --store "$DB" >/dev/null
    echo "generated $N accounts in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s"
fi
t0=$(date +%s.%N)
"$GEN" "$TMP/data" "$D" "$N" 2>/dev/null
echo "wrote $D decisions ($(du -sh "$TMP/data/audit" | cut -f1)) in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s"
echo "bench passphrase 1234" | "$BIN" console admin add bench --role admin --data-dir "$TMP/data" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" console --listen "127.0.0.1:$PORT" --data-dir "$TMP/data" --store "$DB" --directives directives --catalog catalog.toml >"$TMP/console.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -sf "127.0.0.1:$PORT/console/login" >/dev/null && break; sleep 0.2; done
ID=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT id FROM accounts ORDER BY id LIMIT 1 OFFSET 500000").fetchone()[0])' "$DB" 2>/dev/null || echo "")
python3 - "$PORT" "$K" "$ID" "$PID" "${COMMON:-document_verified}" <<'PY'
import http.client, re, sys, time, urllib.parse
port, k, account, pid, common = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def req(method, path, cookie="", body=None):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=600)
    h = {"Cookie": cookie}
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body, h)
    r = c.getresponse(); data = r.read().decode()
    return r, data
r, page = req("GET", "/console/login")
login = r.getheader("Set-Cookie").split(";")[0]
csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
r, _ = req("POST", "/console/login", login, urllib.parse.urlencode({"username": "bench", "password": "bench passphrase 1234", "csrf": csrf}))
session = [v.split(";")[0] for k_, v in r.getheaders() if k_.lower() == "set-cookie" and "session" in v][0]
# The first view tallies the log's last 200,000 entries; later views of
# the unchanged log reuse that tally.
t = time.perf_counter(); _, page = req("GET", "/console/overview", session)
print(f"{'overview, first view':<24} {(time.perf_counter() - t) * 1000:8.1f} ms (the tally read)")
csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
pages = {
    "overview": ("GET", "/console/overview", None),
    "accounts (first 50)": ("GET", "/console/accounts", None),
    "account search": ("POST", "/console/accounts", urllib.parse.urlencode({"q": account or "acct", "csrf": csrf})),
    "account search, common": ("POST", "/console/accounts", urllib.parse.urlencode({"q": common, "csrf": csrf})),
    "one account": ("GET", f"/console/accounts/{account}", None),
    "audit log page": ("GET", "/console/audit", None),
    "decision search, 1 acct": ("POST", "/console/audit/search", urllib.parse.urlencode({"account": account, "csrf": csrf})),
    "decision search, deny": ("POST", "/console/audit/search", urllib.parse.urlencode({"effect": "deny", "csrf": csrf})),
}
for name, (method, path, body) in pages.items():
    times = []
    for _ in range(k):
        t = time.perf_counter(); r, _ = req(method, path, session, body); times.append((time.perf_counter() - t) * 1000)
        assert r.status == 200, (name, r.status)
    times.sort()
    q = lambda f: times[min(len(times) - 1, int(f * len(times)))]
    print(f"{name:<24} p50 {q(0.5):8.1f} ms  p99 {q(0.99):8.1f} ms  ({k} requests)")
rss = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")][0].split()[1]
print(f"console resident memory after: {int(rss) // 1024} MiB")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# Three gateway nodes on one PostgreSQL store under load, their audit logs
# replicated (`durability = "replicated"`), through faults: a key revoked
# mid-run, a directive change published to the fleet, one node killed with SIGKILL, one node cut from PostgreSQL (its
# connections go through a proxy that is stopped and started), and
# PostgreSQL itself stopped and started (every node cut from it at once).
# Checked: right after the SIGKILL, before the node is started again, every
# decision it answered is already in the shared store; at the end, every
# decision any client got an answer for is in its node's shipped log, every
# shipped log verifies (`cordon audit verify --fleet`), and the revoked key
# is refused by every node, and every node runs the published bundle.
#
#   bash tests/postgres/fleet-faults.sh   (also run by .ci/run)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --quiet --bin cordon
BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/cordon"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$PGBIN/initdb" ] || { echo "no PostgreSQL server binaries" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
TMP=$(mktemp -d); chmod 755 "$TMP"; PGDIR="$TMP/pg"; mkdir "$PGDIR"
as_owner() { if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi; }
PGPORT=$(free_port)
pg_start() { as_owner "$PGBIN/pg_ctl -D $PGDIR/data -o '-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1' -l $PGDIR/log -w start >/dev/null"; }
pg_stop() { as_owner "$PGBIN/pg_ctl -D $PGDIR/data -m fast stop >/dev/null"; }
declare -A PID
UPID=""
PROXY=""
cleanup() {
    for p in "${PID[@]}" $UPID $PROXY; do kill "$p" 2>/dev/null || true; done
    as_owner "$PGBIN/pg_ctl -D $PGDIR/data -m immediate stop" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
as_owner "$PGBIN/initdb -D $PGDIR/data -A trust -U postgres >/dev/null"
pg_start
URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
"$BIN" store migrate --store "$URL" >/dev/null
"$BIN" accounts add load --store "$URL" --subject '{"citizenships": ["US"], "verification": "document_verified", "screening": []}' >/dev/null
KEY=$("$BIN" accounts keys create load --store "$URL" 2>/dev/null)
DOOMED=$("$BIN" accounts keys create load --store "$URL" 2>/dev/null)
PUBLIC=$("$BIN" directives keygen "$TMP/publisher.key" 2>/dev/null)
mkdir "$TMP/published"; cp directives/*.toml "$TMP/published/"
"$BIN" directives set-mode russia-it-services-2024 retired --directives "$TMP/published" --catalog catalog.toml >/dev/null
UP=$(free_port); "$BIN" mock-upstream --listen "127.0.0.1:$UP" >/dev/null 2>&1 & UPID=$!
# Node 3 reaches PostgreSQL through a proxy the test can cut.
PROXY_PORT=$(free_port)
cat >"$TMP/proxy.py" <<'PY'
import socket, sys, threading
listen, target = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen)); srv.listen(64)
def pipe(a, b):
    try:
        while (data := a.recv(65536)):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
while True:
    c, _ = srv.accept()
    try:
        u = socket.create_connection(("127.0.0.1", target))
    except OSError:
        c.close()
        continue
    for sock in (c, u):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for a, b in ((c, u), (u, c)):
        threading.Thread(target=pipe, args=(a, b), daemon=True).start()
PY
proxy_start() {
    python3 "$TMP/proxy.py" "$PROXY_PORT" "$PGPORT" & PROXY=$!
    for _ in $(seq 1 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $PROXY_PORT))" 2>/dev/null && return; sleep 0.1; done
}
proxy_stop() { kill -9 "$PROXY" 2>/dev/null || true; wait "$PROXY" 2>/dev/null || true; }
proxy_start
declare -A PORT
for n in 1 2 3; do
    PORT[$n]=$(free_port)
    NODE_URL=$URL
    [ "$n" = 3 ] && NODE_URL="postgres://postgres@127.0.0.1:$PROXY_PORT/postgres"
    cat >"$TMP/n$n.toml" <<TOML
listen = "127.0.0.1:${PORT[$n]}"
directives = "$PWD/directives"
catalog = "$PWD/catalog.toml"
store = "$NODE_URL"
trusted_proxies = []
[operator]
name = "faults"
url = "https://example.com"
[geo]
databases = ["$PWD/data/geoip/geo-whois-asn-country.mmdb"]
internal_country = "US"
accept_missing_regions = ["UA"]
[audit]
dir = "$TMP/audit-$n"
checkpoint_interval_secs = 1
durability = "replicated"
[fleet]
publisher_keys = ["$PUBLIC"]
[[upstream]]
name = "mock"
url = "http://127.0.0.1:$UP"
families = ["fable", "mythos", "lyric", "echo"]
api = "both"
TOML
done
start_node() {
    RUST_LOG=warn "$BIN" serve --config "$TMP/n$1.toml" --data-dir "$TMP/data-$1" --node "node-$1" >>"$TMP/n$1.log" 2>&1 &
    PID[$1]=$!
    for _ in $(seq 1 100); do curl -sf "127.0.0.1:${PORT[$1]}/healthz" >/dev/null && return; sleep 0.1; done
    echo "node $1 did not become healthy" >&2; tail -n 5 "$TMP/n$1.log" >&2; exit 1
}
for n in 1 2 3; do start_node $n; done

# Load: each client sends requests to one node and records every answered
# decision (its node and decision id) in $TMP/answered.
python3 - "$KEY" "$TMP/stop" "${PORT[1]}" "${PORT[2]}" "${PORT[3]}" >"$TMP/answered" <<'PY' &
import http.client, json, os, sys, threading, time
key, stop, *ports = sys.argv[1:]
body = json.dumps({"model": "lyric-4", "messages": [{"role": "user", "content": "hi"}]})
lock = threading.Lock()
def client(n, port):
    while not os.path.exists(stop):
        try:
            c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
            c.request("POST", "/v1/chat/completions", body, {"authorization": "Bearer " + key, "content-type": "application/json"})
            r = c.getresponse(); r.read()
            d = r.getheader("x-cordon-decision-id"); i = r.getheader("x-cordon-audit-index")
            if r.status == 200 and d and i:
                with lock:
                    print(f"node-{n} {d} {i}", flush=True)
        except Exception:
            time.sleep(0.05)
ts = [threading.Thread(target=client, args=(n + 1, p)) for n, p in enumerate(ports)]
for t in ts: t.start()
for t in ts: t.join()
PY
LOAD=$!
# Decisions answered (in $1) that are missing from the shipped logs.
missing() {
    "$PGBIN/psql" -At "$URL" -c "SELECT node, encode(leaf, 'hex') FROM shipped_entries" >"$TMP/shipped"
    python3 - "$1" "$TMP/shipped" <<'PY'
import sys
shipped = {}
for line in open(sys.argv[2]):
    node, _, hexleaf = line.strip().partition("|")
    shipped.setdefault(node, []).append(bytes.fromhex(hexleaf))
blob = {n: b"\n".join(v) for n, v in shipped.items()}
missing = 0
for line in open(sys.argv[1]):
    node, dec, _ = line.split()
    if dec.encode() not in blob.get(node, b""):
        missing += 1
print(missing)
PY
}
sleep 3
"$BIN" accounts keys revoke "${DOOMED:0:11}" --store "$URL" >/dev/null
BUNDLE=$("$BIN" directives publish "$TMP/published" --catalog catalog.toml --store "$URL" --key "$TMP/publisher.key" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["bundle"])')
sleep 1
kill -9 "${PID[2]}"; wait "${PID[2]}" 2>/dev/null || true
# Replicated: what node 2 answered is in the shared store although node 2
# is gone and has not shipped anything since.
grep '^node-2 ' "$TMP/answered" >"$TMP/answered-2" || true
answered_2=$(wc -l <"$TMP/answered-2")
missing_2=$(missing "$TMP/answered-2")
sleep 1
proxy_stop; sleep 2; proxy_start
sleep 1
pg_stop; sleep 2; pg_start
sleep 2
start_node 2
sleep 3
touch "$TMP/stop"; wait $LOAD
sleep 2

answered=$(wc -l <"$TMP/answered")
refused=0
for n in 1 2 3; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:${PORT[$n]}/v1/chat/completions" -H "authorization: Bearer $DOOMED" -H 'content-type: application/json' -d '{"model":"lyric-4","messages":[{"role":"user","content":"hi"}]}')
    [ "$code" = 401 ] && refused=$((refused + 1))
done
missing=$(missing "$TMP/answered")
on_bundle=$("$BIN" fleet status --store "$URL" --format json | python3 -c '
import json, sys
bundle = sys.argv[1]
nodes = json.load(sys.stdin)["nodes"]
print(sum(1 for n in nodes if n["policy_bundle"] == bundle and n["standing"] == "healthy"))' "$BUNDLE")
verify=$("$BIN" audit verify --fleet "$URL" 2>&1 | tr '\n' ' ')
echo "node 2 at its SIGKILL: $answered_2 answered, $missing_2 not in the shared store"
echo "answered decisions: $answered; missing from the shipped logs: $missing"
echo "revoked key refused by $refused of 3 nodes"
echo "published bundle $BUNDLE run by $on_bundle of 3 healthy nodes"
echo "fleet verify: $verify"
if [ "$missing" != 0 ] || [ "$missing_2" != 0 ] || [ "$answered_2" -lt 10 ] || [ "$refused" != 3 ] || [ "$on_bundle" != 3 ] || [ "$answered" -lt 100 ]; then
    echo "fleet faults: FAILED" >&2
    exit 1
fi
"$BIN" audit verify --fleet "$URL" >/dev/null
echo "fleet faults: ok"

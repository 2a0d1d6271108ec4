#!/usr/bin/env bash
# Revocation propagation across gateway nodes sharing a PostgreSQL store:
# starts a throwaway PostgreSQL and two `cordon serve` nodes (release build),
# then revokes keys one at a time through the command line and measures, for
# each, the time from the revocation's commit (the command's return) until
# both nodes refuse the key. Prints p50, p99 and max over N keys (default 200).
# With CUT=1, node 2 reaches PostgreSQL through a proxy that cuts every
# connection for 0.5 s in every 2 s (its store then refuses to answer, and
# notifications sent meanwhile are lost); a key counts as refused by a node
# once the node no longer answers 200 for it (401, or 503 while it cannot
# check the key).
#
#   bash bench/fleet/run.sh [N]          CUT=1 bash bench/fleet/run.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-200}
cargo build --release --quiet --bin cordon
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/cordon"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$PGBIN/initdb" ] || { echo "no PostgreSQL server binaries" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
TMP=$(mktemp -d); chmod 755 "$TMP"; PGDIR="$TMP/pg"; mkdir "$PGDIR"
as_owner() { if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi; }
PGPORT=$(free_port)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    as_owner "$PGBIN/pg_ctl -D $PGDIR/data -m immediate stop" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
as_owner "$PGBIN/initdb -D $PGDIR/data -A trust -U postgres >/dev/null && $PGBIN/pg_ctl -D $PGDIR/data -o '-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1' -l $PGDIR/log -w start >/dev/null"
URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
"$BIN" store migrate --store "$URL" >/dev/null
"$BIN" accounts add bench --store "$URL" --subject '{"citizenships": ["US"], "verification": "document_verified", "screening": []}' >/dev/null
for i in $(seq 1 "$N"); do "$BIN" accounts keys create bench --store "$URL" 2>/dev/null; done >"$TMP/keys"

NODE2_URL=$URL
if [ "${CUT:-0}" = 1 ]; then
    PROXY_PORT=$(free_port)
    python3 - "$PROXY_PORT" "$PGPORT" <<'PY' & PIDS="$PIDS $!"
import socket, sys, threading, time
listen, target = int(sys.argv[1]), int(sys.argv[2])
live = []; lock = threading.Lock()
def pipe(a, b):
    try:
        while (data := a.recv(65536)):
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try: s.close()
        except OSError: pass
def serve(srv):
    while True:
        try:
            c, _ = srv.accept()
            u = socket.create_connection(("127.0.0.1", target))
        except OSError:
            return
        for s in (c, u):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with lock:
            live.extend([c, u])
        for a, b in ((c, u), (u, c)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()
while True:
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen)); srv.listen(64)
    threading.Thread(target=serve, args=(srv,), daemon=True).start()
    time.sleep(1.5)
    try: srv.shutdown(socket.SHUT_RDWR)
    except OSError: pass
    srv.close()
    with lock:
        for s in live:
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
        live.clear()
    time.sleep(0.5)
PY
    NODE2_URL="postgres://postgres@127.0.0.1:$PROXY_PORT/postgres"
    sleep 0.5
fi
UP=$(free_port); "$BIN" mock-upstream --listen "127.0.0.1:$UP" >/dev/null 2>&1 & PIDS="$PIDS $!"
PORTS=""
for n in 1 2; do
    port=$(free_port); PORTS="$PORTS $port"
    cat >"$TMP/n$n.toml" <<TOML
listen = "127.0.0.1:$port"
directives = "$PWD/directives"
catalog = "$PWD/catalog.toml"
store = "$([ "$n" = 2 ] && echo "$NODE2_URL" || echo "$URL")"
trusted_proxies = []
[operator]
name = "bench"
url = "https://example.com"
[geo]
databases = ["$PWD/data/geoip/geo-whois-asn-country.mmdb"]
internal_country = "US"
accept_missing_regions = ["UA"]
[audit]
dir = "$TMP/audit-$n"
[[upstream]]
name = "mock"
url = "http://127.0.0.1:$UP"
families = ["fable", "mythos", "lyric", "echo"]
api = "both"
TOML
    RUST_LOG=warn "$BIN" serve --config "$TMP/n$n.toml" --data-dir "$TMP/data-$n" >"$TMP/n$n.log" 2>&1 & PIDS="$PIDS $!"
done
for port in $PORTS; do
    for _ in $(seq 1 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
done

python3 - "$BIN" "$URL" "$TMP/keys" $PORTS <<'PY'
import http.client, json, subprocess, sys, time
bin_, url, keys_file, *ports = sys.argv[1:]
keys = [k.strip() for k in open(keys_file) if k.strip()]
body = json.dumps({"model": "lyric-4", "messages": [{"role": "user", "content": "hi"}]})
conns = {p: http.client.HTTPConnection("127.0.0.1", int(p), timeout=5) for p in ports}
def status(port, key):
    c = conns[port]
    try:
        c.request("POST", "/v1/chat/completions", body, {"authorization": "Bearer " + key, "content-type": "application/json"})
        r = c.getresponse(); r.read(); return r.status
    except Exception:
        c.close(); conns[port] = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5); return None
for k in keys:
    for p in ports:
        deadline = time.perf_counter() + 5
        while status(p, k) != 200:
            assert time.perf_counter() < deadline, "a key does not work before revocation"
            time.sleep(0.05)
lat = []; via_503 = 0
for k in keys:
    subprocess.run([bin_, "accounts", "keys", "revoke", k[:11], "--store", url], check=True, capture_output=True)
    t0 = time.perf_counter()
    pending = set(ports)
    while pending:
        for p in list(pending):
            code = status(p, k)
            if code in (401, 503):
                pending.discard(p)
                via_503 += code == 503
        if time.perf_counter() - t0 > 10:
            sys.exit("a revoked key was still accepted after 10 s")
    lat.append((time.perf_counter() - t0) * 1000)
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
# A key refused once must never be served again (a node that was cut off
# must not serve it from its cache once it reconnects).
served_again = 0
end = time.perf_counter() + 3
while time.perf_counter() < end:
    for k in keys:
        for p in ports:
            served_again += status(p, k) == 200
print(f"revocation seen by both of {len(ports)} nodes, {len(lat)} keys: p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, max {lat[-1]:.1f} ms; {via_503} refusal(s) were 503 (store cut off), {served_again} revoked key(s) served again afterwards")
PY

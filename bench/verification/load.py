#!/usr/bin/env python3
"""Load generator for bench/verification/run.sh: a mock KYC vendor sending
signed Cordon-format webhooks (Standard Webhooks: HMAC-SHA256 over
`{id}.{timestamp}.{body}`) to a running `cordon serve`, and customers
sending chat requests. Standard library only; 127.0.0.1 only; every loop is
bounded. Prints one JSON object per command on standard output.

  load.py plan      --accounts FILE --cordon BIN --store DB --intake N --latency M --out PLAN
  load.py intake    --plan PLAN --port P --secret WHSEC --connections K
  load.py latency   --plan PLAN --port P --secret WHSEC
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import itertools
import json
import subprocess
import sys
import threading
import time

SOURCE = "mock-vendor"
OFAC_COUNTRIES = {"CU", "IR", "KP"}
OFAC_REGIONS = {"UA-09", "UA-14", "UA-40", "UA-43"}
CHAT = json.dumps(
    {"model": "fable-5", "max_tokens": 16, "messages": [{"role": "user", "content": "Hello"}]}
).encode()


def country(v):
    return v if isinstance(v, str) else (v or {}).get("country")


def plain_unverified(r):
    """A person whose record is below document_verified, resident outside the
    sanctioned places and not an attested licence-holder member: refused
    fable-5 with `verification_required` after the grace period."""
    if r.get("kind") == "organization":
        return False
    if r.get("verification", "none") not in ("none", "self_declared"):
        return False
    if country(r.get("residence_country")) in OFAC_COUNTRIES:
        return False
    region = r.get("residence_region")
    if (region if isinstance(region, str) else (region or {}).get("region")) in OFAC_REGIONS:
        return False
    org = r.get("organization") or {}
    return org.get("verification") not in ("document_verified", "attested")


def verified_us_citizen(r):
    return (
        r.get("kind") != "organization"
        and r.get("verification") in ("document_verified", "attested")
        and "US" in [country(c) for c in r.get("citizenships", [])]
        and country(r.get("residence_country")) not in OFAC_COUNTRIES
    )


def create_key(cordon, store, account):
    out = subprocess.run(
        [cordon, "accounts", "--store", store, "keys", "create", account, "--label", "bench"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def plan(a):
    records = [json.loads(line) for line in open(a.accounts)]
    unverified = [r["id"] for r in records if plain_unverified(r)]
    need = a.intake + a.latency
    if len(unverified) < need:
        sys.exit(f"load.py: only {len(unverified)} unverified accounts for {need}; raise ACCOUNTS")
    latency = unverified[: a.latency]
    intake = unverified[a.latency : need]
    load = next(r["id"] for r in records if verified_us_citizen(r))
    keys = {acct: create_key(a.cordon, a.store, acct) for acct in latency + [load]}
    json.dump(
        {"intake": intake, "latency": latency, "load": load, "keys": keys},
        open(a.out, "w"),
        indent=1,
    )
    print(json.dumps({"planned": {"intake": len(intake), "latency": len(latency), "load": load}}))


def raw_secret(text):
    return base64.b64decode(text.split("_", 1)[1])


def event(account, n, us):
    subject = (
        {"verification": "document_verified", "citizenships": ["US"]}
        if us
        else {
            "verification": "document_verified",
            "citizenships": ["DE"],
            "permanent_residencies": [],
            "protected_individual": False,
        }
    )
    return json.dumps(
        {"type": "verification.completed", "account": account, "id": f"bench-{n}", "subject": subject}
    ).encode()


def signed_headers(secret, msg_id, body):
    ts = str(int(time.time()))
    sig = hmac.new(secret, b"%s.%s.%s" % (msg_id.encode(), ts.encode(), body), hashlib.sha256).digest()
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": "v1," + base64.b64encode(sig).decode(),
    }


class Client:
    """One keep-alive HTTP/1.1 connection, reopened if the server closes it."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def post(self, path, body, headers):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, r.getheader("x-cordon-effect"), data
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def intake(a):
    p = json.load(open(a.plan))
    secret = raw_secret(a.secret)
    accounts = p["intake"]
    path = f"/v1/verification/webhooks/{SOURCE}"
    run_id = str(int(time.time() * 1000))
    counter = itertools.count()
    lock = threading.Lock()
    statuses = {}
    latencies = []

    def worker():
        c = Client(a.port)
        mine = []
        while True:
            i = next(counter)
            if i >= len(accounts):
                break
            body = event(accounts[i], i, i % 2 == 0)
            headers = signed_headers(secret, f"bench-{run_id}-{i}", body)
            t = time.perf_counter()
            status, _, data = c.post(path, body, headers)
            mine.append(time.perf_counter() - t)
            outcome = json.loads(data).get("status", "?") if status < 300 else str(status)
            with lock:
                statuses[outcome] = statuses.get(outcome, 0) + 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(a.connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    accepted = statuses.get("accepted", 0)
    print(
        json.dumps(
            {
                "intake": {
                    "deliveries": len(accounts),
                    "connections": a.connections,
                    "seconds": round(elapsed, 3),
                    "events_per_s": round(accepted / elapsed, 1),
                    "outcomes": statuses,
                    "p50_ms": round(percentile(latencies, 50) * 1000, 2),
                    "p99_ms": round(percentile(latencies, 99) * 1000, 2),
                }
            }
        )
    )


def latency(a):
    p = json.load(open(a.plan))
    secret = raw_secret(a.secret)
    path = f"/v1/verification/webhooks/{SOURCE}"
    hook, chat = Client(a.port), Client(a.port)
    run_id = str(int(time.time() * 1000))
    refused_first = 0
    for acct in p["latency"]:
        key = p["keys"][acct]
        status, effect, _ = chat.post(
            "/v1/chat/completions", CHAT, {"content-type": "application/json", "authorization": "Bearer " + key}
        )
        refused_first += status == 451 and effect == "verification_required"
    to_allowed, webhook_ms, retries, never = [], [], 0, 0
    for n, acct in enumerate(p["latency"]):
        key = p["keys"][acct]
        body = event(acct, n, True)
        headers = signed_headers(secret, f"lat-{run_id}-{n}", body)
        t = time.perf_counter()
        status, _, data = hook.post(path, body, headers)
        t_2xx = time.perf_counter()
        webhook_ms.append((t_2xx - t) * 1000)
        if not 200 <= status < 300:
            sys.exit(f"load.py: webhook for {acct} answered {status}: {data[:200]!r}")
        allowed = False
        for attempt in range(200):  # bounded: 200 tries
            status, _, _ = chat.post(
                "/v1/chat/completions",
                CHAT,
                {"content-type": "application/json", "authorization": "Bearer " + key},
            )
            if status == 200:
                allowed = True
                break
            retries += 1
            time.sleep(0.005)
        if not allowed:
            never += 1
            continue
        to_allowed.append((time.perf_counter() - t_2xx) * 1000)
    print(
        json.dumps(
            {
                "latency": {
                    "accounts": len(p["latency"]),
                    "refused_before": refused_first,
                    "p50_ms": round(percentile(to_allowed, 50), 2),
                    "p99_ms": round(percentile(to_allowed, 99), 2),
                    "max_ms": round(max(to_allowed), 2),
                    "retries": retries,
                    "never_allowed": never,
                    "webhook_p50_ms": round(percentile(webhook_ms, 50), 2),
                    "webhook_p99_ms": round(percentile(webhook_ms, 99), 2),
                }
            }
        )
    )


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("plan")
    s.add_argument("--accounts", required=True)
    s.add_argument("--cordon", required=True)
    s.add_argument("--store", required=True)
    s.add_argument("--intake", type=int, required=True)
    s.add_argument("--latency", type=int, required=True)
    s.add_argument("--out", required=True)
    for name in ("intake", "latency"):
        s = sub.add_parser(name)
        s.add_argument("--plan", required=True)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--secret", required=True)
        if name == "intake":
            s.add_argument("--connections", type=int, default=16)
    a = ap.parse_args()
    {"plan": plan, "intake": intake, "latency": latency}[a.cmd](a)


if __name__ == "__main__":
    main()

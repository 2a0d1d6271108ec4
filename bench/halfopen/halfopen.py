"""Holds half-open connections to a gateway and times a normal client meanwhile.

Each held connection sends the start of a request's headers and then nothing.
The normal client sends a complete chat request every 100 ms on a fresh
connection and records how long the answer takes.
"""

import argparse
import asyncio
import json
import os
import statistics
import time


async def hold(port, hold, per_ip):
    held = []
    failed = 0
    partial = b"POST /v1/chat/completions HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
    for i in range(hold):
        source = f"127.0.0.{2 + i // per_ip}"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
            writer.write(partial)
            held.append(writer)
        except OSError:
            failed += 1
        if i % 500 == 499:
            await asyncio.sleep(0)
    return held, failed


async def one_request(port, key):
    body = json.dumps({"model": "lyric-4", "messages": [{"role": "user", "content": "Hi"}]}).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {key}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    elapsed = time.perf_counter() - start
    return elapsed, answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/") else b"none"


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--hold", type=int, required=True)
    p.add_argument("--per-ip", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--server-pid", type=int, required=True)
    a = p.parse_args()
    baseline = [await one_request(a.port, a.key) for _ in range(20)]
    t0 = time.perf_counter()
    held, failed = await hold(a.port, a.hold, a.per_ip)
    opened_in = time.perf_counter() - t0
    await asyncio.sleep(1)
    server_fds = open_fds(a.server_pid)
    samples = []
    statuses = {}
    end = time.perf_counter() + a.seconds
    while time.perf_counter() < end:
        elapsed, status = await one_request(a.port, a.key)
        samples.append(elapsed)
        statuses[status.decode()] = statuses.get(status.decode(), 0) + 1
        await asyncio.sleep(0.1)
    still_open = sum(1 for w in held if not w.is_closing())
    for w in held:
        w.close()
    ms = sorted(s * 1000 for s in samples)
    base = sorted(s * 1000 for s, _ in baseline)

    def pct(xs, q):
        return xs[min(len(xs) - 1, int(q * len(xs)))]

    print("| what | figure |")
    print("|---|---|")
    print(f"| half-open connections held (asked {a.hold}, {a.per_ip} per client address) | {len(held)} opened in {opened_in:.1f} s, {failed} failed; gateway descriptors open: {server_fds} |")
    print(f"| normal client before (20 requests, fresh connection each) | p50 {pct(base, 0.5):.2f} ms, max {base[-1]:.2f} ms |")
    print(f"| normal client while they are held ({len(ms)} requests over {a.seconds:.0f} s) | p50 {pct(ms, 0.5):.2f} ms, p99 {pct(ms, 0.99):.2f} ms, max {ms[-1]:.2f} ms; statuses {statuses} |")
    print(f"| answered within 100 ms | {sum(1 for x in ms if x < 100)} of {len(ms)} |")


asyncio.run(main())

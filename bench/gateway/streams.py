#!/usr/bin/env python3
"""Streaming probes for the gateway benchmark (loopback only, bounded).

  ttft        N sequential streaming requests; time to response headers and to
              the first `data:` chunk, p50/p99 in milliseconds.
  hold        open N concurrent streams, wait until each has its first chunk,
              then read a process's VmRSS (and the mock's open-stream count).
  disconnect  open N concurrent streams, wait until each has its first chunk,
              close every client socket at once and time until the mock reports
              its open streams back at the baseline.

Every mode prints one JSON object on stdout. Nothing here asserts timings.
"""

import argparse
import asyncio
import json
import socket
import sys
import time
import urllib.request

BODY = json.dumps({
    "model": "fable-5",
    "stream": True,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hello"}],
}).encode()


def request_bytes(host, port, path, key):
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: text/event-stream\r\n"
        f"Content-Length: {len(BODY)}\r\n"
        "Connection: close\r\n\r\n"
    )
    assert host in ("127.0.0.1", "localhost", "::1"), "loopback only"
    return head.encode() + BODY


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def mock_open_streams(stats_url):
    with urllib.request.urlopen(stats_url, timeout=2) as r:
        return json.loads(r.read())["open_streams"]


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


async def one_stream(host, port, payload, first_chunk_timeout):
    """Opens a stream; returns (reader, writer, t_headers, t_first, status)."""
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(payload)
    await writer.drain()
    buf = b""
    t_headers = None
    status = None
    deadline = t0 + first_chunk_timeout
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError("no first chunk in time")
        chunk = await asyncio.wait_for(reader.read(65536), timeout=left)
        if not chunk:
            raise ConnectionError(f"closed before the first chunk (status {status})")
        buf += chunk
        if t_headers is None and b"\r\n\r\n" in buf:
            t_headers = time.perf_counter()
            status = int(buf.split(b" ", 2)[1])
            if status != 200:
                raise ConnectionError(f"HTTP {status}: {buf[:300]!r}")
        if t_headers is not None and b"data:" in buf.split(b"\r\n\r\n", 1)[1]:
            return reader, writer, t_headers - t0, time.perf_counter() - t0, buf


async def ttft(a):
    payload = request_bytes(a.host, a.port, a.path, a.key)
    heads, firsts, fails = [], [], 0
    for _ in range(a.n):
        try:
            reader, writer, th, tf, buf = await one_stream(a.host, a.port, payload, a.timeout)
        except (OSError, TimeoutError, ConnectionError, asyncio.TimeoutError) as e:
            fails += 1
            print(f"ttft: {e}", file=sys.stderr)
            continue
        heads.append(th * 1000)
        firsts.append(tf * 1000)
        # Read the rest so the request completes normally (bounded).
        end = time.perf_counter() + a.timeout
        while b"[DONE]" not in buf and time.perf_counter() < end:
            chunk = await asyncio.wait_for(reader.read(65536), timeout=a.timeout)
            if not chunk:
                break
            buf += chunk
        writer.close()
    return {
        "mode": "ttft", "n": a.n, "ok": len(firsts), "failed": fails,
        "headers_p50_ms": pct(heads, 50), "headers_p99_ms": pct(heads, 99),
        "first_token_p50_ms": pct(firsts, 50), "first_token_p99_ms": pct(firsts, 99),
        "first_token_mean_ms": sum(firsts) / len(firsts) if firsts else None,
    }


async def open_many(a):
    payload = request_bytes(a.host, a.port, a.path, a.key)
    sem = asyncio.Semaphore(a.connect_concurrency)

    async def opener():
        async with sem:
            return await one_stream(a.host, a.port, payload, a.timeout)

    t0 = time.perf_counter()
    results = await asyncio.gather(*[opener() for _ in range(a.n)], return_exceptions=True)
    opened = [r for r in results if not isinstance(r, BaseException)]
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    return opened, errors, time.perf_counter() - t0


async def drain(reader, until):
    try:
        while time.perf_counter() < until:
            chunk = await asyncio.wait_for(reader.read(65536), timeout=max(0.01, until - time.perf_counter()))
            if not chunk:
                return
    except (OSError, asyncio.TimeoutError, asyncio.CancelledError):
        return


async def hold(a):
    base_rss = vmrss_kib(a.pid) if a.pid else None
    opened, errors, t_open = await open_many(a)
    # Keep reading so the streams make progress while the memory is read.
    until = time.perf_counter() + a.hold_secs
    drains = [asyncio.ensure_future(drain(r, until)) for (r, _w, _h, _f, _b) in opened]
    await asyncio.sleep(min(1.0, a.hold_secs / 2))
    rss = vmrss_kib(a.pid) if a.pid else None
    upstream_open = mock_open_streams(a.stats) if a.stats else None
    peak = rss
    while time.perf_counter() < until:
        await asyncio.sleep(0.25)
        if a.pid:
            peak = max(peak, vmrss_kib(a.pid))
    for d in drains:
        d.cancel()
    for (_r, w, _h, _f, _b) in opened:
        w.close()
    return {
        "mode": "hold", "n": a.n, "opened": len(opened), "errors": len(errors),
        "first_error": errors[0] if errors else None, "open_secs": t_open,
        "rss_before_kib": base_rss, "rss_open_kib": rss, "rss_peak_kib": peak,
        "mock_open_streams": upstream_open,
    }


async def disconnect(a):
    baseline = mock_open_streams(a.stats)
    opened, errors, t_open = await open_many(a)
    before = mock_open_streams(a.stats)
    t0 = time.perf_counter()
    for (_r, w, _h, _f, _b) in opened:
        sock = w.get_extra_info("socket")
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        w.transport.abort()
    t_closed = time.perf_counter() - t0
    samples = []
    now = before
    end = t0 + a.timeout
    while time.perf_counter() < end:
        now = mock_open_streams(a.stats)
        samples.append((round(time.perf_counter() - t0, 3), now))
        if now <= baseline:
            break
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - t0
    done = now <= baseline
    # The 50 % point, from the samples.
    half = None
    target = baseline + (before - baseline) / 2
    for t, v in samples:
        if v <= target:
            half = t
            break
    return {
        "mode": "disconnect", "n": a.n, "opened": len(opened), "errors": len(errors),
        "first_error": errors[0] if errors else None, "open_secs": t_open,
        "mock_open_before": before, "mock_baseline": baseline, "close_secs": t_closed,
        "all_closed": done, "secs_until_all_closed": elapsed if done else None,
        "secs_until_half_closed": half, "mock_open_at_end": now,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["ttft", "hold", "disconnect"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/v1/chat/completions")
    p.add_argument("--key", default="none")
    p.add_argument("-n", type=int, default=200)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--pid", type=int)
    p.add_argument("--stats", help="the mock's /mock/stats URL")
    p.add_argument("--hold-secs", type=float, default=3.0)
    p.add_argument("--connect-concurrency", type=int, default=100)
    a = p.parse_args()
    if a.n > 5000:
        sys.exit("at most 5000 streams")
    fn = {"ttft": ttft, "hold": hold, "disconnect": disconnect}[a.mode]
    print(json.dumps(asyncio.run(fn(a))))


if __name__ == "__main__":
    main()

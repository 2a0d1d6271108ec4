"""The disk's own fdatasync latency, as the audit log meets it.

Appends a record of about a decision leaf's size to a file in DIR and calls
fdatasync after each, N times in a row; prints one JSON object with the p50,
p99 and maximum in milliseconds. Nothing else runs meanwhile on the log's
behalf, so this is the floor under any durable decision's latency.

  python3 bench/gateway/fsync.py DIR [-n 2000] [--bytes 512]
"""
import argparse
import json
import os
import time


def main():
    a = argparse.ArgumentParser()
    a.add_argument("dir")
    a.add_argument("-n", type=int, default=2000)
    a.add_argument("--bytes", type=int, default=512)
    args = a.parse_args()
    path = os.path.join(args.dir, "fsync-probe.bin")
    record = os.urandom(args.bytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        took = []
        for _ in range(args.n):
            os.write(fd, record)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            took.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    took.sort()

    def pct(p):
        return took[min(len(took) - 1, int(len(took) * p))]

    print(json.dumps({"kind": "fsync", "n": args.n, "bytes": args.bytes,
                      "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": took[-1]}))


if __name__ == "__main__":
    main()

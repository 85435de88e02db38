"""A small threaded HTTP load generator (used when wrk is not installed): keep-alive GETs for N seconds.

    python bench/loadgen.py URL COOKIE SECONDS [THREADS]   → prints {"rps": …, "errors": …, "p50": "…ms"}
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import threading
import time
from urllib.parse import urlsplit


def worker(url: str, cookie: str, until: float, latencies: list[float], errors: list[int]) -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Cookie": cookie})
            response = conn.getresponse()
            response.read()
            if response.status >= 400:
                errors.append(response.status)
        except (OSError, http.client.HTTPException):
            errors.append(0)
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)


def main() -> None:
    url, cookie, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    latencies: list[float] = []
    errors: list[int] = []
    until = time.perf_counter() + seconds
    pool = [threading.Thread(target=worker, args=(url, cookie, until, latencies, errors)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    p50 = statistics.median(latencies) * 1000 if latencies else 0
    print(json.dumps({"rps": len(latencies) / seconds, "errors": len(errors), "p50": f"{p50:.0f}ms"}))


if __name__ == "__main__":
    main()

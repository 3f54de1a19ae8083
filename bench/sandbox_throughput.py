"""How many requests per second the sandbox sustains on list and create calls.

    .venv/bin/python bench/sandbox_throughput.py [--seconds 5] [--clients 4]

Starts its own sandbox (HTTPS, zero delays, rate limits off), drives it with keep-alive
clients from threads for a bounded time per scenario and prints one line per scenario.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
from oxy_sandbox import process

SETTINGS = {"droplet_delay": 0, "database_delay": 0, "app_delay": 0, "burst_limit": 0, "hourly_limit": 10**9}


def drive(running: process.Running, clients: int, seconds: float, call) -> tuple[int, list[float]]:
    stop = time.monotonic() + seconds
    counts = [0] * clients
    latencies: list[list[float]] = [[] for _ in range(clients)]

    def worker(i: int) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = "Bearer bench"
            n = 0
            while time.monotonic() < stop and n < 1_000_000:
                started = time.perf_counter()
                resp = call(session, running.url, running.ca, i, n)
                resp.raise_for_status()
                latencies[i].append(time.perf_counter() - started)
                n += 1
            counts[i] = n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts), [x for per in latencies for x in per]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        running = process.start(Path(tmp), reset=True)
        try:
            requests.put(f"{running.url}/_sandbox/config", json=SETTINGS, verify=running.ca, timeout=10)
            scenarios = {
                "POST /v2/tags": lambda s, u, ca, i, n: s.post(f"{u}/v2/tags", json={"name": f"t{i}-{n}"}, verify=ca),
                "POST /v2/droplets": lambda s, u, ca, i, n: s.post(
                    f"{u}/v2/droplets",
                    verify=ca,
                    json={"name": f"d{i}-{n}", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "ams3"},
                ),
                "GET /v2/droplets (page of 20 of all)": lambda s, u, ca, i, n: s.get(f"{u}/v2/droplets", verify=ca),
                "GET /v2/droplets/{id}": lambda s, u, ca, i, n: s.get(f"{u}/v2/droplets/500000001", verify=ca),
            }
            print(f"sandbox throughput: {args.clients} keep-alive clients, {args.seconds:g}s per scenario, HTTPS")
            for name, call in scenarios.items():
                total, lat = drive(running, args.clients, args.seconds, call)
                p50 = statistics.median(lat) * 1000
                p99 = sorted(lat)[int(len(lat) * 0.99) - 1] * 1000
                print(
                    f"{name:34} {total / args.seconds:8.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   n={total}"
                )
        finally:
            process.stop(running)


if __name__ == "__main__":
    main()

"""Client cost of one partner call: `requests.Session` vs `urllib3.PoolManager`, against the local simulator.

A benchmark, not a test. Starts the partner simulator in its own process (so its CPU is not counted),
then sends the same GETs through each client, one at a time, in interleaved rounds, and prints per client
the median wall time and the client process's CPU time per call (`time.process_time`), which is what a
worker thread spends on the client itself. `python -m bench.envelope_http_client [--calls N --rounds R]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import requests
import urllib3

from devstack import demo_data as demo
from devstack.stack import free_port


def with_requests(base: str) -> Callable[[str], dict[str, object]]:
    session = requests.Session()

    def get(path: str) -> dict[str, object]:
        response = session.get(base + path, timeout=(1.0, 2.0))
        body: dict[str, object] = response.json()
        return body

    return get


def with_urllib3(base: str) -> Callable[[str], dict[str, object]]:
    pool = urllib3.PoolManager(maxsize=4, retries=False, timeout=urllib3.Timeout(connect=1.0, read=2.0))

    def get(path: str) -> dict[str, object]:
        response = pool.request("GET", base + path)
        body: dict[str, object] = json.loads(response.data)
        return body

    return get


def measure(get: Callable[[str], dict[str, object]], path: str, calls: int) -> tuple[float, float]:
    """(wall ms per call, client CPU ms per call)."""
    get(path)  # connect outside the measurement
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        get(path)
    return (time.perf_counter() - wall) * 1000 / calls, (time.process_time() - cpu) * 1000 / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "devstack.simulator", "--port", str(port)])
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{base}/areas/{demo.AREA}", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        clients = {"requests": with_requests(base), "urllib3": with_urllib3(base)}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
        for _ in range(args.rounds):
            for name, get in clients.items():
                results[name].append(measure(get, f"/areas/{demo.AREA}", args.calls))
        for name, runs in results.items():
            walls, cpus = [w for w, _ in runs], [c for _, c in runs]
            print(
                f"{name:9} wall per call median {statistics.median(walls):.3f} ms, "
                f"client CPU per call min {min(cpus):.3f} / median {statistics.median(cpus):.3f} / "
                f"max {max(cpus):.3f} ms"
            )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()

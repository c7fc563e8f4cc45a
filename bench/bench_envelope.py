"""Envelope assembly: POST-to-decided through the local stack with every partner answering after L.

A benchmark, not a test. Starts its own local stack (free ports) whose simulator waits `--latency-ms`
before each answer, then for a 10- and a 300-director company (`demo.ENVELOPE_COMPANIES`) posts orders
one at a time and polls until each is decided, as `make bench-quorum` measures POST -> decided. Figures
are in units of L: the partner round trips an order costs end to end, API and worker included.
Ends with `POST to decided in L: 10 reps <x>, 300 reps <y>` (medians).
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from devstack import demo_data as demo
from devstack.stack import LocalStack, StackConfig


def post_to_decided(stack: LocalStack, cnpj: str, orders: int) -> list[float]:
    client = stack.clients.for_area(demo.AREA, "orders.write")
    stack.clients.token_for(client)  # fetched once, before the clock starts: a caller reuses its token
    latencies: list[float] = []
    for _ in range(orders):
        started = time.perf_counter()
        auth = stack.clients.bearer(client)
        response = requests.post(f"{stack.api_url}/v1/orders", json=demo.order_body(cnpj), headers=auth, timeout=30)
        response.raise_for_status()
        key = response.json()["order_key"]
        while True:
            status = requests.get(f"{stack.api_url}/v1/orders/{key}", headers=auth, timeout=30).json()["status"]
            if status != "PROCESSING":
                break
            time.sleep(0.005)
        if status not in ("QUORUM_MET", "NO_QUORUM"):
            raise SystemExit(f"an order for the {cnpj[-6:]} bench company ended {status}, not decided")
        latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="L: how long every partner answer waits")
    parser.add_argument("--orders", type=int, default=10, help="orders per company (after one warm-up order)")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    medians: dict[int, float] = {}
    with LocalStack(StackConfig.on_free_ports(partner_latency_ms=args.latency_ms)) as stack:
        for size, company in demo.ENVELOPE_COMPANIES.items():
            post_to_decided(stack, company.cnpj, 1)  # warm-up: imports, pools and the first token
            runs = [seconds / latency for seconds in post_to_decided(stack, company.cnpj, args.orders)]
            medians[size] = statistics.median(runs)
            print(
                f"{size} reps, L = {args.latency_ms:g} ms, {args.orders} orders one at a time: POST -> decided "
                f"min {min(runs):.2f} L, median {medians[size]:.2f} L, max {max(runs):.2f} L "
                f"(median {medians[size] * args.latency_ms:,.0f} ms)"
            )
    print(f"POST to decided in L: 10 reps {medians[10]:.2f}, 300 reps {medians[300]:.2f}")


if __name__ == "__main__":
    main()

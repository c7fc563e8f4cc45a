"""Our compiled policy vs GoRules ZEN (Rust, Python binding) on the same 10,000 applications.

ZEN is timed through both of its Python APIs: `ZenDecision.evaluate` per application, and
`ZenEngine.evaluate_batch` with all applications in one call (no per-call binding overhead; the
fair comparison for throughput). Today's closure engine (bench/baseline_credit.py) runs too, and
must return exactly our evaluations. Every engine gets its inputs prepared before the clock
starts; rounds are interleaved in this process so a noisy neighbour hits all of them. The run
fails loudly if ZEN disagrees on any outcome or reason. Last line:
`ours/zen decisions per second: <ratio>`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import zen

from bench.baseline_credit import CompiledPolicy as BaselinePolicy
from bench.zen_model import policy_to_jdm
from chalicelib.credit.engine import CompiledPolicy
from chalicelib.credit.model import Application, Evaluation, ScoreSource
from chalicelib.credit.policy import default_policy

TODAY = date(2026, 11, 22)
INCOME_BRACKETS = [(0, 0)] + [(1200, 4000)] * 3 + [(4000, 15000)] * 4 + [(15000, 80000)] * 2


def generate(count: int, seed: int = 42) -> list[Application]:
    """A realistic stream: amounts mostly a few months of income, plus tails that hit every reason."""
    rnd = random.Random(seed)
    apps = []
    for _ in range(count):
        low, high = rnd.choice(INCOME_BRACKETS)
        income = Decimal(rnd.randint(low, high))
        if income and rnd.random() < 0.8:
            amount = max(Decimal("200"), income * Decimal(rnd.uniform(0.3, 5))).quantize(Decimal("0.01"))
        else:
            amount = Decimal(rnd.randint(200_00, 350_000_00)) / 100
        apps.append(
            Application(
                amount=amount,
                term_months=rnd.choice([3, 6, 12, 24, 24, 36, 36, 48, 60, 72, 96]),
                product="PERSONAL_LOAN",
                monthly_income=income,
                existing_debts=(income * Decimal(rnd.randint(0, 45)) / 100).quantize(Decimal("0.01")),
                score=min(1000, max(0, int(rnd.gauss(640, 170)))),
                score_as_of=TODAY - timedelta(days=rnd.choice([1, 10, 10, 45, 120])),
                score_source=ScoreSource.BUREAU,
                today=TODAY,
            )
        )
    return apps


def zen_context(app: Application) -> dict[str, Any]:
    assert app.score_as_of is not None
    return {
        "score": app.score,
        "score_age_days": (app.today - app.score_as_of).days,
        "monthly_income": float(app.monthly_income),
        "existing_debts": float(app.existing_debts),
        "amount": float(app.amount),
        "term_months": app.term_months,
        "product": app.product,
    }


def run_ours(policy: CompiledPolicy | BaselinePolicy, apps: list[Application]) -> tuple[float, list[Evaluation]]:
    started = time.perf_counter()
    results = [policy.decide(a) for a in apps]
    return time.perf_counter() - started, results


def run_zen(decision: Any, contexts: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
    started = time.perf_counter()
    results = [decision.evaluate(c)["result"] for c in contexts]
    return time.perf_counter() - started, results


def run_zen_batch(engine: Any, requests: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
    started = time.perf_counter()
    answers = engine.evaluate_batch(requests)
    elapsed = time.perf_counter() - started
    failed = [a for a in answers if not a.get("success")]
    if failed:
        raise SystemExit(f"ZEN evaluate_batch failed {len(failed)} requests, e.g. {failed[0].get('error')}")
    return elapsed, [a["data"]["result"] for a in answers]


def disagreements(
    ours: list[Evaluation], theirs: list[dict[str, Any]]
) -> list[tuple[int, str, str, list[str], list[str]]]:
    return [
        (i, o.outcome.value, z["outcome"], sorted(r.code for r in o.reasons), sorted(r["code"] for r in z["reasons"]))
        for i, (o, z) in enumerate(zip(ours, theirs, strict=True))
        if o.outcome.value != z["outcome"] or {r.code for r in o.reasons} != {r["code"] for r in z["reasons"]}
    ]


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}/{statistics.median(values):.2f}/{max(values):.2f}"


def bench_api(requests_count: int) -> str:
    """p50/p95 of POST /v1/credit/decisions called in-process through Chalice, adapters against the local stack."""
    import os

    from chalice.test import Client

    from chalicelib import bootstrap
    from devstack import demo_data as demo
    from devstack.stack import LocalStack, StackConfig
    from devstack.worker import load_app

    with LocalStack(StackConfig.on_free_ports()) as stack:
        saved = dict(os.environ)
        os.environ.update({**stack.env(), "AME_LOG_LEVEL": "WARNING"})
        try:
            bootstrap.use_container(None)
            bootstrap.use_token_verifier(None)  # trusts this stack's issuer, read from the environment
            module = load_app()
            people = [demo.ANA, demo.BRUNO, demo.CARLA, demo.DIEGO, demo.ELISA, demo.HELENA]
            headers = {
                "Content-Type": "application/json",
                **stack.clients.bearer(stack.clients.for_area(demo.AREA, "credit.decide")),
            }
            latencies = []
            with Client(module.app) as client:
                for n in range(requests_count + 20):
                    body = {
                        "cpf": people[n % len(people)].cpf,
                        "amount": f"{1000 + 97 * n}.00",
                        "term_months": 24,
                        "product": "PERSONAL_LOAN",
                        "monthly_income": "8000.00",
                        "existing_debts": "1200.00",
                    }
                    started = time.perf_counter()
                    response = client.http.post("/v1/credit/decisions", headers=headers, body=json.dumps(body))
                    elapsed = time.perf_counter() - started
                    assert response.status_code == 201, response.body
                    if n >= 20:  # the first requests pay for the cold start (clients, policy load)
                        latencies.append(elapsed)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            bootstrap.use_container(None)
            bootstrap.use_token_verifier(None)
    latencies.sort()
    p50, p95 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95) - 1]
    return (
        f"POST /v1/credit/decisions in-process against the local stack ({requests_count} requests, bureau + "
        f"DynamoDB round trips included): p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--api-requests", type=int, default=300, help="0 skips the API latency run")
    args = parser.parse_args()
    policy = default_policy()
    ours = CompiledPolicy(policy)
    baseline = BaselinePolicy(policy)
    jdm = policy_to_jdm(policy)
    decision = zen.ZenEngine().create_decision(json.dumps(jdm))
    batch_engine = zen.ZenEngine({"loader": {"type": "static", "content": {"credit": jdm}}})
    apps = generate(args.applications)
    contexts = [zen_context(a) for a in apps]
    batch = [{"key": "credit", "context": c} for c in contexts]

    our_times, baseline_times, zen_times, batch_times = [], [], [], []
    for _ in range(args.rounds):
        elapsed, our_results = run_ours(ours, apps)
        our_times.append(elapsed)
        elapsed, baseline_results = run_ours(baseline, apps)
        baseline_times.append(elapsed)
        elapsed, zen_results = run_zen(decision, contexts)
        zen_times.append(elapsed)
        elapsed, batch_results = run_zen_batch(batch_engine, batch)
        batch_times.append(elapsed)

    differ = disagreements(our_results, zen_results)
    differ_batch = disagreements(our_results, batch_results)
    not_as_baseline = sum(o != b for o, b in zip(our_results, baseline_results, strict=True))
    outcomes = Counter(o.outcome.value for o in our_results)
    reasons = Counter(r.code for o in our_results for r in o.reasons)
    ours_rate = args.applications / statistics.median(our_times)
    baseline_rate = args.applications / statistics.median(baseline_times)
    zen_rate = args.applications / statistics.median(zen_times)
    batch_rate = args.applications / statistics.median(batch_times)
    print(f"policy {policy.policy_id} {policy.version} ({policy.hash[:19]}...), {args.applications:,} applications")
    print(f"outcomes: {dict(outcomes)}")
    print(f"reasons fired: {dict(sorted(reasons.items()))}")
    print(f"agreement: {args.applications - len(differ):,}/{args.applications:,} on outcome and reasons")
    for row in differ[:5]:
        print(f"  disagreement #{row[0]}: ours {row[1]} {row[3]} vs zen {row[2]} {row[4]}")
    print(
        f"agreement with zen evaluate_batch: {args.applications - len(differ_batch):,}/{args.applications:,}; "
        f"identical to the closure baseline (outcome, reasons, figures, policy): "
        f"{args.applications - not_as_baseline:,}/{args.applications:,}"
    )
    print(f"ours: {ours_rate:,.0f} decisions/s ({1e6 / ours_rate:.1f} us each, full trace)")
    print(f"zen:  {zen_rate:,.0f} decisions/s ({1e6 / zen_rate:.1f} us each)")
    print(f"zen evaluate_batch: {batch_rate:,.0f} decisions/s ({1e6 / batch_rate:.1f} us each, one call)")
    print(f"baseline (closures): {baseline_rate:,.0f} decisions/s ({1e6 / baseline_rate:.1f} us each, full trace)")
    print(
        f"per round, {args.rounds} interleaved (min/median/max): "
        f"ours/zen {spread([z / o for o, z in zip(our_times, zen_times, strict=True)])}, "
        f"ours/zen-batch {spread([z / o for o, z in zip(our_times, batch_times, strict=True)])}, "
        f"ours/baseline {spread([b / o for o, b in zip(our_times, baseline_times, strict=True)])}"
    )
    if args.api_requests:
        print(bench_api(args.api_requests))
    if differ or differ_batch:
        raise SystemExit(f"{len(differ) + len(differ_batch)} disagreements: the two encodings of the policy differ")
    if not_as_baseline:
        raise SystemExit(f"{not_as_baseline} evaluations differ from the closure baseline")
    print(f"ours/zen-batch decisions per second: {ours_rate / batch_rate:.2f}")
    print(f"ours/zen decisions per second: {ours_rate / zen_rate:.2f}")


if __name__ == "__main__":
    main()

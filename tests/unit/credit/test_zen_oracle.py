"""GoRules ZEN as an independent oracle: the same policy, encoded as a ZEN graph, must agree."""

from __future__ import annotations

import json

import zen

from bench.bench_credit import generate, zen_context
from bench.zen_model import policy_to_jdm
from chalicelib.credit.engine import CompiledPolicy
from chalicelib.credit.policy import default_policy


def test_zen_and_our_engine_agree_on_outcome_and_every_reason() -> None:
    policy = default_policy()
    ours = CompiledPolicy(policy)
    theirs = zen.ZenEngine().create_decision(json.dumps(policy_to_jdm(policy)))
    applications = generate(600, seed=7)
    mismatches = []
    for app in applications:
        mine = ours.decide(app)
        zen_result = theirs.evaluate(zen_context(app))["result"]
        if mine.outcome.value != zen_result["outcome"] or {r.code for r in mine.reasons} != {
            r["code"] for r in zen_result["reasons"]
        }:
            mismatches.append(app)
    assert mismatches == []
    assert {ours.decide(a).outcome.value for a in applications} == {"APPROVED", "REVIEW", "REFUSED"}

"""Expresses a credit policy as a GoRules ZEN decision model (JDM), for the benchmark.

The graph is what a ZEN user would draw: bands as a first-hit decision table, the Price-table
and income figures as an expression node, the rules as a collect decision table (one row a
rule, one column a field), and the outcome as a final expression.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from chalicelib.credit.policy import AllOf, AnyOf, Compare, Condition, Policy

_UNARY = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "==", "ne": "!="}
INFINITY = "1000000000"  # stands in for "infinitely heavy" when there is no income
_COMMON = {"passThrough": True, "inputField": None, "executionMode": "single"}


def _literal(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def _test(compare: Compare) -> str:
    """One comparison as a unary cell test on its column ($ is the column's value)."""
    if compare.other_field is not None:
        return f"$ {_UNARY[compare.op]} {compare.other_field}"
    if compare.op in ("in", "not_in"):
        assert isinstance(compare.value, frozenset)
        members = ", ".join(_literal(v) for v in sorted(compare.value))
        return f"{'not ' if compare.op == 'not_in' else ''}($ in [{members}])"
    return f"$ {_UNARY[compare.op]} {_literal(compare.value)}"


def _cells(condition: Condition) -> dict[str, str]:
    """field -> cell; supports what decision tables express: AND across columns, OR within one."""
    match condition:
        case Compare(field=field):
            return {field: _test(condition)}
        case AnyOf(items=items):
            compares = [i for i in items if isinstance(i, Compare)]
            fields = {c.field for c in compares}
            if len(compares) == len(items) and len(fields) == 1:
                return {fields.pop(): " or ".join(f"({_test(c)})" for c in compares)}
        case AllOf(items=items):
            cells: dict[str, str] = {}
            for item in items:
                for field, test in _cells(item).items():
                    cells[field] = f"({cells[field]}) and ({test})" if field in cells else test
            return cells
    raise NotImplementedError(f"no decision-table form for {condition!r}")


def _node(node_id: str, kind: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"id": node_id, "type": kind, "name": node_id, "position": {"x": 0, "y": 0}}
    if content is not None:
        node["content"] = content
    return node


def _ratio(numerator: str) -> str:
    return f"monthly_income > 0 ? round(({numerator}) / monthly_income, 4) : (({numerator}) > 0 ? {INFINITY} : 0)"


def policy_to_jdm(policy: Policy) -> dict[str, Any]:
    band_rows = [
        {
            "_id": f"band-{b.band}",
            "s": f">= {b.min_score}",
            "band": _literal(b.band),
            "rate": str(b.monthly_rate),
            "multiple": str(b.income_multiple),
        }
        for b in policy.bands
    ]
    bands = _node(
        "bands",
        "decisionTableNode",
        {
            **_COMMON,
            "hitPolicy": "first",
            "outputPath": None,
            "inputs": [{"id": "s", "name": "score", "field": "score"}],
            "outputs": [
                {"id": "band", "name": "band", "field": "band"},
                {"id": "rate", "name": "monthly_rate", "field": "monthly_rate"},
                {"id": "multiple", "name": "income_multiple", "field": "income_multiple"},
            ],
            "rules": band_rows,
        },
    )
    expressions = [
        ("installment", "round(amount * monthly_rate / (1 - (1 + monthly_rate) ^ (-term_months)), 2)"),
        ("dti_before", _ratio("existing_debts")),
        ("dti_after", _ratio("existing_debts + $.installment")),
        ("installment_to_income", _ratio("$.installment")),
        ("approval_limit", f"round(min([monthly_income * income_multiple, {policy.approval_limit_cap}]), 2)"),
    ]
    figures = _node(
        "figures",
        "expressionNode",
        {
            **_COMMON,
            "outputPath": None,
            "expressions": [{"id": key, "key": key, "value": value} for key, value in expressions],
        },
    )
    rows = [(rule, _cells(rule.when)) for rule in policy.rules]
    columns = sorted({field for _, cells in rows for field in cells})
    rules = _node(
        "rules",
        "decisionTableNode",
        {
            **_COMMON,
            "hitPolicy": "collect",
            "outputPath": "reasons",
            "inputs": [{"id": f"in_{c}", "name": c, "field": c} for c in columns],
            "outputs": [
                {"id": "code", "name": "code", "field": "code"},
                {"id": "outcome", "name": "outcome", "field": "outcome"},
            ],
            "rules": [
                {
                    "_id": rule.rule_id,
                    **{f"in_{c}": cells.get(c, "") for c in columns},
                    "code": _literal(rule.code),
                    "outcome": _literal(rule.outcome.value),
                }
                for rule, cells in rows
            ],
        },
    )
    outcome = _node(
        "outcome",
        "expressionNode",
        {
            **_COMMON,
            "outputPath": None,
            "expressions": [
                {
                    "id": "outcome",
                    "key": "outcome",
                    "value": "some(reasons, #.outcome == 'REFUSED') ? 'REFUSED' : "
                    "(some(reasons, #.outcome == 'REVIEW') ? 'REVIEW' : 'APPROVED')",
                }
            ],
        },
    )
    chain = ["input", "bands", "figures", "rules", "outcome", "output"]
    return {
        "nodes": [_node("input", "inputNode"), bands, figures, rules, outcome, _node("output", "outputNode")],
        "edges": [{"id": f"{a}->{b}", "sourceId": a, "targetId": b, "type": "edge"} for a, b in pairwise(chain)],
    }

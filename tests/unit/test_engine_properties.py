"""Invariants of the quorum engine, checked on generated companies (hypothesis)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.quorum.engine import evaluate_company
from chalicelib.quorum.model import Clause, GroupingRule, OperatorAccess, PowerGrant, Representative, Role
from chalicelib.quorum.rules import solve
from tests.unit.builders import cnpj, cpf, terms

GROUPS = ("A", "B", "C")
Company = tuple[PowerGrant, dict[str, OperatorAccess | None]]
PEOPLE = [cpf(n) for n in range(7)]


@st.composite
def clauses(draw: st.DrawFn) -> Clause:
    if draw(st.booleans()) and draw(st.booleans()):
        return Clause(min=1, cpf=draw(st.sampled_from(PEOPLE)))
    return Clause(min=draw(st.integers(1, 2)), group=draw(st.sampled_from(GROUPS)))


@st.composite
def companies(draw: st.DrawFn) -> tuple[PowerGrant, dict[str, OperatorAccess | None]]:
    cpfs = draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=6, unique=True))
    reps = tuple(
        Representative(c, g) for c in cpfs for g in draw(st.sets(st.sampled_from(GROUPS), min_size=1, max_size=2))
    )
    rules = tuple(
        GroupingRule(f"R{i}", tuple(draw(st.lists(clauses(), min_size=1, max_size=3))))
        for i in range(draw(st.integers(1, 4)))
    )
    operators = {c: OperatorAccess(True, True) if draw(st.booleans()) or i == 0 else None for i, c in enumerate(cpfs)}
    return PowerGrant(reps, rules), operators


def brute_force_fills(people: dict[str, frozenset[str]], rule: GroupingRule, chosen: Sequence[str]) -> bool:
    slots: list[set[str]] = []
    for clause in rule.clauses:
        if clause.cpf is not None:
            slots.append({clause.cpf})
        else:
            slots.extend({p for p in chosen if clause.group in people[p]} for _ in range(clause.min))
    if not slots:
        return False
    return any(
        all(person in slot for person, slot in zip(assignment, slots, strict=True))
        for assignment in itertools.permutations(chosen, len(slots))
    )


def brute_force_minimal_sets(people: dict[str, frozenset[str]], rules: Sequence[GroupingRule]) -> set[tuple[str, ...]]:
    satisfying = {
        tuple(sorted(subset))
        for size in range(1, len(people) + 1)
        for subset in itertools.combinations(sorted(people), size)
        if any(brute_force_fills(people, r, subset) for r in rules)
    }
    return {s for s in satisfying if not any(set(o) < set(s) for o in satisfying)}


@settings(max_examples=150, deadline=None)
@given(companies())
def test_solver_finds_exactly_the_brute_force_minimal_signer_sets(company: Company) -> None:
    grant, _ = company
    people: dict[str, frozenset[str]] = {}
    for r in grant.representatives:
        people[r.cpf] = people.get(r.cpf, frozenset()) | {r.group}
    expected = brute_force_minimal_sets(people, grant.rules)
    solved = solve(people, grant.rules, listed_cap=10_000)
    assert set(solved.listed) == expected
    assert solved.total == len(expected) == len(solved.listed)
    assert set(solved.signers) == {p for s in expected for p in s}


@settings(max_examples=200, deadline=None)
@given(companies(), st.data())
def test_disabling_a_signer_never_turns_no_quorum_into_quorum(company: Company, data: st.DataObject) -> None:
    grant, operators = company
    before = evaluate_company(Role.REQUESTER, cnpj(1), grant, terms(), {}, operators)
    victim = data.draw(st.sampled_from(sorted(operators)))
    after = evaluate_company(Role.REQUESTER, cnpj(1), grant, terms(), {}, {**operators, victim: None})
    assert not (not before.quorum and after.quorum)
    assert after.signer_sets_total <= before.signer_sets_total or not before.quorum


@settings(max_examples=150, deadline=None)
@given(companies(), st.randoms(use_true_random=False))
def test_verdict_does_not_depend_on_the_order_of_representatives_or_rules(company: Company, rnd: object) -> None:
    grant, operators = company
    reps, rules = list(grant.representatives), list(grant.rules)
    rnd.shuffle(reps)  # type: ignore[attr-defined]
    rnd.shuffle(rules)  # type: ignore[attr-defined]
    shuffled = PowerGrant(tuple(reps), tuple(rules))
    a = evaluate_company(Role.REQUESTER, cnpj(1), grant, terms(), {}, operators)
    b = evaluate_company(Role.REQUESTER, cnpj(1), shuffled, terms(), {}, operators)
    assert (a.quorum, a.reason, a.participants, a.signer_sets, a.signer_sets_total) == (
        b.quorum,
        b.reason,
        b.participants,
        b.signer_sets,
        b.signer_sets_total,
    )
    assert set(a.satisfied_rules) == set(b.satisfied_rules)


@settings(max_examples=150, deadline=None)
@given(companies())
def test_every_listed_signer_set_is_enabled_and_satisfies_a_satisfied_rule(company: Company) -> None:
    grant, operators = company
    verdict = evaluate_company(Role.REQUESTER, cnpj(1), grant, terms(), {}, operators)
    enabled = {p.cpf: frozenset(p.groups) for p in verdict.participants if p.enabled}
    satisfied = [r for r in grant.rules if r.rule_id in verdict.satisfied_rules]
    assert verdict.quorum == bool(verdict.signer_sets)
    for signer_set in verdict.signer_sets:
        assert set(signer_set) <= set(enabled)
        assert any(brute_force_fills(enabled, r, signer_set) for r in satisfied)

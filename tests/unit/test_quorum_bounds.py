"""The quorum engine answers every company within a fixed amount of work and memory.

Work is what the engine itself counts (flow edges examined, search nodes, vectors counted), so
these tests are deterministic; wall-clock figures live in `make bench-quorum`.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.quorum_shapes import SHAPES, Shape, any_k_of, huge_min, own_extra_groups
from chalicelib.orders.wire import party_from_wire, party_to_wire
from chalicelib.quorum.engine import evaluate_company
from chalicelib.quorum.model import Role
from chalicelib.quorum.rules import MAX_LISTED_SIGNER_SETS, WORK_BUDGET, solve
from tests.unit.builders import cnpj, terms
from tests.unit.test_engine_properties import Company, brute_force_minimal_sets, companies

WORK_LIMIT = 2 * WORK_BUDGET
"""Counting stops at WORK_BUDGET; deciding the satisfied rules (never cut short) gets as much again."""
PEAK_MEMORY_LIMIT = 16 * 2**20


@pytest.mark.parametrize("make", SHAPES, ids=lambda make: make().name)
def test_every_adversarial_company_is_answered_within_the_work_and_memory_limits(make: Callable[[], Shape]) -> None:
    # GIVEN a company shaped to blow up an enumerator
    shape = make()
    # WHEN solving it under tracemalloc
    tracemalloc.start()
    try:
        solved = solve(shape.people, shape.rules)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # THEN the engine's own work counter and the peak allocation stay under fixed limits
    assert solved.work <= WORK_LIMIT
    assert peak <= PEAK_MEMORY_LIMIT
    # AND a satisfied company still lists minimal sets, and a cut count says so
    assert bool(solved.satisfied_rules) == bool(solved.listed)
    assert len(solved.listed) <= MAX_LISTED_SIGNER_SETS
    assert solved.total >= len(solved.listed)
    assert solved.exact or solved.total > 0


@pytest.mark.parametrize(("k", "n"), [(3, 500), (4, 200), (5, 2000), (20, 40)])
def test_any_k_of_n_is_counted_exactly_without_listing_the_combinations(k: int, n: int) -> None:
    shape = any_k_of(k, n)
    solved = solve(shape.people, shape.rules)
    assert (solved.total, solved.exact) == (comb(n, k), True)
    assert len(solved.listed) == MAX_LISTED_SIGNER_SETS
    assert solved.listed[0] == tuple(sorted(shape.people))[:k]
    assert solved.work < 100


def test_groups_no_rule_mentions_do_not_split_people_into_classes() -> None:
    shape = own_extra_groups(3, 1500)
    solved = solve(shape.people, shape.rules)
    assert (solved.total, solved.exact, len(solved.signers)) == (comb(1500, 3), True, 1500)


def test_a_clause_wanting_more_people_than_exist_is_refused_without_any_search() -> None:
    shape = huge_min()
    solved = solve(shape.people, shape.rules)
    assert (solved.satisfied_rules, solved.total, solved.exact, solved.work) == ((), 0, True, 0)


@settings(max_examples=150, deadline=None)
@given(companies(), st.integers(0, 40))
def test_a_cut_count_is_a_lower_bound_and_signers_an_upper_bound(company: Company, budget: int) -> None:
    # GIVEN a small company solved with a tiny budget
    grant, _ = company
    people: dict[str, frozenset[str]] = {}
    for r in grant.representatives:
        people[r.cpf] = people.get(r.cpf, frozenset()) | {r.group}
    expected = brute_force_minimal_sets(people, grant.rules)
    solved = solve(people, grant.rules, listed_cap=10_000, budget=budget)
    # THEN the satisfied rules never depend on the budget
    assert solved.satisfied_rules == solve(people, grant.rules).satisfied_rules
    # AND whatever is listed is minimal; the total and the signers are exact or bounded
    assert set(solved.listed) <= expected
    assert bool(solved.listed) == bool(expected)
    everyone_needed = {p for s in expected for p in s}
    if solved.exact:
        assert (solved.total, set(solved.signers)) == (len(expected), everyone_needed)
    else:
        assert len(solved.listed) <= solved.total <= len(expected)
        assert set(solved.signers) >= everyone_needed


def test_the_exactness_flag_travels_through_the_wire_and_old_items_read_as_exact() -> None:
    verdict = evaluate_company(Role.REQUESTER, cnpj(1), None, terms(), {}, {})
    cut = party_from_wire({**party_to_wire(verdict), "signer_sets_total_exact": False})
    old_item = {k: v for k, v in party_to_wire(verdict).items() if k != "signer_sets_total_exact"}
    assert party_to_wire(verdict)["signer_sets_total_exact"] is True
    assert cut.signer_sets_total_exact is False
    assert party_from_wire(old_item).signer_sets_total_exact is True

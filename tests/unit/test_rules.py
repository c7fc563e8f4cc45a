from __future__ import annotations

from decimal import Decimal

from chalicelib.quorum.rules import applicable_rules, solve
from tests.unit.builders import cpf, group, person, rule


def people(**groups_by_n: str) -> dict[str, frozenset[str]]:
    return {cpf(int(n[1:])): frozenset(g.split(",")) for n, g in groups_by_n.items()}


def test_one_person_never_counts_twice_even_when_in_two_groups() -> None:
    # GIVEN one person in both A and B, and a rule needing one A and one B
    enabled = people(p1="A,B")
    # WHEN solving
    solved = solve(enabled, [rule("AB", group("A"), group("B"))])
    # THEN a sum would say yes; a matching says no
    assert solved.satisfied_rules == ()
    assert solved.total == 0


def test_matching_finds_the_assignment_a_greedy_choice_would_miss() -> None:
    # p1 can be A or B, p2 only A: greedy "p1 -> A" leaves B empty; matching puts p1 on B.
    enabled = people(p1="A,B", p2="A")
    solved = solve(enabled, [rule("AB", group("A"), group("B"))])
    assert solved.satisfied_rules == ("AB",)
    assert solved.listed == ((cpf(1), cpf(2)),)


def test_named_person_clause_needs_that_person_enabled() -> None:
    enabled = people(p1="DIRECTOR", p2="DIRECTOR")
    with_named = solve(enabled, [rule("R", group("DIRECTOR"), person(2))])
    without_named = solve(people(p1="DIRECTOR"), [rule("R", group("DIRECTOR"), person(2))])
    assert with_named.satisfied_rules == ("R",)
    assert with_named.listed == ((cpf(1), cpf(2)),)
    assert without_named.satisfied_rules == ()


def test_the_named_person_cannot_also_fill_their_group_clause() -> None:
    enabled = people(p2="DIRECTOR")
    assert solve(enabled, [rule("R", group("DIRECTOR"), person(2))]).satisfied_rules == ()


def test_rule_ceiling_excludes_rules_for_larger_orders() -> None:
    rules = [rule("SMALL", group("A"), max_amount="1000.00"), rule("ANY", group("A", 2))]
    assert [r.rule_id for r in applicable_rules(rules, Decimal("1000.00"))] == ["SMALL", "ANY"]
    assert [r.rule_id for r in applicable_rules(rules, Decimal("1000.01"))] == ["ANY"]


def test_minimal_sets_drop_supersets_of_a_solo_signer() -> None:
    # GIVEN an admin who signs alone and a rule admin + director
    enabled = people(p1="ADMIN", p2="DIRECTOR")
    solved = solve(enabled, [rule("SOLO", group("ADMIN")), rule("PAIR", group("ADMIN"), group("DIRECTOR"))])
    # THEN both rules are satisfied but only the admin alone is a minimal set
    assert solved.satisfied_rules == ("SOLO", "PAIR")
    assert solved.listed == ((cpf(1),),)
    assert solved.total == 1
    assert solved.signers == (cpf(1),)


def test_total_counts_every_minimal_set_while_the_list_is_capped() -> None:
    # 30 directors, any two sign: C(30, 2) = 435 minimal sets
    enabled = {cpf(n): frozenset({"DIRECTOR"}) for n in range(30)}
    solved = solve(enabled, [rule("TWO", group("DIRECTOR", 2))], listed_cap=5)
    assert solved.total == 435
    assert len(solved.listed) == 5
    assert all(len(s) == 2 and s[0] < s[1] for s in solved.listed)
    assert len(solved.signers) == 30


def test_rule_with_no_clauses_or_unknown_group_is_never_satisfied() -> None:
    enabled = people(p1="A")
    assert solve(enabled, [rule("EMPTY"), rule("GHOST", group("Z"))]).satisfied_rules == ()

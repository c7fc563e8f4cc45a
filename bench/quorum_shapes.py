"""Companies shaped to hurt a signer-set enumerator: the bench times them, the unit tests bound
their work. Each is the solver's input, the enabled people with their groups and the rules."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.quorum.model import Clause, GroupingRule

People = dict[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    people: People
    rules: tuple[GroupingRule, ...]


def _cpf(n: int) -> str:
    return f"{n:011d}"


def _all_in(group: str, n: int) -> People:
    return {_cpf(i): frozenset({group}) for i in range(n)}


def _rules(prefix: str, count: int, clauses: Callable[[], tuple[Clause, ...]]) -> tuple[GroupingRule, ...]:
    return tuple(GroupingRule(f"{prefix}{r}", clauses()) for r in range(count))


def any_k_of(k: int, n: int) -> Shape:
    people = _all_in("DIRECTOR", n)
    return Shape(f"any {k} of {n:,} directors", people, (GroupingRule("ANY", (Clause(k, group="DIRECTOR"),)),))


def overlapping_groups(n: int, groups: int, rules: int, seed: int = 3) -> Shape:
    """Everyone in two groups, so there are many classes and rules overlap on most of them."""
    rnd = random.Random(seed)
    names = [f"G{g}" for g in range(groups)]
    people = {_cpf(i): frozenset(rnd.sample(names, 2)) for i in range(n)}
    rule_list = _rules(
        "R", rules, lambda: tuple(Clause(rnd.randint(1, 2), group=rnd.choice(names)) for _ in range(rnd.randint(1, 3)))
    )
    return Shape(f"{n} people in 2 of {groups} groups, {rules} rules", people, rule_list)


def named_plus_directors(n: int, rules: int, seed: int = 5) -> Shape:
    """Each rule names one director and asks for 2-3 more: every named person is a class of their own."""
    rnd = random.Random(seed)
    people = _all_in("DIRECTOR", n)
    rule_list = _rules(
        "N", rules, lambda: (Clause(1, cpf=_cpf(rnd.randrange(n))), Clause(rnd.randint(2, 3), group="DIRECTOR"))
    )
    return Shape(f"{n} directors, {rules} rules naming one plus 2-3 directors", people, rule_list)


def huge_min() -> Shape:
    people = _all_in("PARTNER", 50)
    rules = (
        GroupingRule("ALL", (Clause(10**9, group="PARTNER"),)),
        GroupingRule("NAMED", (Clause(10**9, cpf=_cpf(1)), Clause(10**9, group="PARTNER"))),
    )
    return Shape("partner rule with min = 10^9", people, rules)


def nested_groups(depth: int, per_level: int) -> Shape:
    """Level i belongs to groups L0..Li: every group contains the next, so every clause overlaps."""
    people = {
        _cpf(level * per_level + i): frozenset(f"L{g}" for g in range(level + 1))
        for level in range(depth)
        for i in range(per_level)
    }
    rules = tuple(
        GroupingRule(f"D{d}", tuple(Clause(2, group=f"L{g}") for g in range(d, depth, max(1, depth // 6))))
        for d in range(depth)
    )
    return Shape(f"{depth} nested groups x {per_level} people", people, rules)


def named_pairs(n: int, rules: int, seed: int = 11) -> Shape:
    """Rules that only name people: each named person is a singleton class."""
    rnd = random.Random(seed)
    people = _all_in("DIRECTOR", n)
    rule_list = _rules("P", rules, lambda: tuple(Clause(1, cpf=_cpf(i)) for i in rnd.sample(range(n), 2)))
    return Shape(f"{rules} rules naming pairs among {n}", people, rule_list)


def many_clauses(n: int, groups: int, clauses: int, seed: int = 13) -> Shape:
    """One long rule over overlapping groups, and a shorter one that dominates part of it."""
    rnd = random.Random(seed)
    names = [f"G{g}" for g in range(groups)]
    people = {_cpf(i): frozenset(rnd.sample(names, 3)) for i in range(n)}
    long_rule = GroupingRule("LONG", tuple(Clause(1, group=rnd.choice(names)) for _ in range(clauses)))
    short_rule = GroupingRule("SHORT", tuple(Clause(2, group=rnd.choice(names)) for _ in range(3)))
    return Shape(f"{n} people in 3 of {groups} groups, a {clauses}-clause rule", people, (long_rule, short_rule))


def own_extra_groups(k: int, n: int) -> Shape:
    """Everyone also sits in a group of their own that no rule mentions: classes must ignore it."""
    people = {_cpf(i): frozenset({"DIRECTOR", f"X{i}"}) for i in range(n)}
    return Shape(f"any {k} of {n:,} directors, each in an unmentioned group", people, any_k_of(k, n).rules)


SHAPES: tuple[Callable[[], Shape], ...] = (
    lambda: any_k_of(3, 500),
    lambda: any_k_of(4, 200),
    lambda: any_k_of(5, 2000),
    lambda: any_k_of(20, 40),
    lambda: overlapping_groups(100, 10, 10),
    lambda: overlapping_groups(300, 20, 20),
    lambda: overlapping_groups(2000, 30, 30),
    lambda: named_plus_directors(300, 40),
    lambda: named_plus_directors(300, 100),
    lambda: named_plus_directors(1500, 1200),
    huge_min,
    lambda: nested_groups(12, 10),
    lambda: named_pairs(200, 150),
    lambda: many_clauses(300, 12, 30),
    lambda: own_extra_groups(3, 1500),
)
"""The adversarial family: the issue's shapes first, then our own."""

"""Grouping rules ("who may sign with whom") as a capacitated matching problem.

People who are interchangeable for every applicable rule (same groups, not named by any
clause) form one *class*. Satisfaction and minimality depend only on how many people of
each class sign, so the solver works on small count vectors instead of on people: that
keeps a 500-representative company as cheap as a 10-representative one, and lets it count
every minimal signer set exactly while listing only the first few.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from math import comb, prod

from chalicelib.quorum.model import GroupingRule

MAX_LISTED_SIGNER_SETS = 20
"""How many minimal signer sets a verdict lists; `signer_sets_total` counts them all."""

CountVector = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SignerSets:
    satisfied_rules: tuple[str, ...]
    listed: tuple[tuple[str, ...], ...]
    total: int
    signers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Classes:
    members: tuple[tuple[str, ...], ...]
    groups: tuple[frozenset[str], ...]
    index_of_named: dict[str, int]
    sizes: tuple[int, ...]


def applicable_rules(rules: Iterable[GroupingRule], amount: Decimal) -> list[GroupingRule]:
    """Rules whose own amount ceiling admits this order."""
    return [r for r in rules if r.max_amount is None or amount <= r.max_amount]


def solve(
    enabled_groups: dict[str, frozenset[str]],
    rules: Sequence[GroupingRule],
    listed_cap: int = MAX_LISTED_SIGNER_SETS,
) -> SignerSets:
    """Which rules the enabled people satisfy, and the minimal sets that must sign together."""
    classes = _partition(enabled_groups, rules)
    candidates: set[CountVector] = set()
    satisfied: list[str] = []
    for rule in rules:
        slots = _slots(rule, classes)
        if slots is None or not _fillable(slots, classes.sizes):
            continue
        satisfied.append(rule.rule_id)
        candidates.update(_perfect_fillings(slots, classes.sizes))
    minimal = _minimal_vectors(candidates)
    total = sum(prod(comb(n, c) for n, c in zip(classes.sizes, v, strict=True)) for v in minimal)
    listed = tuple(itertools.islice(_expand(minimal, classes), listed_cap))
    signers = sorted({cpf for v in minimal for k, c in enumerate(v) if c for cpf in classes.members[k]})
    return SignerSets(tuple(satisfied), listed, total, tuple(signers))


def _partition(enabled_groups: dict[str, frozenset[str]], rules: Sequence[GroupingRule]) -> _Classes:
    named = {c.cpf for r in rules for c in r.clauses if c.cpf is not None and c.cpf in enabled_groups}
    by_key: dict[tuple[str, ...], list[str]] = {}
    for cpf, person_groups in enabled_groups.items():
        key = ("\x00cpf", cpf) if cpf in named else tuple(sorted(person_groups))
        by_key.setdefault(key, []).append(cpf)
    keys = sorted(by_key)
    members = tuple(tuple(sorted(by_key[k])) for k in keys)
    class_groups = tuple(
        enabled_groups[m[0]] if m[0] in named else frozenset(k) for k, m in zip(keys, members, strict=True)
    )
    index_of_named = {m[0]: i for i, m in enumerate(members) if m[0] in named}
    return _Classes(members, class_groups, index_of_named, tuple(len(m) for m in members))


def _slots(rule: GroupingRule, classes: _Classes) -> list[tuple[int, ...]] | None:
    """One entry per signature the rule needs: the classes that may provide it."""
    slots: list[tuple[int, ...]] = []
    for clause in rule.clauses:
        if clause.cpf is not None:
            index = classes.index_of_named.get(clause.cpf)
            if index is None:
                return None
            slots.append((index,))  # a named person counts once, whatever `min` says
            continue
        eligible = tuple(k for k, g in enumerate(classes.groups) if clause.group in g)
        slots.extend([eligible] * max(clause.min, 0))
    return slots if slots else None


def _fillable(slots: list[tuple[int, ...]], capacity: Sequence[int]) -> bool:
    """Augmenting-path b-matching: can distinct people fill every slot at once?"""
    holders: list[list[int]] = [[] for _ in capacity]

    def assign(slot: int, seen: set[int]) -> bool:
        for k in slots[slot]:
            if k in seen:
                continue
            seen.add(k)
            if len(holders[k]) < capacity[k]:
                holders[k].append(slot)
                return True
            for other in list(holders[k]):
                if assign(other, seen):
                    holders[k].remove(other)
                    holders[k].append(slot)
                    return True
        return False

    return all(assign(s, set()) for s in range(len(slots)))


def _perfect_fillings(slots: list[tuple[int, ...]], sizes: Sequence[int]) -> set[CountVector]:
    """Every count vector of exactly len(slots) people that fills all slots."""
    demands: dict[tuple[int, ...], int] = {}
    for eligible in slots:
        demands[eligible] = demands.get(eligible, 0) + 1
    results: set[CountVector] = set()

    def distribute(items: list[tuple[tuple[int, ...], int]], used: list[int]) -> None:
        if not items:
            results.add(tuple(used))
            return
        (eligible, need), rest = items[0], items[1:]
        for split in _compositions(need, len(eligible)):
            if all(used[k] + n <= sizes[k] for k, n in zip(eligible, split, strict=True)):
                for k, n in zip(eligible, split, strict=True):
                    used[k] += n
                distribute(rest, used)
                for k, n in zip(eligible, split, strict=True):
                    used[k] -= n

    distribute(sorted(demands.items()), [0] * len(sizes))
    return results


def _compositions(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    if parts == 0:
        return
    for bars in itertools.combinations(range(total + parts - 1), parts - 1):
        edges = (-1, *bars, total + parts - 1)
        yield tuple(edges[i + 1] - edges[i] - 1 for i in range(parts))


def _minimal_vectors(candidates: set[CountVector]) -> list[CountVector]:
    """Drop vectors that contain a smaller satisfying one: those signers are not all needed."""
    minimal: list[CountVector] = []
    for vector in sorted(candidates, key=lambda v: (sum(v), [-c for c in v])):
        if not any(all(a <= b for a, b in zip(m, vector, strict=True)) for m in minimal):
            minimal.append(vector)
    return minimal


def _expand(minimal: list[CountVector], classes: _Classes) -> Iterator[tuple[str, ...]]:
    for vector in minimal:
        choices = [itertools.combinations(classes.members[k], c) for k, c in enumerate(vector) if c]
        for picked in itertools.product(*choices):
            yield tuple(sorted(cpf for group in picked for cpf in group))

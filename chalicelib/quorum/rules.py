"""Grouping rules ("who may sign with whom") as a capacitated matching problem.

People who are interchangeable for every applicable rule (same groups, not named by any
clause) form one *class*. Satisfaction and minimality depend only on how many people of
each class sign, so the solver works on small count vectors instead of on people.

Every step is bounded. Whether a rule is satisfied is a maximum flow from the rule's places
to the classes (polynomial, never cut short), so `satisfied_rules` is always exact. The
minimal count vectors are then generated one at a time, smallest sets first; each costs a
polynomial number of flow checks, and all of it is charged to a work meter. When the meter
passes `WORK_BUDGET` the count stops: `total` is then a lower bound and `exact` is False.
Listing expands vectors into people lazily, so no combination is built that is not listed.
"""

from __future__ import annotations

import heapq
import itertools
import sys
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from math import comb
from typing import NamedTuple

from chalicelib.quorum.model import GroupingRule

MAX_LISTED_SIGNER_SETS = 20
"""How many minimal signer sets a verdict lists; `signer_sets_total` counts them all."""

WORK_BUDGET = 100_000
"""Work units (flow edges examined, search nodes, vectors counted) spent counting minimal sets
before the count is reported as a lower bound: about 30 ms of CPU on a 2-core machine."""

CountVector = tuple[int, ...]
Demand = tuple[tuple[int, ...], int]
"""Classes that may fill some places of a rule, and how many such places there are."""


class SignerSets(NamedTuple):
    """What the rules make of the enabled people; `work` is what the engine spent deciding it.

    A named tuple: one is built on every evaluation."""

    satisfied_rules: tuple[str, ...]
    listed: tuple[tuple[str, ...], ...]
    total: int
    signers: tuple[str, ...]
    exact: bool = True
    work: int = 0


class _Classes(NamedTuple):
    members: tuple[tuple[str, ...], ...]
    sizes: tuple[int, ...]
    eligible: dict[str, tuple[tuple[int, ...], int]]
    """For each group, the classes whose people sit in it and how many people that is."""
    named: dict[str, tuple[int, ...]]
    """For each named person, their own class (a demand's key)."""


class _Need(NamedTuple):
    """A rule reduced to demands on classes; `size` people fill it exactly. When no class serves two
    demands (`disjoint`, the usual case) each demand is filled on its own and sums replace flows;
    when each demand has one class too, `only` is the rule's single filling.

    A named tuple: one is built per rule on every evaluation."""

    rule_id: str
    demands: tuple[Demand, ...]
    size: int
    classes: tuple[int, ...]
    disjoint: bool
    only: CountVector | None


class _OutOfBudget(Exception):
    """The work meter passed its limit while counting minimal sets."""


class _Meter:
    """Work done so far. Deciding which rules are satisfied is never cut short; `arm` then allows
    `budget` more units for counting minimal sets."""

    __slots__ = ("budget", "limit", "spent")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.limit = sys.maxsize
        self.spent = 0

    def arm(self) -> None:
        self.limit = self.spent + self.budget

    def check(self) -> None:
        if self.spent > self.limit:
            raise _OutOfBudget


def applicable_rules(rules: Iterable[GroupingRule], amount: Decimal) -> list[GroupingRule]:
    """Rules whose own amount ceiling admits this order."""
    return [r for r in rules if r.max_amount is None or amount <= r.max_amount]


def solve(
    enabled_groups: dict[str, frozenset[str]],
    rules: Sequence[GroupingRule],
    listed_cap: int = MAX_LISTED_SIGNER_SETS,
    budget: int = WORK_BUDGET,
) -> SignerSets:
    """Which rules the enabled people satisfy, and the minimal sets that must sign together."""
    meter = _Meter(budget)
    classes = _partition(enabled_groups, rules)
    needs = _needs(rules, classes)
    satisfied = [n for n in needs if n.disjoint or _fill(n.demands, dict(enumerate(classes.sizes)), meter) == n.size]
    if not satisfied:
        return SignerSets((), (), 0, (), True, meter.spent)
    ids = tuple([n.rule_id for n in satisfied])
    meter.arm()
    listed, total, used, exact = _count(satisfied, classes, listed_cap, meter)
    if exact:
        return SignerSets(ids, tuple(listed), total, _people_in(used, classes.members), True, meter.spent)
    if not listed:
        vector = _one_minimal(satisfied, classes.sizes, meter)
        listed, total = (
            list(itertools.islice(_expand(vector, classes.members), listed_cap)),
            _sets_in(vector, classes.sizes),
        )
    everyone = {k for n in satisfied for k in n.classes}
    return SignerSets(ids, tuple(listed), total, _people_in(everyone, classes.members), False, meter.spent)


def _count(
    satisfied: Sequence[_Need], classes: _Classes, listed_cap: int, meter: _Meter
) -> tuple[list[tuple[str, ...]], int, set[int], bool]:
    """Sets in the minimal vectors, the first few listed and the classes used; False when cut short."""
    listed: list[tuple[str, ...]] = []
    total, used = 0, set()
    try:
        for vector in _minimal_vectors(satisfied, classes.sizes, meter):
            meter.spent += len(vector)
            total += _sets_in(vector, classes.sizes)
            used.update([k for k, c in enumerate(vector) if c])
            if len(listed) < listed_cap:
                listed.extend(itertools.islice(_expand(vector, classes.members), listed_cap - len(listed)))
    except _OutOfBudget:
        return listed, total, used, False
    return listed, total, used, True


def _people_in(class_indexes: Iterable[int], members: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(sorted([cpf for k in class_indexes for cpf in members[k]]))


def _one_minimal(satisfied: Sequence[_Need], sizes: Sequence[int], meter: _Meter) -> CountVector:
    """Any filling of a rule with the fewest places is minimal (a smaller satisfying set would need a
    rule with fewer places still), so one flow names a minimal set however large the company is."""
    need = min(satisfied, key=lambda n: n.size)
    filling = _Filling(need.demands, meter).add_room(dict(enumerate(sizes)))
    filling.saturate()
    return tuple(sum(filling.holders.get(k, {}).values()) for k in range(len(sizes)))


def _partition(enabled_groups: dict[str, frozenset[str]], rules: Sequence[GroupingRule]) -> _Classes:
    """Classes sorted by key (their groups, or the named person), the order listings follow."""
    named = {c.cpf for r in rules for c in r.clauses if c.cpf is not None and c.cpf in enabled_groups}
    by_groups: dict[frozenset[str], list[str]] = {}
    for cpf, person_groups in enabled_groups.items():
        if cpf not in named:
            by_groups.setdefault(person_groups, []).append(cpf)
    keyed = [(tuple(sorted(groups)), groups, people) for groups, people in by_groups.items()]
    if named:
        keyed.extend((("\x00cpf", cpf), enabled_groups[cpf], [cpf]) for cpf in named)
    keyed.sort()  # keys are distinct, so the frozensets after them are never compared
    members = tuple([tuple(sorted(people)) for _, _, people in keyed])
    sizes = tuple([len(m) for m in members])
    in_group: dict[str, list[int]] = {}
    for k, (_, groups, _) in enumerate(keyed):
        for g in groups:
            in_group.setdefault(g, []).append(k)
    eligible = {g: (tuple(ks), sum([sizes[k] for k in ks])) for g, ks in in_group.items()}
    named_class: dict[str, tuple[int, ...]] = {}
    if named:
        named_class = {m[0]: (k,) for k, (key, _, m) in enumerate(keyed) if key[0] == "\x00cpf"}
    return _Classes(members, sizes, eligible, named_class)


_NOWHERE: tuple[tuple[int, ...], int] = ((), 0)


def _needs(rules: Sequence[GroupingRule], classes: _Classes) -> list[_Need]:
    """Rules as demands on classes. A clause wanting more people than could ever fill it drops its
    rule at once: a `min` of 10**9 costs one comparison, never a list of 10**9 places."""
    needs = []
    named, in_group = classes.named, classes.eligible
    for rule in rules:
        demands: dict[tuple[int, ...], int] = {}
        for clause in rule.clauses:
            if clause.cpf is not None:
                eligible, room, wanted = named.get(clause.cpf, ()), 1, 1  # a named person counts once
            elif clause.min > 0:
                group = _NOWHERE if clause.group is None else in_group.get(clause.group, _NOWHERE)
                (eligible, room), wanted = group, clause.min
            else:
                continue
            wanted += demands.get(eligible, 0)
            if wanted > room or not eligible:
                break
            demands[eligible] = wanted
        else:
            if demands:
                needs.append(_need(rule.rule_id, demands, len(classes.sizes)))
    return needs


def _need(rule_id: str, demands: dict[tuple[int, ...], int], class_count: int) -> _Need:
    size = sum(demands.values())
    only = _only(demands, class_count)
    if len(demands) == 1:
        ((classes, _),) = demands.items()
        return _Need(rule_id, tuple(demands.items()), size, classes, True, only)
    items = tuple(sorted(demands.items()))
    if only is not None:
        return _Need(rule_id, items, size, tuple([eligible[0] for eligible, _ in items]), True, only)
    classes = tuple(sorted({k for eligible in demands for k in eligible}))
    disjoint = len(classes) == sum([len(eligible) for eligible in demands])
    return _Need(rule_id, items, size, classes, disjoint, None)


def _only(demands: dict[tuple[int, ...], int], class_count: int) -> CountVector | None:
    """The single filling of a rule whose demands each have one class of their own, if it is one."""
    counts = [0] * class_count
    for eligible, wanted in demands.items():
        if len(eligible) != 1:
            return None
        counts[eligible[0]] = wanted
    return tuple(counts)


def _fill(demands: Sequence[Demand], room: dict[int, int], meter: _Meter) -> int:
    """How many places distinct people can fill at once (maximum flow, room per class)."""
    return _Filling(demands, meter).add_room(room).saturate()


def _fits_within(need: _Need, vector: CountVector, meter: _Meter) -> bool:
    """Can the people of this count vector fill the whole rule?"""
    if need.disjoint:
        meter.spent += len(need.classes)
        return all(sum(vector[k] for k in eligible) >= wanted for eligible, wanted in need.demands)
    return _fill(need.demands, {k: c for k, c in enumerate(vector) if c}, meter) == need.size


class _Filling:
    """A maximum assignment of places to classes, kept as a residual flow so room can be added later
    and the assignment grown by augmenting paths rather than rebuilt."""

    __slots__ = ("demands", "filled", "holders", "left", "meter", "room")

    def __init__(self, demands: Sequence[Demand], meter: _Meter) -> None:
        self.demands = demands
        self.left = [wanted for _, wanted in demands]
        self.room: dict[int, int] = {}
        self.holders: dict[int, dict[int, int]] = {}
        self.meter = meter
        self.filled = 0

    def add_room(self, room: dict[int, int]) -> _Filling:
        for k, n in room.items():
            self.room[k] = self.room.get(k, 0) + n
        return self

    def saturate(self) -> int:
        """Greedy first (enough when no class serves two demands), then augmenting paths."""
        for j, (eligible, _) in enumerate(self.demands):
            self.meter.spent += len(eligible)
            for k in eligible:
                if not self.left[j]:
                    break
                free = self.room.get(k, 0)
                if free:
                    self._move(j, k, min(free, self.left[j]))
        for j in range(len(self.demands)):
            while self.left[j] and self._augment(j):
                pass
        return self.filled

    def _move(self, j: int, k: int, amount: int) -> None:
        self.left[j] -= amount
        self.room[k] -= amount
        held = self.holders.setdefault(k, {})
        held[j] = held.get(j, 0) + amount
        self.filled += amount

    def _augment(self, start: int) -> bool:
        """Breadth-first search for a class with room, reassigning places held by other demands."""
        came_to_class: dict[int, int] = {}
        came_to_demand = {start: -1}
        queue = [start]
        for j in queue:
            eligible = self.demands[j][0]
            self.meter.spent += len(eligible)
            for k in eligible:
                if k in came_to_class:
                    continue
                came_to_class[k] = j
                if self.room.get(k, 0):
                    self._shift(start, k, came_to_class, came_to_demand)
                    return True
                for other, amount in self.holders.get(k, {}).items():
                    if amount and other not in came_to_demand:
                        came_to_demand[other] = k
                        queue.append(other)
        return False

    def _shift(self, start: int, end: int, came_to_class: dict[int, int], came_to_demand: dict[int, int]) -> None:
        path: list[tuple[int, int]] = []  # (demand, class it takes), from the end back to start
        k = end
        while True:
            j = came_to_class[k]
            path.append((j, k))
            if j == start:
                break
            k = came_to_demand[j]
        amount = min(self.left[start], self.room[end])
        for j, _ in path[:-1]:
            amount = min(amount, self.holders[came_to_demand[j]][j])
        for j, k in path:
            held = self.holders.setdefault(k, {})
            held[j] = held.get(j, 0) + amount
            if j != start:
                self.holders[came_to_demand[j]][j] -= amount
        self.left[start] -= amount
        self.room[end] -= amount
        self.filled += amount


def _minimal_vectors(needs: Sequence[_Need], sizes: Sequence[int], meter: _Meter) -> Iterator[CountVector]:
    """Minimal count vectors, smallest sets first, then by descending counts in class order.

    A perfect filling of a rule is minimal unless a rule with fewer places fits inside it, which
    is one flow check per smaller rule: no vector is compared with every other.
    """
    by_size: dict[int, list[_Need]] = {}
    for need in needs:
        by_size.setdefault(need.size, []).append(need)
    smaller: list[_Need] = []
    for size in sorted(by_size):
        same = by_size[size]
        for vector in _fillings_of_size(same, sizes, meter):
            if not smaller or not _contains_smaller(vector, smaller, meter):
                yield vector
        smaller.extend(same)


def _fillings_of_size(same: Sequence[_Need], sizes: Sequence[int], meter: _Meter) -> Iterable[CountVector]:
    """The fillings of rules with the same number of places, each once, in descending order."""
    onlies = [n.only for n in same if n.only is not None]
    if len(onlies) == len(same):
        return sorted(set(onlies), reverse=True)
    merged = heapq.merge(*(_fillings(n, sizes, meter) for n in same), reverse=True)
    return (vector for vector, _ in itertools.groupby(merged))


def _contains_smaller(vector: CountVector, smaller: Sequence[_Need], meter: _Meter) -> bool:
    for need in smaller:
        meter.check()
        if _fits_within(need, vector, meter):
            return True
    return False


def _fillings(need: _Need, sizes: Sequence[int], meter: _Meter) -> Iterator[CountVector]:
    """Every count vector of exactly `need.size` people that fills the rule, in descending order.

    Depth-first over the rule's classes, largest count first. For a fixed prefix the counts a
    class can take form an interval (the fillings are the bases of a polymatroid), so the search
    stops at the first misfit below a fit and never explores a branch with no filling under it.
    """
    if need.only is not None:
        return iter((need.only,))
    counts = [0] * len(sizes)
    order = need.classes
    reach = {k: sum(w for eligible, w in need.demands if k in eligible) for k in order}

    def extend(depth: int, placed: int) -> Iterator[CountVector]:
        meter.check()
        meter.spent += 1
        if placed == need.size:  # every later class takes nobody: no need to walk them
            yield tuple(counts)
            return
        k = order[depth]
        top = min(sizes[k], need.size - placed, reach[k])
        low = need.size - placed if depth == len(order) - 1 else 0
        fitted = False
        for c in range(top, low - 1, -1):
            counts[k] = c
            if _prefix_fits(need, order, depth, counts, sizes, meter):
                fitted = True
                yield from extend(depth + 1, placed + c)
            elif fitted:
                break
        counts[k] = 0

    return extend(0, 0)


def _prefix_fits(
    need: _Need, order: Sequence[int], depth: int, counts: Sequence[int], sizes: Sequence[int], meter: _Meter
) -> bool:
    """Can the rule be filled using exactly `counts` of the first depth+1 classes and any of the rest?

    Sink flows only grow along augmenting paths, so first fill from the fixed classes alone
    (they must all be used), then open the others.
    """
    if need.disjoint:
        return _prefix_fits_disjoint(need, order[depth], counts, sizes, meter)
    fixed = {k: counts[k] for k in order[: depth + 1] if counts[k]}
    filling = _Filling(need.demands, meter).add_room(fixed)
    if filling.saturate() != sum(fixed.values()):
        return False
    rest = {k: sizes[k] for k in order[depth + 1 :]}
    return filling.add_room(rest).saturate() == need.size


def _prefix_fits_disjoint(
    need: _Need, last_fixed: int, counts: Sequence[int], sizes: Sequence[int], meter: _Meter
) -> bool:
    """Each demand alone: the fixed classes (up to `last_fixed`) must not overfill it, and the free
    ones after it must be able to top it up."""
    meter.spent += len(need.classes)
    for eligible, wanted in need.demands:
        fixed = free = 0
        for k in eligible:
            if k <= last_fixed:
                fixed += counts[k]
            else:
                free += sizes[k]
        if fixed > wanted or fixed + free < wanted:
            return False
    return True


def _sets_in(vector: CountVector, sizes: Sequence[int]) -> int:
    total = 1
    for k, c in enumerate(vector):
        if c:
            total *= comb(sizes[k], c)
    return total


def _expand(vector: CountVector, members: Sequence[tuple[str, ...]]) -> Iterator[tuple[str, ...]]:
    picks = [(members[k], c) for k, c in enumerate(vector) if c]
    if len(picks) == 1:
        people, count = picks[0]
        return itertools.combinations(people, count)  # members are sorted, so each set already is
    return (tuple(sorted(itertools.chain.from_iterable(chosen))) for chosen in _lazy_product(picks, ()))


def _lazy_product(
    picks: Sequence[tuple[tuple[str, ...], int]], prefix: tuple[tuple[str, ...], ...]
) -> Iterator[tuple[tuple[str, ...], ...]]:
    """`itertools.product` over `combinations` in the same order, without materialising them:
    product() stores every input iterable in full before yielding its first item."""
    if not picks:
        yield prefix
        return
    (people, count), rest = picks[0], picks[1:]
    for chosen in itertools.combinations(people, count):
        yield from _lazy_product(rest, (*prefix, chosen))

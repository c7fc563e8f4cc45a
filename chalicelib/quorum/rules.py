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
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class SignerSets:
    satisfied_rules: tuple[str, ...]
    listed: tuple[tuple[str, ...], ...]
    total: int
    signers: tuple[str, ...]
    exact: bool = True
    work: int = 0


@dataclass(frozen=True, slots=True)
class _Classes:
    members: tuple[tuple[str, ...], ...]
    eligible: dict[str, tuple[int, ...]]
    """For each group, the classes whose people sit in it."""
    index_of_named: dict[str, int]
    sizes: tuple[int, ...]


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
    room = dict(enumerate(classes.sizes))
    satisfied = [n for n in needs if n.disjoint or _fill(n.demands, room, meter) == n.size]
    if not satisfied:
        return SignerSets((), (), 0, (), True, meter.spent)
    tally = _Tally(classes, listed_cap)
    meter.arm()
    try:
        for vector in _minimal_vectors(satisfied, classes.sizes, meter):
            tally.add(vector)
            meter.spent += len(vector)
    except _OutOfBudget:
        if not tally.listed:
            tally.add(_one_minimal(satisfied, classes.sizes, meter))
        everyone = tuple(sorted(cpf for k in {k for n in satisfied for k in n.classes} for cpf in classes.members[k]))
        return SignerSets(_ids(satisfied), tuple(tally.listed), tally.total, everyone, False, meter.spent)
    signers = tuple(sorted(cpf for k in tally.used for cpf in classes.members[k]))
    return SignerSets(_ids(satisfied), tuple(tally.listed), tally.total, signers, True, meter.spent)


def _ids(needs: Sequence[_Need]) -> tuple[str, ...]:
    return tuple(n.rule_id for n in needs)


class _Tally:
    """Minimal vectors seen so far: how many sets they hold, the first few listed, the classes used."""

    def __init__(self, classes: _Classes, listed_cap: int) -> None:
        self.classes = classes
        self.listed_cap = listed_cap
        self.listed: list[tuple[str, ...]] = []
        self.total = 0
        self.used: set[int] = set()

    def add(self, vector: CountVector) -> None:
        self.total += _sets_in(vector, self.classes.sizes)
        self.used.update(k for k, c in enumerate(vector) if c)
        room = self.listed_cap - len(self.listed)
        if room > 0:
            self.listed.extend(itertools.islice(_expand(vector, self.classes.members), room))


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
    keyed.extend((("\x00cpf", cpf), enabled_groups[cpf], [cpf]) for cpf in named)
    keyed.sort(key=_first)
    members = tuple(tuple(sorted(people)) for _, _, people in keyed)
    eligible: dict[str, list[int]] = {}
    for k, (_, groups, _) in enumerate(keyed):
        for g in groups:
            eligible.setdefault(g, []).append(k)
    index_of_named = {m[0]: k for k, (key, _, m) in enumerate(keyed) if key[0] == "\x00cpf"}
    frozen = {g: tuple(ks) for g, ks in eligible.items()}
    return _Classes(members, frozen, index_of_named, tuple(len(m) for m in members))


def _first(item: tuple[tuple[str, ...], frozenset[str], list[str]]) -> tuple[str, ...]:
    return item[0]


def _needs(rules: Sequence[GroupingRule], classes: _Classes) -> list[_Need]:
    """Rules as demands on classes; a rule that plainly cannot be filled is dropped here in O(clauses)."""
    room_of: dict[tuple[int, ...], int] = {}
    needs = []
    for rule in rules:
        demands: dict[tuple[int, ...], int] = {}
        for clause in rule.clauses:
            if clause.cpf is not None:
                index = classes.index_of_named.get(clause.cpf)
                if index is None:
                    break
                demands[(index,)] = demands.get((index,), 0) + 1  # a named person counts once, whatever `min` says
            elif clause.min > 0:
                eligible = () if clause.group is None else classes.eligible.get(clause.group, ())
                demands[eligible] = demands.get(eligible, 0) + clause.min
        else:
            need = _need(rule.rule_id, demands, classes.sizes, room_of)
            if need is not None:
                needs.append(need)
    return needs


def _need(
    rule_id: str, demands: dict[tuple[int, ...], int], sizes: Sequence[int], room_of: dict[tuple[int, ...], int]
) -> _Need | None:
    """None when some clause wants more people than could ever fill it: a `min` of 10**9 costs one
    comparison, never a list of 10**9 places."""
    if not demands:
        return None
    for eligible, wanted in demands.items():
        room = room_of.get(eligible)
        if room is None:
            room = room_of[eligible] = sum(sizes[k] for k in eligible)
        if wanted > room:
            return None
    size = sum(demands.values())
    if len(demands) == 1:
        ((classes, _),) = demands.items()
        only = tuple(size if k == classes[0] else 0 for k in range(len(sizes))) if len(classes) == 1 else None
        return _Need(rule_id, tuple(demands.items()), size, classes, True, only)
    classes = tuple(sorted({k for eligible in demands for k in eligible}))
    disjoint = len(classes) == sum(len(eligible) for eligible in demands)
    return _Need(rule_id, tuple(sorted(demands.items())), size, classes, disjoint, _only(demands, disjoint, sizes))


def _only(demands: dict[tuple[int, ...], int], disjoint: bool, sizes: Sequence[int]) -> CountVector | None:
    if not disjoint or any(len(eligible) != 1 for eligible in demands):
        return None
    counts = [0] * len(sizes)
    for (k,), wanted in demands.items():
        counts[k] = wanted
    return tuple(counts)


def _fill(demands: Sequence[Demand], room: dict[int, int], meter: _Meter) -> int:
    """How many places distinct people can fill at once (maximum flow, room per class)."""
    return _Filling(demands, meter).add_room(room).saturate()


def _fits(need: _Need, room: dict[int, int], meter: _Meter) -> bool:
    """Can people with this room per class fill the whole rule?"""
    if need.disjoint:
        meter.spent += len(need.classes)
        return all(sum(room.get(k, 0) for k in eligible) >= wanted for eligible, wanted in need.demands)
    return _fill(need.demands, room, meter) == need.size


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
    by_size = sorted({n.size for n in needs})
    for size in by_size:
        same = [n for n in needs if n.size == size]
        smaller = [n for n in needs if n.size < size]
        fillings = [_fillings(n, sizes, meter) for n in same]
        merged = fillings[0] if len(fillings) == 1 else heapq.merge(*fillings, reverse=True)
        previous: CountVector | None = None
        for vector in merged:
            if vector == previous:
                continue
            previous = vector
            if not _contains_smaller(vector, smaller, meter):
                yield vector


def _contains_smaller(vector: CountVector, smaller: Sequence[_Need], meter: _Meter) -> bool:
    room = {k: c for k, c in enumerate(vector) if c}
    for need in smaller:
        meter.check()
        if _fits(need, room, meter):
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
        if depth == len(order):
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
        return _prefix_fits_disjoint(need, order[depth + 1 :], counts, sizes, meter)
    fixed = {k: counts[k] for k in order[: depth + 1] if counts[k]}
    filling = _Filling(need.demands, meter).add_room(fixed)
    if filling.saturate() != sum(fixed.values()):
        return False
    rest = {k: sizes[k] for k in order[depth + 1 :]}
    return filling.add_room(rest).saturate() == need.size


def _prefix_fits_disjoint(
    need: _Need, free: Sequence[int], counts: Sequence[int], sizes: Sequence[int], meter: _Meter
) -> bool:
    """Each demand alone: the fixed classes must not overfill it, and the free ones must be able to
    top it up."""
    meter.spent += len(need.classes)
    for eligible, wanted in need.demands:
        fixed = sum(counts[k] for k in eligible)  # free classes still count 0
        if fixed > wanted or fixed + sum(sizes[k] for k in eligible if k in free) < wanted:
            return False
    return True


def _sets_in(vector: CountVector, sizes: Sequence[int]) -> int:
    total = 1
    for n, c in zip(sizes, vector, strict=True):
        if c:
            total *= comb(n, c)
    return total


def _expand(vector: CountVector, members: Sequence[tuple[str, ...]]) -> Iterator[tuple[str, ...]]:
    picks = [(members[k], c) for k, c in enumerate(vector) if c]
    for chosen in _lazy_product(picks, ()):
        yield tuple(sorted(itertools.chain.from_iterable(chosen)))


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

"""Grouping rules ("who may sign with whom") as a capacitated matching problem.

People who are interchangeable for every applicable rule (the same groups among those the
rules mention, and named by no clause) form one *class*. Satisfaction and minimality depend
only on how many people of each class sign, so the solver works on count vectors instead of
on people, and counts the sets a vector stands for as a product of binomials.

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from math import comb
from typing import NamedTuple

from chalicelib.quorum.model import GroupingRule

MAX_LISTED_SIGNER_SETS = 20
"""How many minimal signer sets a verdict lists; `signer_sets_total` counts them all."""

WORK_BUDGET = 60_000
"""Work units (flow edges examined, search nodes, vector entries) spent counting minimal sets
before the count is reported as a lower bound: tens of milliseconds on this 2-core machine
(`make bench-quorum` prints the worst adversarial case)."""

CountVector = tuple[int, ...]
Groups = frozenset[str] | tuple[str, ...]
"""The groups a person sits in: any hashable collection, so callers need not build sets."""
Demand = tuple[tuple[int, ...], int]
"""Classes that may fill some places of a rule, and how many such places there are."""
SetCache = dict[int, frozenset[int]]
"""Demand keys as sets, by identity: the keys are the tuples `_Classes` holds, one per group or
named person, so each is turned into a set once per solve rather than once per rule."""


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
    """A rule reduced to demands on classes; `size` people fill it exactly and `width` counts the
    (demand, class) pairs. When no class serves two demands (`disjoint`, the usual case) each demand
    is filled on its own and sums replace flows; when each demand has one class too, `only` is the
    rule's single filling.

    A named tuple: one is built per rule on every evaluation."""

    rule_id: str
    demands: tuple[Demand, ...]
    size: int
    width: int
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
    enabled_groups: Mapping[str, Groups],
    rules: Sequence[GroupingRule],
    listed_cap: int = MAX_LISTED_SIGNER_SETS,
    budget: int = WORK_BUDGET,
) -> SignerSets:
    """Which rules the enabled people satisfy, and the minimal sets that must sign together."""
    meter = _Meter(budget)
    classes = _partition(enabled_groups, rules)
    needs = _needs(rules, classes, meter)
    satisfied = [n for n in needs if n.disjoint or _fits_within(n, classes.sizes, meter)]
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
    everyone = {k for eligible in _distinct_eligibles(satisfied) for k in eligible}
    return SignerSets(ids, tuple(listed), total, _people_in(everyone, classes.members), False, meter.spent)


def _distinct_eligibles(needs: Sequence[_Need]) -> Iterable[tuple[int, ...]]:
    """Demand keys are the tuples `_Classes` holds, one per group or named person, so identity tells
    them apart without hashing a long tuple once per rule."""
    return {id(eligible): eligible for need in needs for eligible, _ in need.demands}.values()


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
    filling = _Filling(need.demands, sizes.__getitem__, meter)
    filling.saturate()
    return tuple(filling.used.get(k, 0) for k in range(len(sizes)))


def _partition(enabled_groups: Mapping[str, Groups], rules: Sequence[GroupingRule]) -> _Classes:
    """People in the same groups, counting only groups some clause mentions, form a class; a person a
    clause names is a class of their own. Anyone else cannot fill any place and is left out.
    Classes are sorted by key (their groups, or the named person): listings follow that order."""
    named, mentioned = _named_and_mentioned(enabled_groups, rules)
    relevant_of: dict[Groups, frozenset[str]] = {}
    by_relevant: dict[frozenset[str], list[str]] = {}
    for cpf, person_groups in enabled_groups.items():
        relevant = relevant_of.get(person_groups)
        if relevant is None:
            relevant = relevant_of[person_groups] = frozenset(mentioned.intersection(person_groups))
        if relevant and cpf not in named:
            by_relevant.setdefault(relevant, []).append(cpf)
    keyed: list[tuple[tuple[str, ...], Groups, list[str]]] = [
        (tuple(sorted(groups)), groups, people) for groups, people in by_relevant.items()
    ]
    if named:
        keyed.extend((("\x00cpf", cpf), enabled_groups[cpf], [cpf]) for cpf in named)
    keyed.sort()  # keys are distinct, so the groups after them are never compared
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


def _named_and_mentioned(
    enabled_groups: Mapping[str, Groups], rules: Sequence[GroupingRule]
) -> tuple[set[str], set[str]]:
    """Enabled people some clause names, and the groups some clause asks people from."""
    named: set[str] = set()
    mentioned: set[str] = set()
    for rule in rules:
        for clause in rule.clauses:
            if clause.cpf is not None:
                if clause.cpf in enabled_groups:
                    named.add(clause.cpf)
            elif clause.group is not None:
                mentioned.add(clause.group)
    return named, mentioned


_NOWHERE: tuple[tuple[int, ...], int] = ((), 0)


def _needs(rules: Sequence[GroupingRule], classes: _Classes, meter: _Meter) -> list[_Need]:
    """Rules as demands on classes. A clause wanting more people than could ever fill it drops its
    rule at once: a `min` of 10**9 costs one comparison, never a list of 10**9 places."""
    needs = []
    sets: SetCache = {}
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
                needs.append(_need(rule.rule_id, demands, len(classes.sizes), sets, meter))
    return needs


def _need(rule_id: str, demands: dict[tuple[int, ...], int], class_count: int, sets: SetCache, meter: _Meter) -> _Need:
    size = sum(demands.values())
    only = _only(demands, class_count)
    if len(demands) == 1:
        ((eligible, _),) = items = tuple(demands.items())
        return _Need(rule_id, items, size, len(eligible), True, only)
    width = sum([len(eligible) for eligible in demands])
    disjoint = only is not None or _pairwise_disjoint(list(demands), sets, meter)
    return _Need(rule_id, tuple(sorted(demands.items())), size, width, disjoint, only)


def _pairwise_disjoint(eligibles: list[tuple[int, ...]], sets: SetCache, meter: _Meter) -> bool:
    """Whether no class serves two demands: each pair costs the smaller side, looked up in the larger."""
    for i, first in enumerate(eligibles):
        for second in eligibles[i + 1 :]:
            small, large = (first, second) if len(first) <= len(second) else (second, first)
            meter.spent += len(small)
            lookup = _as_set(large, sets, meter)
            if any(k in lookup for k in small):
                return False
    return True


def _as_set(eligible: tuple[int, ...], sets: SetCache, meter: _Meter) -> frozenset[int]:
    found = sets.get(id(eligible))
    if found is None:
        meter.spent += len(eligible)
        found = sets[id(eligible)] = frozenset(eligible)
    return found


def _only(demands: dict[tuple[int, ...], int], class_count: int) -> CountVector | None:
    """The single filling of a rule whose demands each have one class of their own, if it is one."""
    for eligible in demands:
        if len(eligible) != 1:
            return None
    counts = [0] * class_count
    for (k,), wanted in demands.items():
        counts[k] = wanted
    return tuple(counts)


def _fits_within(need: _Need, vector: CountVector, meter: _Meter) -> bool:
    """Can the people of this count vector fill the whole rule?"""
    if need.only is not None:
        return all(vector[k] >= wanted for (k,), wanted in need.demands)
    if need.disjoint:
        meter.spent += need.width
        return all(sum(vector[k] for k in eligible) >= wanted for eligible, wanted in need.demands)
    return _Filling(need.demands, vector.__getitem__, meter).saturate() == need.size


class _Filling:
    """A maximum assignment of places to classes (a flow), kept so that `capacity` may grow later and
    the assignment be extended by augmenting paths rather than rebuilt. Capacity is read per class
    on demand, so a check costs the edges it examines, never a copy of every class."""

    __slots__ = ("capacity", "demands", "filled", "holders", "left", "meter", "used")

    def __init__(self, demands: Sequence[Demand], capacity: Callable[[int], int], meter: _Meter) -> None:
        self.demands = demands
        self.capacity = capacity
        self.left = [wanted for _, wanted in demands]
        self.used: dict[int, int] = {}
        self.holders: dict[int, dict[int, int]] = {}
        self.meter = meter
        self.filled = 0

    def saturate(self) -> int:
        """Greedy first (enough when no class serves two demands), then augmenting paths."""
        for j, (eligible, _) in enumerate(self.demands):
            looked = 1
            for k in eligible:
                if not self.left[j]:
                    break
                looked += 1
                free = self.capacity(k) - self.used.get(k, 0)
                if free > 0:
                    self._take(j, k, min(free, self.left[j]))
            self.meter.spent += looked
        for j in range(len(self.demands)):
            while self.left[j] and self._augment(j):
                pass
        return self.filled

    def _take(self, j: int, k: int, amount: int) -> None:
        self.left[j] -= amount
        self.used[k] = self.used.get(k, 0) + amount
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
                if self.capacity(k) > self.used.get(k, 0):
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
        amount = min(self.left[start], self.capacity(end) - self.used.get(end, 0))
        for j, _ in path[:-1]:
            amount = min(amount, self.holders[came_to_demand[j]][j])
        for j, k in path:
            held = self.holders.setdefault(k, {})
            held[j] = held.get(j, 0) + amount
            if j != start:
                self.holders[came_to_demand[j]][j] -= amount
        self.left[start] -= amount
        self.used[end] = self.used.get(end, 0) + amount
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
    if len(same) == 1 and same[0].only is not None:
        return (same[0].only,)
    onlies = [n.only for n in same if n.only is not None]
    if len(onlies) == len(same):
        meter.spent += len(onlies) * len(sizes)
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
    meter.check()
    meter.spent += 2 * need.width + len(sizes)
    counts = [0] * len(sizes)
    reach: dict[int, int] = {}  # places each class could take at most
    for eligible, wanted in need.demands:
        for k in eligible:
            reach[k] = reach.get(k, 0) + wanted
    order = sorted(reach)

    def extend(depth: int, placed: int) -> Iterator[CountVector]:
        meter.check()
        meter.spent += 1
        if placed == need.size:  # every later class takes nobody: no need to walk them
            meter.spent += len(counts)
            yield tuple(counts)
            return
        k = order[depth]
        top = min(sizes[k], need.size - placed, reach[k])
        low = need.size - placed if depth == len(order) - 1 else 0
        fitted = False
        for c in range(top, low - 1, -1):
            meter.check()
            counts[k] = c
            if _prefix_fits(need, k, placed + c, counts, sizes, meter):
                fitted = True
                yield from extend(depth + 1, placed + c)
            elif fitted:
                break
        counts[k] = 0

    return extend(0, 0)


def _prefix_fits(need: _Need, last: int, placed: int, counts: list[int], sizes: Sequence[int], meter: _Meter) -> bool:
    """Can the rule be filled using exactly `counts` of the classes up to `last`, and any of the rest?

    Sink flows only grow along augmenting paths, so first fill from the fixed classes alone (they
    must all be used; later classes still count 0), then open the others.
    """
    if need.disjoint:
        return _prefix_fits_disjoint(need, last, counts, sizes, meter)
    filling = _Filling(need.demands, counts.__getitem__, meter)
    if filling.saturate() != placed:
        return False
    filling.capacity = lambda k: counts[k] if k <= last else sizes[k]
    return filling.saturate() == need.size


def _prefix_fits_disjoint(
    need: _Need, last_fixed: int, counts: Sequence[int], sizes: Sequence[int], meter: _Meter
) -> bool:
    """Each demand alone: the fixed classes (up to `last_fixed`) must not overfill it, and the free
    ones after it must be able to top it up."""
    meter.spent += need.width
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

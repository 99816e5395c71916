"""A differencing attacker for published group counts (equity and fairness reports).

It is given every report published about one population: several dimensions,
cohort filters, as-of dates and states before and after single changes (a consent
flip, an admission, a match). It knows what a coordinator knows and more: every
group that exists; the exact totals of the organisation (registered, participants,
matched: the roster and the operations report tell them); who changed, hence the
exact change to each organisational group. Of demographics it knows what the
reports publish, and that one person's change moves one group by one. It combines
all of them at once (which covers every pair) by propagating integer intervals
through:

- a shown figure ``r`` (perturbed and rounded): the true count is within ``r ± 4``
  and at least k;
- a withheld figure: at least 0 (1 for a registered group that is named);
- sums: the groups of one report add up to the population total (exact for the
  organisation, the report's rounded total for demographics);
- nesting: registered ≥ participants ≥ matched in a group; a cohort's count is at
  most the all-cohorts count; the same set seen in two reports is one number;
- before/after: the after count minus the before count is the known change (for a
  demographic group: between 0 and the change of the total).

A withheld cell is *disclosed* when its interval closes on one value.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

INF = 10**9


@dataclass
class Attacker:
    k: int
    error: int = 4  # perturbation (2) plus half the rounding base (2)
    bounds: dict[Hashable, list[int]] = field(default_factory=dict)
    truth: dict[Hashable, int] = field(default_factory=dict)
    published: set[Hashable] = field(default_factory=set)
    sums: list[tuple[list[tuple[Hashable, int]], int]] = field(default_factory=list)
    below: list[tuple[Hashable, Hashable]] = field(default_factory=list)  # a <= b
    deltas: list[tuple[Hashable, Hashable, int, int]] = field(default_factory=list)

    def observe(
        self, var: Hashable, value: int | None, truth: int, floor: int = 0
    ) -> None:
        """One figure of one report: ``value`` shown (rounded) or None withheld."""
        self.truth[var] = truth
        lo, hi = self.bounds.setdefault(var, [floor, INF])
        if value is not None:
            self.published.add(var)
            lo = max(lo, value - self.error, self.k)
            hi = min(hi, value + self.error)
        self.bounds[var] = [max(lo, floor), hi]

    def exact(self, var: Hashable, value: int) -> None:
        """A figure the attacker knows exactly (an unrounded total)."""
        self.truth[var] = value
        self.published.add(var)
        self.bounds[var] = [value, value]

    def add_sum(
        self, parts: Iterable[Hashable], total: int, minus: Hashable | None = None
    ) -> None:
        """``sum(parts) == total`` (``+ minus`` when the total is itself unknown)."""
        terms = [(p, 1) for p in parts]
        if minus is not None:
            terms.append((minus, -1))
        self.sums.append((terms, total))

    def at_most(self, a: Hashable, b: Hashable) -> None:
        self.below.append((a, b))

    def change(self, after: Hashable, before: Hashable, low: int, high: int) -> None:
        """``after - before`` lies in ``[low, high]`` (one value when known)."""
        self.deltas.append((after, before, low, high))

    def solve(self) -> dict[Hashable, tuple[int, int]]:
        b = self.bounds
        for _ in range(200):
            moved = False

            def tighten(var: Hashable, lo: int, hi: int) -> None:
                nonlocal moved
                old = b[var]
                new = [max(old[0], lo), min(old[1], hi)]
                if new != old:
                    b[var] = new
                    moved = True

            for terms, total in self.sums:
                ranges = [
                    (b[p][0], b[p][1]) if c == 1 else (-b[p][1], -b[p][0])
                    for p, c in terms
                ]
                los = sum(lo for lo, _ in ranges)
                his = sum(hi for _, hi in ranges)
                for (p, c), (lo, hi) in zip(terms, ranges, strict=True):
                    low, high = total - (his - hi), total - (los - lo)
                    if c == 1:
                        tighten(p, low, high)
                    else:
                        tighten(p, -high, -low)
            for a, c in self.below:
                tighten(c, b[a][0], INF)
                tighten(a, -INF, b[c][1])
            for after, before, low, high in self.deltas:
                tighten(after, b[before][0] + low, b[before][1] + high)
                tighten(before, b[after][0] - high, b[after][1] - low)
            if not moved:
                break
        return {v: (lo, hi) for v, (lo, hi) in b.items()}

    def disclosed(self) -> list[tuple[Hashable, int]]:
        """Withheld cells whose value the attacker pinned (checks it is sound too)."""
        found = []
        for var, (lo, hi) in self.solve().items():
            assert lo <= self.truth[var] <= hi, f"attacker unsound at {var}"
            if var not in self.published and lo == hi:
                found.append((var, self.truth[var]))
        return found

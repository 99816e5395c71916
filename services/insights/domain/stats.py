"""Small-sample statistics and disclosure control for insights' reports.

Everything here is a pure function of plain numbers, so every figure a report shows
can be checked by hand:

- ``wilson_interval(x, n)``: the Wilson score interval for a proportion ``x / n`` at
  95% (z = 1.96). Unlike ``p ± z·sqrt(p(1-p)/n)`` it stays inside [0, 1] and is honest
  about small samples: 5 of 10 gives (0.2366, 0.7634), 0 of 3 gives (0, 0.5615).
- ``adverse_impact(rates)``: each group's rate divided by the highest group's rate
  (the "four-fifths rule"); a ratio below 0.8 is flagged. Undefined (``None``) when
  the highest rate is 0 or the group has no rate. Ratios alone, no evidence: the
  equity report uses ``compare_rates``.
- ``compare_rates(counts)``: per group of (successes, trials), the rate with its
  Wilson 95% interval, the impact ratio against the best group, and Fisher's exact
  test (two-sided, ``scipy.stats.fisher_exact``) of the group's 2x2 table against
  the best group's. The best group (the reference) is the one with the highest rate;
  a tie goes to the one with more trials, then to the first name. Verdict
  (``ImpactVerdict``):

  - ``adverse_impact``: ratio below 0.8 AND p below ``alpha`` (0.05 by default,
    the setting ``INSIGHTS_EQUITY_SIGNIFICANCE``): the only one ``flagged``;
  - ``too_few_to_tell``: ratio below 0.8 and p at or above ``alpha``: a difference
    this sample cannot tell from chance (a group of 5-8 people usually);
  - ``no_adverse_impact``: ratio 0.8 or more (the reference itself: ratio 1, no
    p-value, as it is not tested against itself).

  A group without a rate (no trials, or a withheld count), or every group when the
  best rate is 0, has no interval-less verdict: ratio, p-value and verdict are
  ``None`` (its interval too when it has no rate).
- disclosure control of the equity counts lives in ``disclosure.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypedDict

from scipy import stats as scipy_stats

from contracts.insights import ImpactVerdict

Z_95 = 1.959963984540054
FOUR_FIFTHS = 0.8
ALPHA = 0.05  # the significance level of the equity report's tests (a setting)


def wilson_interval(
    successes: int, trials: int, z: float = Z_95
) -> tuple[float, float] | None:
    """The Wilson score interval of ``successes / trials``; ``None`` with no trials."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError("successes must lie between 0 and trials")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    half /= denominator
    # The bounds are exactly 0 or 1 at the extremes; floating point would miss by ulps.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Impact:
    ratio: float | None
    flagged: bool


def adverse_impact(
    rates: Mapping[str, float | None], threshold: float = FOUR_FIFTHS
) -> dict[str, Impact]:
    """Each group's rate ÷ the highest group's rate, flagged below ``threshold``."""
    known = [r for r in rates.values() if r is not None]
    best = max(known, default=0.0)
    out: dict[str, Impact] = {}
    for group, rate in rates.items():
        if rate is None or best <= 0:
            out[group] = Impact(None, False)
        else:
            ratio = rate / best
            out[group] = Impact(ratio, ratio < threshold)
    return out


@dataclass(frozen=True)
class Comparison:
    """One group's rate against the best group's (``compare_rates``)."""

    rate: float | None
    interval: tuple[float, float] | None
    ratio: float | None
    p_value: float | None
    verdict: ImpactVerdict | None

    @property
    def flagged(self) -> bool:
        return self.verdict == ImpactVerdict.ADVERSE_IMPACT


def fisher_p(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Two-sided p-value of Fisher's exact test of (successes, trials) ``a`` vs ``b``."""
    table = [[a[0], a[1] - a[0]], [b[0], b[1] - b[0]]]
    return float(scipy_stats.fisher_exact(table, alternative="two-sided").pvalue)


def compare_rates(
    counts: Mapping[str, tuple[int | None, int | None]],
    *,
    alpha: float = ALPHA,
    threshold: float = FOUR_FIFTHS,
) -> dict[str, Comparison]:
    """Each group's (successes, trials) against the best group's (see above).

    A count above its trials (each is perturbed on its own when published) is read
    as the trials (a rate of 1), as ``disclosure.rate`` reads it."""
    known: dict[str, tuple[int, int]] = {
        g: (min(x, n), n) for g, (x, n) in counts.items() if x is not None and n
    }
    best: str | None = None
    for group in sorted(known):  # exact comparison of rates: x/n > bx/bn
        x, n = known[group]
        if best is None:
            best = group
            continue
        bx, bn = known[best]
        if x * bn > bx * n or (x * bn == bx * n and n > bn):
            best = group
    best_rate = known[best][0] / known[best][1] if best is not None else 0.0
    out: dict[str, Comparison] = {}
    for group in counts:
        if group not in known:
            out[group] = Comparison(None, None, None, None, None)
            continue
        x, n = known[group]
        rate_, interval = x / n, wilson_interval(x, n)
        if best is None or best_rate <= 0:
            out[group] = Comparison(rate_, interval, None, None, None)
            continue
        ratio = rate_ / best_rate
        if group == best:
            out[group] = Comparison(
                rate_, interval, ratio, None, ImpactVerdict.NO_ADVERSE_IMPACT
            )
            continue
        p = fisher_p((x, n), known[best])
        if ratio >= threshold:
            verdict = ImpactVerdict.NO_ADVERSE_IMPACT
        elif p < alpha:
            verdict = ImpactVerdict.ADVERSE_IMPACT
        else:
            verdict = ImpactVerdict.TOO_FEW_TO_TELL
        out[group] = Comparison(rate_, interval, ratio, p, verdict)
    return out


def mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None


def median(values: Iterable[float]) -> float | None:
    items = sorted(values)
    if not items:
        return None
    mid = len(items) // 2
    return items[mid] if len(items) % 2 else (items[mid - 1] + items[mid]) / 2


def rate(part: float, whole: float) -> float | None:
    return part / whole if whole else None


# -- pairing patterns ----------------------------------------------------------------
#
# One observation per confirmed pairing: its characteristics (``function``: cross or
# same function; ``direction``: reverse or standard; ``source``: external or
# internal; ``style``: mentor's leadership style / mentee's learning style) and two
# outcomes: ``progressed`` (the mentee was promoted or changed role on or after the
# confirmation) and ``completed`` (the pairing ended as "concluded"). For each value
# of each characteristic: pairings, successes, rate and its Wilson 95% interval.
#
# Suggested weights (for matching's criteria) follow HEALTHY relationships: a pairing
# is healthy when it concluded as planned or its mentee progressed. ``perspective``
# follows cross- vs same-function pairings, ``style`` the best style combination vs
# all the others. A change of ±STEP is suggested when Fisher's exact test of the two
# healthy rates (two-sided) gives p below ``alpha`` (0.05): the same test the equity
# report uses. Non-overlapping Wilson intervals (what this asked before) need far
# more evidence than a test at 5%: 12 of 20 against 5 of 20 is significant
# (p = 0.048) but its intervals overlap, so a real history nearly always read "not
# enough evidence". Each suggestion carries its evidence: both sides' pairings,
# healthy counts, rates and Wilson intervals, and the p-value; with too few pairings
# (none on a side, or p at or above ``alpha``) the change is 0 and the reason says so.

STEP = 0.05
OUTCOMES = ("progressed", "completed")
HEALTHY = "concluded as planned or the mentee progressed"


class Observation(TypedDict):
    """One confirmed pairing: its characteristics and its two outcomes."""

    traits: dict[str, str]
    progressed: bool
    completed: bool


class OutcomeCell(TypedDict):
    count: int
    rate: float | None
    interval: tuple[float, float] | None


class PatternValue(TypedDict):
    """The pairings with one value of a characteristic, and their outcomes."""

    value: str
    pairings: int
    progressed: OutcomeCell
    completed: OutcomeCell


Rates = dict[str, list[PatternValue]]  # characteristic → its values


class Side(TypedDict):
    """One side of a comparison: its pairings and how many were healthy."""

    label: str
    pairings: int
    healthy: int
    rate: float | None
    interval: tuple[float, float] | None


class Evidence(TypedDict):
    """What a suggestion rests on: the favoured side against the other."""

    outcome: str
    characteristic: str
    favoured: Side
    other: Side
    p_value: float | None
    alpha: float


class Suggestion(TypedDict):
    criterion: str
    change: float
    basis: str
    reason: str
    evidence: Evidence


def _cell(count: int, pairings: int) -> OutcomeCell:
    return {
        "count": count,
        "rate": rate(count, pairings),
        "interval": wilson_interval(count, pairings),
    }


def pattern_rates(observations: list[Observation]) -> Rates:
    """Per characteristic and value: counts, rates and Wilson intervals."""
    table: dict[str, dict[str, list[int]]] = {}  # → [pairings, progressed, completed]
    for obs in observations:
        for trait, value in obs["traits"].items():
            cell = table.setdefault(trait, {}).setdefault(str(value), [0, 0, 0])
            cell[0] += 1
            cell[1] += bool(obs["progressed"])
            cell[2] += bool(obs["completed"])
    out: Rates = {}
    for trait, values in sorted(table.items()):
        out[trait] = [
            {
                "value": value,
                "pairings": n,
                "progressed": _cell(progressed, n),
                "completed": _cell(completed, n),
            }
            for value, (n, progressed, completed) in sorted(values.items())
        ]
    return out


def healthy(observation: Observation) -> bool:
    """A relationship that concluded as planned, or whose mentee progressed."""
    return bool(observation["progressed"] or observation["completed"])


def _side(label: str, observations: list[Observation]) -> Side:
    n = len(observations)
    x = sum(healthy(o) for o in observations)
    return {
        "label": label,
        "pairings": n,
        "healthy": x,
        "rate": rate(x, n),
        "interval": wilson_interval(x, n),
    }


def _tested(
    criterion: str,
    characteristic: str,
    a: Side,
    b: Side,
    *,
    alpha: float,
    increase_only: bool = False,
) -> Suggestion:
    """A change of ±STEP for ``criterion`` when side ``a`` (what the criterion
    favours) differs significantly from ``b`` in its healthy rate; else 0."""
    p = None
    if a["pairings"] and b["pairings"]:
        p = fisher_p((a["healthy"], a["pairings"]), (b["healthy"], b["pairings"]))
    sign = 0
    if p is not None and p < alpha:
        sign = 1 if a["healthy"] * b["pairings"] > b["healthy"] * a["pairings"] else -1
        if increase_only and sign < 0:
            sign = 0
    basis = f"{a['label']} vs {b['label']}: healthy relationships ({HEALTHY})"
    if p is None:
        reason = (
            f"not enough evidence: {a['pairings']} against {b['pairings']} pairings"
        )
    elif sign:
        reason = (
            f"{a['healthy']} of {a['pairings']} against {b['healthy']} of "
            f"{b['pairings']} healthy, Fisher's exact test p = {p:.4f} < {alpha}"
        )
    else:
        reason = (
            f"not enough evidence: {a['healthy']} of {a['pairings']} against "
            f"{b['healthy']} of {b['pairings']} healthy, p = {p:.4f} (needs < {alpha})"
        )
    return {
        "criterion": criterion,
        "change": round(sign * STEP, 2),
        "basis": basis,
        "reason": reason,
        "evidence": {
            "outcome": "healthy",
            "characteristic": characteristic,
            "favoured": a,
            "other": b,
            "p_value": p,
            "alpha": alpha,
        },
    }


def suggested_weights(
    observations: list[Observation], *, alpha: float = ALPHA
) -> list[Suggestion]:
    """Weight changes for matching, each with its evidence (see above)."""

    def having(trait: str, value: str) -> list[Observation]:
        return [o for o in observations if o["traits"].get(trait) == value]

    perspective = _tested(
        "perspective",
        "function",
        _side("cross_function", having("function", "cross_function")),
        _side("same_function", having("function", "same_function")),
        alpha=alpha,
    )
    by_style: dict[str, list[Observation]] = {}
    for o in observations:
        value = o["traits"].get("style")
        if value is not None and UNKNOWN_STYLE not in value.split("/"):
            by_style.setdefault(value, []).append(o)
    sides = sorted(
        (_side(v, items) for v, items in by_style.items()),
        key=lambda s: (-(s["rate"] or 0.0), -s["pairings"], s["label"]),
    )
    best = sides[0]["label"] if sides else None
    rest = [o for v, items in by_style.items() if v != best for o in items]
    style = _tested(
        "style",
        "style",
        _side(
            f"style combination {best}" if best else "style combinations",
            by_style.get(best, []) if best else [],
        ),
        _side("the other style combinations", rest),
        alpha=alpha,
        increase_only=True,
    )
    return [perspective, style]


UNKNOWN_STYLE = "unknown"

"""Which pairs a round may propose: a boolean (mentees x mentors) mask.

Hard rules always hold, whatever the weights, the mode or a fairness boost:

- never a person with themself;
- never the mentee's own reporting line, up or down (the direct manager, and the
  whole chain above when ``reporting_chain`` is known, in both directions);
- never a pair a coordinator forbade;
- never a mentor without a remaining seat (inactive, at capacity, capacity 0).

Optional rules come from the cohort's ``RuleSettings`` (different business unit,
a shared language, seniority direction for the programme type, minimum weekly
overlap, which kinds of mentor the programme uses) plus the cohort's minimum score.
A coordinator's pinned pair overrides optional rules, never hard ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from chassis.errors import DomainError, FieldError, ValidationFailed
from services.matching.domain.candidates import PairRef
from services.matching.domain.encoding import EncodedCohort


class PairNotAllowed(DomainError):
    code = "PairNotAllowed"
    title = "Pair not allowed"

    def __init__(self, pair: PairRef, reasons: list[str]) -> None:
        super().__init__(
            f"{pair.mentee_id} with {pair.mentor_id}: " + "; ".join(reasons),
            mentee_id=pair.mentee_id,
            mentor_id=pair.mentor_id,
            reasons=reasons,
        )
        self.reasons = reasons


class CapacityExceeded(DomainError):
    code = "CapacityExceeded"
    title = "Mentor capacity exceeded"


class PinsRefused(PairNotAllowed):
    """Pins a round cannot honour, every one of them with its reasons."""

    code = "PinsRefused"
    title = "Pins that cannot be honoured"

    def __init__(self, refusals: list[PinRefusal]) -> None:
        DomainError.__init__(
            self, _describe(refusals), pins=[r.as_dict() for r in refusals]
        )
        self.refusals = refusals
        self.reasons = [reason for r in refusals for reason in r.reasons]


@dataclass(frozen=True)
class PinRefusal:
    """Why one pinned (mentee, mentor) pair cannot be honoured."""

    mentee_id: str
    mentor_id: str
    reasons: tuple[str, ...]
    seats_only: bool = False  # refused only because the mentor's seats run out

    def as_dict(self) -> dict[str, object]:
        return {
            "mentee_id": self.mentee_id,
            "mentor_id": self.mentor_id,
            "reasons": list(self.reasons),
        }


NO_SEAT = "the mentor has no seat left"


def pin_refusals(
    enc: EncodedCohort,
    pinned: Iterable[PairRef | tuple[str, str]],
    forbidden: Iterable[PairRef | tuple[str, str]] = (),
) -> list[PinRefusal]:
    """Every pin that cannot be honoured, each with all its reasons: a person who is
    not in the round, a hard rule, a mentee pinned twice, more pins than seats."""
    forbidden = tuple(forbidden)
    hard = hard_mask(enc, forbidden)
    mentees, mentors = enc.mentee_index, enc.mentor_index
    pinned_to: dict[str, str] = {}
    load = np.zeros(enc.shape[1], dtype=np.int64)
    refused: list[PinRefusal] = []
    for ref in dict.fromkeys(PairRef(*p) for p in pinned):
        reasons: list[str] = []
        seats = False
        i, j = mentees.get(ref.mentee_id), mentors.get(ref.mentor_id)
        if i is None:
            reasons.append("not a mentee of the cohort waiting for a mentor")
        if j is None:
            reasons.append("not a mentor of the cohort with a mentor profile")
        if i is not None and j is not None:
            if pinned_to.setdefault(ref.mentee_id, ref.mentor_id) != ref.mentor_id:
                reasons.append("the mentee is pinned to another mentor too")
            if not hard[i, j]:
                broken = hard_violations(enc, i, j, forbidden)
                reasons.extend(broken)
                seats = broken == [NO_SEAT]
            else:
                load[j] += 1
                if load[j] > enc.capacity[j]:
                    reasons.append(
                        f"the mentor has {int(enc.capacity[j])} seat(s) left, "
                        "fewer than the pairs pinned to them"
                    )
                    seats = len(reasons) == 1
        if reasons:
            refused.append(
                PinRefusal(ref.mentee_id, ref.mentor_id, tuple(reasons), seats)
            )
    return refused


def refuse_pins(refusals: list[PinRefusal]) -> None:
    """Raise the typed refusal of these pins, if any: ``CapacityExceeded`` when
    seats are all that stand in the way, ``PinsRefused`` otherwise."""
    if not refusals:
        return
    if all(r.seats_only for r in refusals):
        raise CapacityExceeded(
            _describe(refusals),
            mentor_id=refusals[0].mentor_id,
            pins=[r.as_dict() for r in refusals],
        )
    raise PinsRefused(refusals)


def _describe(refusals: list[PinRefusal]) -> str:
    return "; ".join(
        f"{r.mentee_id} with {r.mentor_id}: {', '.join(r.reasons)}" for r in refusals
    )


def pair_indices(
    enc: EncodedCohort, pairs: Iterable[PairRef | tuple[str, str]], what: str
) -> list[tuple[int, int]]:
    """(mentee row, mentor column) of each pair; unknown people are a typed error."""
    mentees, mentors = enc.mentee_index, enc.mentor_index
    found: list[tuple[int, int]] = []
    bad: list[FieldError] = []
    for n, pair in enumerate(pairs):
        ref = PairRef(*pair)
        if ref.mentee_id not in mentees:
            bad.append(
                FieldError(f"{what}[{n}].mentee_id", "not a mentee of this round")
            )
        elif ref.mentor_id not in mentors:
            bad.append(
                FieldError(f"{what}[{n}].mentor_id", "not a mentor of this round")
            )
        else:
            found.append((mentees[ref.mentee_id], mentors[ref.mentor_id]))
    if bad:
        raise ValidationFailed(bad)
    return found


def hard_mask(
    enc: EncodedCohort, forbidden: Iterable[PairRef | tuple[str, str]] = ()
) -> np.ndarray:
    """Pairs no rule, pin or boost may ever make: False where a hard rule forbids."""
    n, m = enc.shape
    mask = np.ones((n, m), dtype=bool)
    mask[:, enc.capacity <= 0] = False
    for i, j in _same_or_reporting_line(enc):
        mask[i, j] = False
    mentees, mentors = enc.mentee_index, enc.mentor_index
    for pair in forbidden:
        ref = PairRef(*pair)
        row, col = mentees.get(ref.mentee_id), mentors.get(ref.mentor_id)
        if row is not None and col is not None:
            mask[row, col] = False
    return mask


def _same_or_reporting_line(enc: EncodedCohort) -> list[tuple[int, int]]:
    mentors = enc.mentor_index
    mentees = enc.mentee_index
    out: list[tuple[int, int]] = []
    for i, p in enumerate(enc.mentees):
        for person in (p.person_id, *p.managers):
            j = mentors.get(person)
            if j is not None:
                out.append((i, j))
    for j, mentor in enumerate(enc.mentors):
        for person in mentor.managers:
            row = mentees.get(person)
            if row is not None:
                out.append((row, j))
    return out


def optional_mask(enc: EncodedCohort, scores: np.ndarray | None = None) -> np.ndarray:
    """Pairs the cohort's optional rules and minimum score allow."""
    cfg = enc.config
    rules = cfg.rules
    n, m = enc.shape
    mask = np.ones((n, m), dtype=bool)
    kinds = cfg.mentor_kinds
    mask[:, [p.kind not in kinds for p in enc.mentors]] = False
    if rules.different_business_unit:
        mask &= np.not_equal.outer(enc.mentee_unit, enc.mentor_unit)
    if rules.shared_language:
        mask &= (enc.mentee_languages @ enc.mentor_languages.T) > 0
    gap = rules.min_level_gap
    if rules.seniority and cfg.programme_type in ("standard", "group"):
        mask &= np.subtract.outer(enc.mentor_level, enc.mentee_level).T >= gap
    elif rules.seniority and cfg.programme_type == "reverse":
        mask &= np.subtract.outer(enc.mentee_level, enc.mentor_level) >= gap
    if rules.min_overlap_hours > 0:
        shared = enc.shared_hours[np.ix_(enc.mentee_pattern, enc.mentor_pattern)]
        mask &= shared >= rules.min_overlap_hours
    if scores is not None and cfg.min_score > 0:
        mask &= scores >= cfg.min_score
    return mask


@dataclass(frozen=True)
class Feasibility:
    """What a round may propose, and the pairs a coordinator fixed in advance."""

    mask: np.ndarray  # (n, m) bool: pairs the optimiser may choose
    hard: np.ndarray  # (n, m) bool: pairs no hard rule forbids
    pinned: tuple[tuple[int, int], ...]


def feasibility(
    enc: EncodedCohort,
    scores: np.ndarray | None = None,
    forbidden: Iterable[PairRef | tuple[str, str]] = (),
    pinned: Iterable[PairRef | tuple[str, str]] = (),
) -> Feasibility:
    """The round's feasible pairs; pinned pairs are checked against the hard rules."""
    forbidden = tuple(forbidden)
    pinned = tuple(dict.fromkeys(PairRef(*p) for p in pinned))
    refuse_pins(pin_refusals(enc, pinned, forbidden))
    hard = hard_mask(enc, forbidden)
    pins = pair_indices(enc, pinned, "pinned")
    return Feasibility(
        mask=hard & optional_mask(enc, scores), hard=hard, pinned=tuple(pins)
    )


def hard_violations(
    enc: EncodedCohort,
    i: int,
    j: int,
    forbidden: Iterable[PairRef | tuple[str, str]] = (),
) -> list[str]:
    """The hard rules this pair breaks, in words."""
    mentee, mentor = enc.mentees[i], enc.mentors[j]
    found = []
    if mentee.person_id == mentor.person_id:
        found.append("a person cannot mentor themself")
    if mentor.person_id in mentee.managers:
        found.append("the mentor is in the mentee's reporting line (above)")
    if mentee.person_id in mentor.managers:
        found.append("the mentee is in the mentor's reporting line (above)")
    if PairRef(mentee.person_id, mentor.person_id) in {PairRef(*p) for p in forbidden}:
        found.append("a coordinator forbade this pair")
    if enc.capacity[j] <= 0:
        found.append(NO_SEAT)
    return found


def violations(
    enc: EncodedCohort,
    i: int,
    j: int,
    forbidden: Iterable[PairRef | tuple[str, str]] = (),
    score: float | None = None,
) -> list[str]:
    """Every rule (hard or optional) this pair breaks, in words: "why not them?"."""
    found = hard_violations(enc, i, j, forbidden)
    cfg, mentee, mentor = enc.config, enc.mentees[i], enc.mentors[j]
    rules = cfg.rules
    if mentor.kind not in cfg.mentor_kinds:
        found.append(
            f"{cfg.programme_type} programmes do not use {mentor.kind} mentors"
        )
    if rules.different_business_unit and mentee.business_unit == mentor.business_unit:
        found.append("the cohort pairs across business units only")
    if (
        rules.shared_language
        and float(enc.mentee_languages[i] @ enc.mentor_languages[j]) <= 0
    ):
        found.append("no language in common")
    gap = rules.min_level_gap
    if rules.seniority and cfg.programme_type in ("standard", "group"):
        if mentor.level - mentee.level < gap:
            found.append(f"the mentor must be at least {gap} level(s) more senior")
    elif rules.seniority and cfg.programme_type == "reverse":
        if mentee.level - mentor.level < gap:
            found.append(
                f"a reverse mentor must be at least {gap} level(s) more junior"
            )
    if rules.min_overlap_hours > 0:
        shared = float(enc.shared_hours[enc.mentee_pattern[i], enc.mentor_pattern[j]])
        if shared < rules.min_overlap_hours:
            found.append(
                f"{shared:g} h a week in common, below {rules.min_overlap_hours:g} h"
            )
    if score is not None and score < cfg.min_score:
        found.append(
            f"score {score:.2f} below the cohort's minimum {cfg.min_score:.2f}"
        )
    return found

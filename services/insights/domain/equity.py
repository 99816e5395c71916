"""The people view and the equity report, as pure functions.

People view: one row (a dict) per person, folded from the facts by ``apply``. A row
keeps the organisational attributes (business unit, level, geography, function,
tenure start), the demographics the person consented to share (dropped on
``DemographicsWithdrawn``), cohort participation dates, pairings as mentee (first
proposal, confirmation, score, end), active pairings as mentor, mentor capacity,
styles, and career outcomes.

Equity report, per group of one dimension (``business_unit``, ``level_band``,
``tenure_band``, ``geography`` or ``demographics.<attribute>``):

- registered: people in the group (for demographics: people who consented).
- participants: registered people taking part as mentees (admitted to or waitlisted
  in a cohort, or paired as mentee); with ``cohort_id``: in that cohort.
- participation_rate = participants / registered.
- matched: participants with a confirmed pairing; match_rate = matched / participants.
- median_days_to_match: median days from joining (first admission or waitlisting;
  else first proposal) to the first confirmation, over matched participants. An
  admission dates from its ``admitted_on``, a confirmation from the relationship's
  ``starts_on`` when that is earlier than its recording, an end from its
  ``ended_on`` (``domain.effective``: a programme's history imported later keeps
  its days).
- mean_match_score: mean score of the first confirmed pairing (its proposal's score
  when the confirmation carries none), over matched participants with a score.
- promoted / departed: participants with a ``promotion`` / ``departure`` outcome
  effective on or after joining; promotion_rate = promoted / participants.
- match_rate_impact / promotion_rate_impact: the group's rate ÷ the best shown
  group's rate; with the rate's Wilson 95% interval (``*_interval``), the p-value of
  Fisher's exact test of the group against the best group (``*_p_value``) and a
  verdict (``*_verdict``): ``adverse_impact`` when the ratio is below 0.8 AND the
  difference is significant (p below ``alpha``, 0.05 by default), ``too_few_to_tell``
  when the ratio is below 0.8 but not significant, ``no_adverse_impact`` otherwise
  (``stats.compare_rates``). ``*_flagged`` is true exactly for ``adverse_impact``
  (it was "ratio below 0.8" alone: a four-fifths flag on a handful of people is
  noise, not evidence).

  Interval, test and verdict are computed from the PUBLISHED counts (perturbed and
  rounded, as the rates are), never the true ones, so they tell nothing the shown
  counts do not: a withheld group has none, and a group whose count is withheld has
  no rate, interval, p-value or verdict for that count.

As of a past day (``past``): the report as it stood at the end of that day, every
fact at its effective day (``domain.effective``): registered from the earlier of the
registration and the hire month, participants from their admission (or waitlisting,
or first proposal), matched from the first confirmation's start, promoted / departed
by an outcome effective between joining and that day. Attributes and consented
demographics are today's (the view keeps no history of them).

Disclosure control (``disclosure``; method and anchors in docs/privacy.md): every
count is a cell, withheld below a keyed threshold of at least k and otherwise
perturbed by a keyed offset of at most 2 and rounded to the nearest 5; a group is shown only when both its registered and participants
counts are, and withheld groups (and withheld cells of a column) are always two or
more holding at least k people together (complementary suppression). Rates come from
the published counts; impact ratios are computed over shown groups only. Median days
and mean score (rounded) are shown only beside a shown matched count, and never for
``demographics.*``, where their movement would tell a coordinator the group of the
person they just matched. A withheld organisational group is listed as
``{"group", "suppressed": true}`` and counted in ``suppressed_groups``; a withheld
demographic group is neither named nor counted (which values anyone holds is itself
a demographic fact). The total is published rounded, under the
same threshold, as every other cell: it cannot unlock any cell it is the sum of.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Required, TypedDict

from chassis import disclosure
from chassis.events import JsonDict
from contracts.insights import ImpactVerdict
from services.insights.domain import stats
from services.insights.domain.effective import effective_at
from services.insights.domain.erasure import is_erased, replace_id


class CohortEntry(TypedDict, total=False):
    """A person's participation in one cohort (ISO 8601 times)."""

    role: str | None
    admitted_at: str
    waitlisted_at: str
    withdrew_at: str


class PairingEntry(TypedDict, total=False):
    """A pairing of the person as mentee."""

    mentor_id: Required[str]
    proposed_at: str | None
    score: float | None
    confirmed_at: str
    ended_at: str
    end_reason: str | None
    cohort_id: str
    programme_type: str


class Outcome(TypedDict):
    kind: str
    effective_on: str


class Row(TypedDict, total=False):
    """One person's row of the people view (stored as JSON)."""

    person_id: Required[str]
    demographics: Required[dict[str, str]]
    cohorts: Required[dict[str, CohortEntry]]
    pairings: Required[dict[str, PairingEntry]]
    mentoring: Required[dict[str, str]]  # pairing → mentee, as mentor
    outcomes: Required[list[Outcome]]
    business_unit: str | None
    level: int | None
    geography: str | None
    function: str | None
    tenure_start: str | None
    registered_at: str
    max_mentees: int | None
    leadership_style: str | None
    learning_style: str | None


ORG_DIMENSIONS = ("business_unit", "level_band", "tenure_band", "geography")
UNKNOWN = "unknown"
ATTRIBUTE_EVENTS = ("PersonRegistered", "PersonDetailsUpdated")
PERSON_EVENTS = (
    *ATTRIBUTE_EVENTS,
    "DemographicsShared",
    "DemographicsWithdrawn",
    "ParticipantAdmitted",
    "ParticipantWaitlisted",
    "ParticipantWithdrew",
    "CareerOutcomeRecorded",
    "MentorProfileSet",
    "MentorCapacityChanged",
    "IntakeSubmitted",
)
PAIRING_EVENTS = ("PairingProposed", "PairingConfirmed", "PairingEnded")
EVENTS = (*PERSON_EVENTS, *PAIRING_EVENTS)


def touched(kind: str, data: JsonDict) -> list[str]:
    """The people whose rows an event changes (an erased person has no row)."""
    if kind in PERSON_EVENTS:
        people = [data.get("person_id")]
    elif kind == "PairingProposed":
        people = [data["mentee_id"]]
    elif kind in ("PairingConfirmed", "PairingEnded"):
        people = [data["mentee_id"], data["mentor_id"]]
    else:
        people = []
    return [str(p) for p in people if p and not is_erased(p)]


def new_row(person_id: str) -> Row:
    return {
        "person_id": person_id,
        "demographics": {},
        "cohorts": {},
        "pairings": {},
        "mentoring": {},
        "outcomes": [],
    }


def apply(
    row: Row,
    person_id: str,
    kind: str,
    data: JsonDict,
    at: str,
    *,
    in_place: bool = False,
) -> Row:
    """The row after one event (``at``: the event's ISO 8601 time); ``in_place``
    changes ``row`` itself (a fold that owns its rows) instead of a copy."""
    row = row if in_place else copy.deepcopy(row)
    if kind in ATTRIBUTE_EVENTS:
        if "business_unit" in data:
            row["business_unit"] = data["business_unit"]
        if "level" in data:
            row["level"] = data["level"]
        if "geography" in data:
            row["geography"] = data["geography"]
        if "function" in data:
            row["function"] = data["function"]
        if "tenure_start" in data:
            row["tenure_start"] = data["tenure_start"]
        row.setdefault("registered_at", at)
    elif kind == "DemographicsShared":
        row["demographics"] = {str(k): str(v) for k, v in data["attributes"].items()}
    elif kind == "DemographicsWithdrawn":
        row["demographics"] = {}
    elif kind in (
        "ParticipantAdmitted",
        "ParticipantWaitlisted",
        "ParticipantWithdrew",
    ):
        entry = row["cohorts"].setdefault(str(data["cohort_id"]), {})
        entry.setdefault("role", data.get("role"))
        if kind == "ParticipantAdmitted":
            entry["admitted_at"] = _happened(kind, data, at)
            entry.pop("withdrew_at", None)
        elif kind == "ParticipantWaitlisted":
            entry["waitlisted_at"] = at
        else:
            entry["withdrew_at"] = at
    elif kind == "CareerOutcomeRecorded":
        row["outcomes"].append(
            {"kind": data["kind"], "effective_on": str(data["effective_on"])}
        )
    elif kind in ("MentorProfileSet", "MentorCapacityChanged"):
        row["max_mentees"] = data.get("max_mentees")
        if "leadership_style" in data:
            row["leadership_style"] = data["leadership_style"]
    elif kind == "IntakeSubmitted":
        row["learning_style"] = data.get("learning_style")
    elif kind in PAIRING_EVENTS:
        _apply_pairing(row, person_id, kind, data, at)
    return row


def _happened(kind: str, data: JsonDict, at: str) -> str:
    """When the fact happened (``domain.effective``: an admission's ``admitted_on``,
    a confirmation by its ``starts_on``, an end's ``ended_on``), as ISO 8601 text;
    ``at`` (its recording) when it names no day."""
    return effective_at(kind, data, datetime.fromisoformat(at)).isoformat()


def _apply_pairing(
    row: Row, person_id: str, kind: str, data: JsonDict, at: str
) -> None:
    pid = str(data["pairing_id"])
    if str(data["mentee_id"]) != person_id:  # the mentor's side
        if kind == "PairingConfirmed":
            row["mentoring"][pid] = str(data["mentee_id"])
        elif kind == "PairingEnded":
            row["mentoring"].pop(pid, None)
        return
    pairing = row["pairings"].setdefault(pid, {"mentor_id": str(data["mentor_id"])})
    if kind == "PairingProposed":
        pairing.setdefault("proposed_at", at)
        pairing["score"] = data.get("score")
    elif kind == "PairingConfirmed":
        pairing["confirmed_at"] = _happened(kind, data, at)
        if data.get("score") is not None:
            pairing["score"] = data["score"]
    elif kind == "PairingEnded":
        pairing["ended_at"] = _happened(kind, data, at)
        pairing["end_reason"] = data.get("reason")
    if data.get("cohort_id") is not None:
        pairing["cohort_id"] = data["cohort_id"]
    if data.get("programme_type") is not None:
        pairing["programme_type"] = data["programme_type"]


# -- grouping ----------------------------------------------------------------------


def level_band(level: object) -> str:
    if not isinstance(level, int):
        return UNKNOWN
    low = ((level - 1) // 3) * 3 + 1
    return f"{low}-{low + 2}"


TENURE_BANDS = ((1, "<1y"), (3, "1-3y"), (5, "3-5y"), (10, "5-10y"))


def tenure_band(tenure_start: object, as_of: date) -> str:
    """Whole years since the hire month (YYYY-MM) at ``as_of``."""
    try:
        year, month = (int(p) for p in str(tenure_start).split("-")[:2])
    except (TypeError, ValueError):
        return UNKNOWN
    months = (as_of.year - year) * 12 + as_of.month - month
    for limit, label in TENURE_BANDS:
        if months < limit * 12:
            return label
    return "10y+"


def group_of(row: Row, dimension: str, as_of: date) -> str | None:
    """The person's group in ``dimension``; ``None``: not part of this report."""
    if "business_unit" not in row:
        return None  # never registered (e.g. only seen in a pairing)
    if dimension.startswith("demographics."):
        group = row["demographics"].get(dimension.split(".", 1)[1])
        return None if group is None else str(group)
    if dimension == "level_band":
        return level_band(row.get("level"))
    if dimension == "tenure_band":
        return tenure_band(row.get("tenure_start"), as_of)
    if dimension in ("business_unit", "geography"):
        return str(row.get(dimension) or UNKNOWN)
    raise ValueError(f"unknown dimension {dimension!r}")


def valid_dimension(dimension: str) -> bool:
    return dimension in ORG_DIMENSIONS or (
        dimension.startswith("demographics.") and len(dimension) > len("demographics.")
    )


# -- per-person facts for the report -------------------------------------------------


def _day(stamp: str) -> date:
    return datetime.fromisoformat(stamp).date()


def _by(stamp: object, until: date | None) -> bool:
    """Whether a recorded moment lies on or before the day ``until`` (any, when
    ``until`` is None)."""
    return bool(stamp) and (until is None or _day(str(stamp)) <= until)


def registered_by(row: Row, until: date | None) -> bool:
    """Whether the person was registered by the end of ``until``: from the earlier
    of their registration and their hire month (``effective``: a person hired in
    2019 and registered today was there in 2019)."""
    if until is None:
        return True
    tenure = str(row.get("tenure_start") or "")
    if len(tenure) == 7:
        try:
            if date.fromisoformat(f"{tenure}-01") <= until:
                return True
        except ValueError:
            pass
    return _by(row.get("registered_at"), until)


def joined_at(row: Row, cohort_id: str | None, until: date | None = None) -> str | None:
    """When the person joined as a mentee (by the end of ``until``, when given);
    ``None``: not a participant."""
    stamps: list[str] = [
        str(stamp)
        for cid, entry in row["cohorts"].items()
        if entry.get("role") in (None, "mentee") and cohort_id in (None, cid)
        for stamp in (entry.get("admitted_at"), entry.get("waitlisted_at"))
        if _by(stamp, until)
    ]
    if stamps:
        return min(stamps)
    proposed: list[str] = [
        str(p["proposed_at"] or p.get("confirmed_at"))
        for p in _pairings(row, cohort_id)
        if _by(p["proposed_at"] or p.get("confirmed_at"), until)
    ]
    return min(proposed, default=None) if cohort_id is None else None


def _pairings(row: Row, cohort_id: str | None) -> list[PairingEntry]:
    return [
        {"proposed_at": None, **p}
        for p in row["pairings"].values()
        if cohort_id is None or p.get("cohort_id") in (None, cohort_id)
    ]


def first_match(
    row: Row, cohort_id: str | None, until: date | None = None
) -> PairingEntry | None:
    """The first pairing confirmed (by the end of ``until``, when given)."""
    confirmed = [
        p for p in _pairings(row, cohort_id) if _by(p.get("confirmed_at"), until)
    ]
    return min(confirmed, key=lambda p: p["confirmed_at"], default=None)


def _outcome(row: Row, kind: str, since: str, until: date | None = None) -> bool:
    start = _day(since).isoformat()
    end = None if until is None else until.isoformat()
    return any(
        o["kind"] == kind
        and o["effective_on"] >= start
        and (end is None or o["effective_on"][:10] <= end)
        for o in row["outcomes"]
    )


# -- the report ------------------------------------------------------------------

COUNTS = ("registered", "participants", "matched", "promoted", "departed")
GROUP_COUNTS = ("registered", "participants")  # a group is shown only with both
INNER_COUNTS = ("matched", "promoted", "departed")


class _Cells:
    """The people behind each count of one group, and the matched ones' figures."""

    def __init__(
        self, rows: list[Row], cohort_id: str | None, until: date | None = None
    ) -> None:
        self.sets: dict[str, set[str]] = {c: set() for c in COUNTS}
        self.days: list[float] = []
        self.scores: list[float] = []
        for row in rows:
            if not registered_by(row, until):
                continue
            pid = str(row["person_id"])
            self.sets["registered"].add(pid)
            joined = joined_at(row, cohort_id, until)
            if joined is None:
                continue
            self.sets["participants"].add(pid)
            if _outcome(row, "promotion", joined, until):
                self.sets["promoted"].add(pid)
            if _outcome(row, "departure", joined, until):
                self.sets["departed"].add(pid)
            match = first_match(row, cohort_id, until)
            if match is None:
                continue
            self.sets["matched"].add(pid)
            gap = datetime.fromisoformat(
                match["confirmed_at"]
            ) - datetime.fromisoformat(joined)
            self.days.append(max(gap.total_seconds(), 0) / 86400)
            score = match.get("score")
            if score is not None:
                self.scores.append(float(score))

    def size(self, count: str) -> int:
        return len(self.sets[count])


class Figures(TypedDict):
    """A shown group's (or the total's) figures; a withheld count is None."""

    registered: int | None
    participants: int | None
    participation_rate: float | None
    matched: int | None
    match_rate: float | None
    median_days_to_match: int | None
    mean_match_score: float | None
    promoted: int | None
    promotion_rate: float | None
    departed: int | None


class ShownGroup(Figures):
    group: str
    suppressed: bool  # False
    match_rate_interval: tuple[float, float] | None
    match_rate_impact: float | None
    match_rate_p_value: float | None
    match_rate_verdict: ImpactVerdict | None
    match_rate_flagged: bool
    promotion_rate_interval: tuple[float, float] | None
    promotion_rate_impact: float | None
    promotion_rate_p_value: float | None
    promotion_rate_verdict: ImpactVerdict | None
    promotion_rate_flagged: bool


class HiddenGroup(TypedDict):
    group: str
    suppressed: bool  # True


class ShownTotal(Figures):
    suppressed: bool  # False


class HiddenTotal(TypedDict):
    suppressed: bool  # True


class Report(TypedDict):
    """The equity report of one dimension."""

    dimension: str
    cohort_id: str | None
    as_of: str | None  # the day it describes the end of; None: now
    k: int
    alpha: float
    groups: list[ShownGroup | HiddenGroup]
    suppressed_groups: int | None
    total: ShownTotal | HiddenTotal


def _figures(
    cells: _Cells, published: dict[str, int | None], continuous: bool
) -> Figures:
    """A shown group's (or the total's) figures from its published counts."""
    matched_shown = published["matched"] is not None and continuous
    days = stats.median(cells.days) if matched_shown else None
    score = stats.mean(cells.scores) if matched_shown else None
    return {
        "registered": published["registered"],
        "participants": published["participants"],
        "participation_rate": disclosure.rate(
            published["participants"], published["registered"]
        ),
        "matched": published["matched"],
        "match_rate": disclosure.rate(published["matched"], published["participants"]),
        "median_days_to_match": None if days is None else round(days),
        "mean_match_score": None if score is None else round(score, 2),
        "promoted": published["promoted"],
        "promotion_rate": disclosure.rate(
            published["promoted"], published["participants"]
        ),
        "departed": published["departed"],
    }


def _hidden_groups(cells: dict[str, _Cells], k: int, key: bytes) -> frozenset[str]:
    """Primary suppression of whole groups, then complementary suppression until
    both group-size columns (registered, participants) are protected."""
    hidden = frozenset(
        g
        for g, c in cells.items()
        if not all(disclosure.shown(c.sets[n], k, key) for n in GROUP_COUNTS)
    )
    while True:
        grown = hidden
        for count in GROUP_COUNTS:
            sizes = {g: c.size(count) for g, c in cells.items()}
            grown = disclosure.complementary(sizes, grown, k)
        if grown == hidden:
            return hidden
        hidden = grown


def equity_report(
    rows: list[Row],
    dimension: str,
    *,
    k: int,
    as_of: date,
    cohort_id: str | None = None,
    key: bytes = b"",
    alpha: float = stats.ALPHA,
    past: bool = False,
) -> Report:
    """The equity report of one dimension (definitions in the module docstring;
    the disclosure control in ``disclosure`` and docs/privacy.md). ``past``: as it
    stood at the end of ``as_of`` (every fact by its effective day), else now."""
    until = as_of if past else None
    groups: dict[str, list[Row]] = {}
    for row in rows:
        if not registered_by(row, until):
            continue
        group = group_of(row, dimension, as_of)
        if group is not None:
            groups.setdefault(group, []).append(row)
    cells = {g: _Cells(members, cohort_id, until) for g, members in groups.items()}
    hidden = _hidden_groups(cells, k, key)
    published: dict[str, dict[str, int | None]] = {g: {} for g in cells}
    for count in COUNTS:
        withheld = set(hidden) | {
            g for g, c in cells.items() if not disclosure.shown(c.sets[count], k, key)
        }
        if count in INNER_COUNTS:
            sizes = {g: c.size(count) for g, c in cells.items()}
            withheld = set(disclosure.complementary(sizes, withheld, k))
        for g, c in cells.items():
            published[g][count] = (
                None if g in withheld else disclosure.published(c.sets[count], k, key)
            )
    # Continuous figures move with any one person's match: a demographic group's
    # mean would tell a coordinator the group of the person they just matched.
    continuous = not dimension.startswith("demographics.")
    shown = {
        g: _figures(cells[g], published[g], continuous)
        for g in cells
        if g not in hidden
    }
    # The published counts only (``_figures`` made the rates of the same).
    matching = stats.compare_rates(
        {g: (m["matched"], m["participants"]) for g, m in shown.items()}, alpha=alpha
    )
    promotion = stats.compare_rates(
        {g: (m["promoted"], m["participants"]) for g, m in shown.items()}, alpha=alpha
    )
    out_groups: list[ShownGroup | HiddenGroup] = []
    for group in sorted(cells):
        if group in hidden:
            if continuous:  # an organisational unit's name is no secret
                out_groups.append({"group": group, "suppressed": True})
            continue
        out_groups.append(
            {
                "group": group,
                "suppressed": False,
                **shown[group],
                "match_rate_interval": matching[group].interval,
                "match_rate_impact": matching[group].ratio,
                "match_rate_p_value": matching[group].p_value,
                "match_rate_verdict": matching[group].verdict,
                "match_rate_flagged": matching[group].flagged,
                "promotion_rate_interval": promotion[group].interval,
                "promotion_rate_impact": promotion[group].ratio,
                "promotion_rate_p_value": promotion[group].p_value,
                "promotion_rate_verdict": promotion[group].verdict,
                "promotion_rate_flagged": promotion[group].flagged,
            }
        )
    everyone = _Cells([r for m in groups.values() for r in m], cohort_id, until)
    total_counts = {n: disclosure.published(everyone.sets[n], k, key) for n in COUNTS}
    total: ShownTotal | HiddenTotal = {"suppressed": True}
    if not any(total_counts[n] is None for n in GROUP_COUNTS):
        total = {
            "suppressed": False,
            **_figures(everyone, total_counts, continuous),
        }
    return {
        "dimension": dimension,
        "cohort_id": cohort_id,
        "as_of": as_of.isoformat() if past else None,
        "k": k,
        "alpha": alpha,
        "groups": out_groups,
        # How many demographic groups hide is withheld too: a count that drops
        # when one person withdraws says their group has just emptied.
        "suppressed_groups": len(hidden) if continuous else None,
        "total": total,
    }


# -- pairing observations (for stats.pattern_rates) -----------------------------------


def pairing_observations(rows: dict[str, Row]) -> list[stats.Observation]:
    """One observation per confirmed pairing, seen from its mentee's row."""
    out: list[stats.Observation] = []
    for mentee in rows.values():
        for pairing in mentee["pairings"].values():
            confirmed_at = pairing.get("confirmed_at")
            if not confirmed_at:
                continue
            mentor = rows.get(pairing["mentor_id"])
            kind = pairing.get("programme_type") or "standard"
            functions = (
                mentor.get("function") if mentor else None,
                mentee.get("function"),
            )
            same = functions[0] == functions[1]
            leadership = mentor.get("leadership_style") if mentor else None
            out.append(
                {
                    "traits": {
                        "function": UNKNOWN
                        if None in functions
                        else ("same_function" if same else "cross_function"),
                        "direction": "reverse" if kind == "reverse" else "standard",
                        "source": "external" if kind == "external" else "internal",
                        "style": f"{leadership or UNKNOWN}/"
                        f"{mentee.get('learning_style') or UNKNOWN}",
                    },
                    "progressed": any(
                        _outcome(mentee, kind, confirmed_at)
                        for kind in ("promotion", "role_change")
                    ),
                    "completed": pairing.get("end_reason") == "concluded",
                }
            )
    return out


def forget(row: Row, person_id: str, pseudonym: str) -> Row:
    """The row with an erased person's id replaced by their pseudonym (the pairings
    the row's person had with them stay counted)."""
    forgotten: Row = replace_id(row, person_id, pseudonym)
    return forgotten

"""Relationship health and mentor impact, computed from facts as of a moment.

Everything here is a pure function of a relationship's facts (``RelationshipFacts``,
folded from events in any order) and a moment ``as_of``, so any judgement can be
checked by hand and asked "as of" a past date. Day counts are whole calendar days
between UTC dates.

Signals (``cadence`` is the contract's ``every_days``; 30 when no contract is in force):

- ``gap``: days since the last held session (since the start when none was held).
- ``cancellation streak``: cancelled or missed sessions since the last held one, in
  the order the sessions were planned: a session held is placed at ``held_at``, one
  cancelled or missed at its planned start (``starts_at`` of its latest schedule),
  whenever either was recorded. Missed on day -7 and -6 and held on day -4 is a
  streak of 0, even when the misses were reported after the session held. A session
  whose schedule is unknown is placed when its cancellation or absence was recorded.
  "As of" a moment, a cancelled or missed session counts once it was known: at the
  earlier of its recording and its planned start (a no-show reported later happened
  at the session; a cancellation made ahead of time is known when it was made).
- ``adherence``: sessions held in the last 90 days (or since the start, if shorter)
  divided by the sessions the cadence expects in that window (window // cadence).
- ``falling ratings``: the mean of the last two ratings is at least 1.0 below the
  mean of the two before them (needs four ratings).
- ``check-in gap``: days since the last check-in (since the start when none).
- ``open escalations``: raised and not yet resolved.

States, the first that applies:

- ``concluded``: the relationship was concluded (or its pairing ended); not judged.
- ``at_risk``: gap > 2 x cadence (``no_session_for_N_days``), or a cancellation
  streak of 2 or more (``cancellation_streak_N``), or an open escalation
  (``open_escalations_N``). At-risk signals count even in the first weeks.
- ``too_early``: started fewer than 28 days ago (``started_N_days_ago``).
- ``needs_check_in``: gap > 1.5 x cadence (``no_session_for_N_days``), adherence
  below 50 % (``cadence_adherence_N_pct``), falling ratings
  (``ratings_fell_from_A_to_B``), or check-in gap > 45 days
  (``no_check_in_for_N_days``).
- ``on_track``: none of the above.

Idle: a live relationship whose gap reaches ``idle_days`` (configurable) is flagged
for conclusion (``idle_for_N_days``), whatever its state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache

from chassis.events import JsonDict
from contracts.insights import HealthState, MentorStatus
from services.insights.domain.effective import DATE_FIELDS, effective_at, effective_day

DEFAULT_CADENCE_DAYS = 30
TOO_EARLY_DAYS = 28
ADHERENCE_WINDOW_DAYS = 90
CHECK_IN_DAYS = 45
# A moment as facts carry it: a datetime, or ISO 8601 text (naive = UTC).
Moment = datetime | str
# The events ``apply`` folds: what relationship health is computed from.
HANDLED = (
    "RelationshipStarted",
    "ContractDrafted",
    "ContractInForce",
    "SessionScheduled",
    "SessionRescheduled",
    "SessionHeld",
    "SessionCancelled",
    "SessionMissed",
    "FeedbackGiven",
    "CheckInRecorded",
    "EscalationRaised",
    "EscalationResolved",
    "MilestoneAchieved",
    "RelationshipConcluded",
    "PairingEnded",
    "RelationshipPaused",
    "RelationshipResumed",
)
# The person events mentor impact reads (whether the mentor was active).
PERSON_STATUS = ("PersonDeactivated", "PersonReactivated", "CareerOutcomeRecorded")
RANK: dict[str, int] = {
    HealthState.ON_TRACK: 0,
    HealthState.TOO_EARLY: 0,
    HealthState.CONCLUDED: 0,
    HealthState.NEEDS_CHECK_IN: 1,
    HealthState.AT_RISK: 2,
}
# A rating as kept: (at, rating, the rater's role).
Rating = tuple[str, int, str | None]
# An escalation as kept: [raised at, resolved at] (either unknown yet).
Escalation = list[str | None]


@dataclass
class RelationshipFacts:
    """What health and impact need to know of one relationship (JSON-friendly)."""

    relationship_id: str
    pairing_id: str | None = None
    mentor_id: str | None = None
    mentee_id: str | None = None
    cohort_id: str | None = None
    started_at: str | None = None
    concluded_at: str | None = None
    cadences: dict[str, int] = field(default_factory=dict)  # contract version → days
    in_force_version: str | None = None
    cadence_days: int | None = None
    sessions: dict[str, list[str]] = field(default_factory=dict)  # id → [outcome, at]
    # id → [sequence, starts_at] of the session's latest schedule (its planned start)
    planned: dict[str, list[int | str]] = field(default_factory=dict)
    ratings: list[Rating] = field(default_factory=list)
    check_ins: list[str] = field(default_factory=list)  # held_on dates
    escalations: dict[str, Escalation] = field(default_factory=dict)
    milestones_achieved: dict[str, str] = field(default_factory=dict)  # id → on
    # [since, version] of each contract version that came in force, in time order
    in_force: list[list[str]] = field(default_factory=list)
    # [from, to] of each pause (to: resumed at, or the pause's ``until``; None: open)
    pauses: list[list[str | None]] = field(default_factory=list)
    # When the latest fact dated in the past (a day or more before it was recorded:
    # history being written) was recorded; early warnings wait while it is recent.
    history_recorded_at: str | None = None

    def to_json(self) -> JsonDict:
        """The fields as JSON takes them (shared, not copied: encode it right away)."""
        return {name: getattr(self, name) for name in _FACT_FIELDS}

    @classmethod
    def from_json(cls, data: JsonDict) -> RelationshipFacts:
        """The facts as ``to_json`` wrote them (decoded JSON: lists for tuples)."""
        ratings = [(str(at), int(r), role) for at, r, role in data.get("ratings", ())]
        return cls(**{**data, "ratings": ratings})


_FACT_FIELDS = tuple(f.name for f in fields(RelationshipFacts))  # in their order


@dataclass(frozen=True)
class Health:
    relationship_id: str
    state: HealthState
    reasons: list[str]
    idle: bool
    days_since_session: int | None
    cancellation_streak: int
    as_of: str


def moment(value: Moment) -> datetime:
    """A stored moment (datetime or ISO text) as an aware datetime (naive = UTC)."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def day_of(value: Moment | date) -> date:
    """A stored date or moment as its UTC calendar day."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return _day_of_text(value)  # the same texts again at every assessment
    return moment(value).astimezone(UTC).date()


@lru_cache(maxsize=1 << 16)
def _day_of_text(value: str) -> date:
    if len(value) == 10:
        return date.fromisoformat(value)
    return moment(value).astimezone(UTC).date()


# The fields that date a fact in the world (its effective date), by any event.
EFFECTIVE_FIELDS = DATE_FIELDS
EFFECTIVE_SET = frozenset(EFFECTIVE_FIELDS)


def backdated(data: JsonDict, at: Moment) -> bool:
    """Whether the fact happened a day or more before it was recorded (``at``)."""
    present = EFFECTIVE_SET.intersection(data)  # most events name no date field
    if not present:
        return False
    recorded = day_of(at)
    for key in present:
        value = data.get(key)
        if isinstance(value, str) and value:
            try:
                if (recorded - day_of(value)).days >= 1:
                    return True
            except ValueError:
                continue
    return False


# The kinds ``apply`` keeps at their effective moment (the others at their recording).
DATED = frozenset(
    {
        "ContractInForce",
        "RelationshipPaused",
        "RelationshipResumed",
        "FeedbackGiven",
        "RelationshipConcluded",
        "PairingEnded",
    }
)


def apply(
    facts: RelationshipFacts,
    kind: str,
    data: JsonDict,
    at: Moment,
    at_s: str | None = None,
) -> None:
    """Fold one event into the relationship's facts (order of arrival is irrelevant).

    Each fact is kept at its effective moment (``domain.effective``): a pause from
    its ``paused_on``, a resumption at its ``resumed_on``, an end at the pairing's
    ``ended_on`` (the earliest end wins), a rating at its ``given_at``; the
    recording where the event names no day of its own. ``at_s``: ``moment(at)``'s
    ``isoformat()`` when the caller has it already."""
    recorded = moment(at)
    if at_s is None:
        at_s = recorded.isoformat()
    # The effective moment, where the kind keeps one (computed once, only then).
    on_s = effective_at(kind, data, recorded).isoformat() if kind in DATED else ""
    if backdated(data, recorded) and (
        facts.history_recorded_at is None
        or moment(facts.history_recorded_at) < recorded
    ):
        facts.history_recorded_at = at_s
    if kind == "RelationshipStarted":
        facts.pairing_id = data.get("pairing_id")
        facts.mentor_id = data.get("mentor_id")
        facts.mentee_id = data.get("mentee_id")
        facts.cohort_id = data.get("cohort_id")
        facts.started_at = data["starts_on"] if data.get("starts_on") else at_s
    elif kind == "ContractDrafted":
        facts.cadences[str(data["version"])] = int(data["cadence"]["every_days"])
        facts.cadence_days = facts.cadences.get(facts.in_force_version or "")
    elif kind == "ContractInForce":
        facts.in_force_version = str(data["version"])
        facts.cadence_days = facts.cadences.get(facts.in_force_version)
        entry = [on_s, str(data["version"])]
        if entry not in facts.in_force:
            facts.in_force = sorted([*facts.in_force, entry])
    elif kind == "RelationshipPaused":
        until = str(data["until"]) if data.get("until") else None
        if not any(p[0] == on_s for p in facts.pauses):
            facts.pauses = sorted(
                [*facts.pauses, [on_s, until]], key=lambda p: moment(str(p[0]))
            )
    elif kind == "RelationshipResumed":
        for pause in facts.pauses:
            if moment(str(pause[0])) <= moment(on_s) and (
                pause[1] is None or day_of(str(pause[1])) > day_of(on_s)
            ):
                pause[1] = on_s
    elif kind in ("SessionScheduled", "SessionRescheduled"):
        facts.sessions.setdefault(data["session_id"], ["scheduled", at_s])
        if data.get("starts_at"):
            sequence = int(data.get("sequence") or 0)
            known = facts.planned.get(data["session_id"])
            if known is None or int(known[0]) <= sequence:
                starts = moment(str(data["starts_at"])).isoformat()
                facts.planned[data["session_id"]] = [sequence, starts]
    elif kind == "SessionHeld":
        facts.sessions[data["session_id"]] = ["held", str(data.get("held_at") or at_s)]
    elif kind in ("SessionCancelled", "SessionMissed"):
        outcome = "cancelled" if kind == "SessionCancelled" else "missed"
        facts.sessions[data["session_id"]] = [outcome, at_s]
    elif kind == "FeedbackGiven":
        facts.ratings.append((on_s, int(data["rating"]), data.get("from_role")))
    elif kind == "CheckInRecorded":
        # The days check-ins were held on, each once: health reads the days (the
        # latest by a moment), and the list is kept in the relationship's row,
        # read and written again with each of its facts.
        held_on = str(data["held_on"])
        if held_on not in facts.check_ins:
            facts.check_ins.append(held_on)
    elif kind == "EscalationRaised":
        facts.escalations.setdefault(data["escalation_id"], [at_s, None])[0] = at_s
    elif kind == "EscalationResolved":
        facts.escalations.setdefault(data["escalation_id"], [None, None])[1] = at_s
    elif kind == "MilestoneAchieved":
        facts.milestones_achieved[data["milestone_id"]] = str(data["achieved_on"])
    elif kind in ("RelationshipConcluded", "PairingEnded"):
        if facts.concluded_at is None or moment(on_s) < moment(facts.concluded_at):
            facts.concluded_at = on_s


class Folder:
    """Folds events into relationships' facts one at a time, in arrival order.

    A ``PairingEnded`` names a pairing, not a relationship: one that arrives before its
    relationship's ``RelationshipStarted`` (another stream, another partition) is held
    and applied when the start arrives. ``apply`` ignores order otherwise.
    """

    def __init__(self) -> None:
        self.relationships: dict[str, RelationshipFacts] = {}
        self._by_pairing: dict[str, str] = {}
        self._ended_early: dict[str, list[tuple[JsonDict, Moment]]] = {}

    def add(
        self, kind: str, data: JsonDict, at: Moment, at_s: str | None = None
    ) -> RelationshipFacts | None:
        """Fold one event; the relationship it changed, or None (held, or not one).
        ``at_s``: ``moment(at).isoformat()``, when the caller has it already."""
        rid = data.get("relationship_id")
        if kind == "PairingEnded":
            pairing = str(data.get("pairing_id") or "")
            rid = self._by_pairing.get(pairing)
            if rid is None:
                self._ended_early.setdefault(pairing, []).append((data, at))
                return None
        if not rid:
            return None
        facts = self.relationships.get(rid)
        if facts is None:
            facts = self.relationships[rid] = RelationshipFacts(rid)
        apply(facts, kind, data, at, at_s)
        if facts.pairing_id:
            self._by_pairing[facts.pairing_id] = rid
            for ended, when in self._ended_early.pop(facts.pairing_id, ()):
                apply(facts, "PairingEnded", ended, when)
        return facts


def fold(
    events: Iterable[tuple[str, JsonDict, Moment]],
) -> dict[str, RelationshipFacts]:
    """Every relationship's facts from (type, data, time) events."""
    folder = Folder()
    for kind, data, at in events:
        folder.add(kind, data, at)
    return folder.relationships


def _until(facts: RelationshipFacts, as_of: datetime) -> RelationshipFacts:
    """The facts that had happened by ``as_of`` (later ones dropped), for "as of"
    questions: each at its effective moment, whenever it was recorded (a session
    held in July and imported in December counts as of August). The cadence is the
    one agreed by then."""
    cut = moment(as_of)
    day = cut.date()
    in_force = [e for e in facts.in_force if moment(e[0]) <= cut]
    cadence_days = facts.cadence_days
    if facts.in_force:  # the version last in force by then, if any was
        version = in_force[-1][1] if in_force else None
        cadence_days = facts.cadences.get(version) if version else None
    return RelationshipFacts(
        relationship_id=facts.relationship_id,
        pairing_id=facts.pairing_id,
        mentor_id=facts.mentor_id,
        mentee_id=facts.mentee_id,
        cohort_id=facts.cohort_id,
        started_at=facts.started_at,
        concluded_at=facts.concluded_at
        if facts.concluded_at and moment(facts.concluded_at) <= cut
        else None,
        cadences=dict(facts.cadences),
        in_force_version=in_force[-1][1] if in_force else facts.in_force_version,
        cadence_days=cadence_days,
        sessions={k: v for k, v in facts.sessions.items() if _known(facts, k) <= cut},
        planned=dict(facts.planned),
        ratings=[r for r in facts.ratings if moment(r[0]) <= cut],
        check_ins=_held_by(facts.check_ins, day),
        escalations={
            k: [v[0], v[1] if v[1] and moment(v[1]) <= cut else None]
            for k, v in facts.escalations.items()
            if v[0] and moment(v[0]) <= cut
        },
        milestones_achieved={
            k: v for k, v in facts.milestones_achieved.items() if day_of(v) <= day
        },
        in_force=in_force,
        pauses=[
            [start, end if end is None or moment(end) <= cut else None]
            for start, end in facts.pauses
            if start is not None and moment(start) <= cut
        ],
    )


def _held_by(check_ins: list[str], day: date) -> list[str]:
    """The check-ins held by ``day``, in order: each distinct day read once (a
    relationship's check-ins are many, its days few)."""
    held = {c: _day_of_text(c) <= day for c in set(check_ins)}
    if all(held.values()):
        return list(check_ins)
    return [c for c in check_ins if held[c]]


def _planned(facts: RelationshipFacts, session_id: str) -> datetime | None:
    found = facts.planned.get(session_id)
    return moment(str(found[1])) if found else None


def _known(facts: RelationshipFacts, session_id: str) -> datetime:
    """When the session's outcome was known: held at ``held_at``; cancelled or missed
    at the earlier of its recording and its planned start."""
    outcome, at = facts.sessions[session_id]
    if outcome not in _UNHELD:
        return moment(at)
    return effective_at(
        _UNHELD[outcome], {}, moment(at), planned=_planned(facts, session_id)
    )


_UNHELD = {"cancelled": "SessionCancelled", "missed": "SessionMissed"}


def _placed(facts: RelationshipFacts, session_id: str) -> datetime:
    """Where the session stands in the sequence of sessions: held at ``held_at``,
    cancelled or missed at its planned start (its recording when unknown)."""
    outcome, at = facts.sessions[session_id]
    planned = _planned(facts, session_id)
    if outcome in ("cancelled", "missed") and planned is not None:
        return planned
    return moment(at)


def streak_of(facts: RelationshipFacts) -> int:
    """Cancelled or missed sessions placed after the last held one (see above)."""
    placed = [(_placed(facts, k), v[0]) for k, v in facts.sessions.items()]
    held = [at for at, outcome in placed if outcome == "held"]
    last_held = max(held, default=None)
    return sum(
        1
        for at, outcome in placed
        if outcome in ("cancelled", "missed") and (last_held is None or at > last_held)
    )


def assess(facts: RelationshipFacts, as_of: datetime, *, idle_days: int = 45) -> Health:
    """The relationship's health at ``as_of`` with the reasons that decided it."""
    f = _until(facts, as_of)
    today = moment(as_of).date()
    cadence = f.cadence_days or DEFAULT_CADENCE_DAYS
    start = day_of(f.started_at) if f.started_at else None
    outcomes = sorted((moment(at), outcome) for outcome, at in f.sessions.values())
    held = [at for at, outcome in outcomes if outcome == "held"]
    last_held = held[-1] if held else None
    since = last_held.date() if last_held else start
    gap = (today - since).days if since else None
    streak = streak_of(f)

    def health(state: HealthState, reasons: list[str]) -> Health:
        idle = state != HealthState.CONCLUDED and gap is not None and gap >= idle_days
        if idle:
            reasons = [*reasons, f"idle_for_{gap}_days"]
        return Health(
            f.relationship_id, state, reasons, idle, gap, streak, today.isoformat()
        )

    if f.concluded_at:
        return health(HealthState.CONCLUDED, ["concluded"])
    at_risk: list[str] = []
    if gap is not None and gap > 2 * cadence:
        at_risk.append(f"no_session_for_{gap}_days")
    if streak >= 2:
        at_risk.append(f"cancellation_streak_{streak}")
    open_escalations = sum(1 for _raised, ended in f.escalations.values() if not ended)
    if open_escalations:
        at_risk.append(f"open_escalations_{open_escalations}")
    if at_risk:
        return health(HealthState.AT_RISK, at_risk)
    age = (today - start).days if start else 0
    if age < TOO_EARLY_DAYS:
        return health(HealthState.TOO_EARLY, [f"started_{age}_days_ago"])
    needs: list[str] = []
    if gap is not None and gap > 1.5 * cadence:
        needs.append(f"no_session_for_{gap}_days")
    window = min(ADHERENCE_WINDOW_DAYS, age)
    expected = window // cadence
    if expected:
        recent = sum(1 for at in held if (today - at.date()).days <= window)
        pct = round(100 * recent / expected)
        if pct < 50:
            needs.append(f"cadence_adherence_{pct}_pct")
    ratings = [r[1] for r in sorted(f.ratings, key=lambda r: moment(r[0]))]
    if len(ratings) >= 4:
        before, last = sum(ratings[-4:-2]) / 2, sum(ratings[-2:]) / 2
        if before - last >= 1.0:
            needs.append(f"ratings_fell_from_{before:g}_to_{last:g}")
    check_since = max((day_of(c) for c in f.check_ins), default=start)
    if check_since and (today - check_since).days > CHECK_IN_DAYS:
        needs.append(f"no_check_in_for_{(today - check_since).days}_days")
    if needs:
        return health(HealthState.NEEDS_CHECK_IN, needs)
    return health(HealthState.ON_TRACK, [])


def worsened(previous: str | None, current: str) -> bool:
    """True when ``current`` is a worse state than ``previous`` (a warning is due)."""
    return RANK.get(current, 0) > RANK.get(previous or "on_track", 0)


# -- mentor impact -------------------------------------------------------------


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """``2027Q1`` → (first day, last day) of the quarter; ValueError if malformed."""
    year_s, _, q_s = quarter.upper().partition("Q")
    year, q = int(year_s), int(q_s)
    if not 1 <= q <= 4 or len(year_s) != 4:
        raise ValueError(quarter)
    first = date(year, 3 * q - 2, 1)
    after = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return first, after - timedelta(days=1)


@dataclass(frozen=True)
class Impact:
    mentor_id: str
    quarter: str
    mentees: list[str]
    sessions_held: int
    sessions_expected: int
    milestones_achieved: int
    mean_rating: float | None
    ratings: int
    recognitions: int
    mentor_status: MentorStatus = MentorStatus.ACTIVE
    active_days: int = 0


@dataclass(frozen=True)
class MentorActivity:
    """Whether the mentor took part, from their person facts (``mentor_activity``):
    the days they were away and what they were as of the report's last day."""

    away: list[tuple[date, date | None]]  # [first day away, first day back)
    status: MentorStatus


def mentor_activity(
    mentor_id: str,
    events: Iterable[tuple[str, JsonDict, Moment]],
    on: date,
    *,
    erased: bool = False,
) -> MentorActivity:
    """The mentor's spans away and status as of ``on``.

    Away: from the effective day of a ``PersonDeactivated`` (deprovisioned,
    inactive, left: its ``deactivated_on`` when it names one, else the day it was
    recorded) to that of the next ``PersonReactivated`` (exclusive), and from the
    ``effective_on`` of a ``departure`` outcome onwards. Status as of ``on``:
    ``erased`` when insights erased them, else ``departed`` after a departure, else
    ``deactivated`` while deactivated, else ``active``.
    """
    changes: list[tuple[date, bool]] = []  # (day, away from then on)
    departed: date | None = None
    for kind, data, at in events:
        if data.get("person_id") != mentor_id:
            continue
        if kind == "PersonDeactivated":
            changes.append((effective_day(kind, data, moment(at)), True))
        elif kind == "PersonReactivated":
            changes.append((effective_day(kind, data, moment(at)), False))
        elif kind == "CareerOutcomeRecorded" and data.get("kind") == "departure":
            left = day_of(str(data["effective_on"]))
            departed = left if departed is None else min(departed, left)
    away: list[tuple[date, date | None]] = []
    since: date | None = None
    for when, is_away in sorted(changes, key=lambda c: (c[0], not c[1])):
        if is_away and since is None:
            since = when
        elif not is_away and since is not None:
            if when > since:
                away.append((since, when))
            since = None
    if since is not None:
        away.append((since, None))
    if departed is not None:
        away.append((departed, None))
    if erased:
        status = MentorStatus.ERASED
    elif departed is not None and departed <= on:
        status = MentorStatus.DEPARTED
    elif any(a <= on and (b is None or on < b) for a, b in away):
        status = MentorStatus.DEACTIVATED
    else:
        status = MentorStatus.ACTIVE
    return MentorActivity(away, status)


def cadence_on(facts: RelationshipFacts, on: date) -> int:
    """The agreed cadence (days) on a day: that of the contract version last in
    force by then; ``DEFAULT_CADENCE_DAYS`` before any was (or, for facts kept
    without the history of versions in force, the version in force now)."""
    if not facts.in_force:
        return facts.cadence_days or DEFAULT_CADENCE_DAYS
    version = None
    for since, v in facts.in_force:
        if day_of(since) <= on:
            version = v
    cadence = facts.cadences.get(version or "") if version else None
    return cadence or DEFAULT_CADENCE_DAYS


def _paused(facts: RelationshipFacts, on: date) -> bool:
    """Paused on that day: from the pause's day to the day it ended (exclusive)."""
    return any(
        day_of(str(start)) <= on and (end is None or on < day_of(str(end)))
        for start, end in facts.pauses
    )


def active_days(
    facts: RelationshipFacts,
    first: date,
    last: date,
    away: Iterable[tuple[date, date | None]] = (),
) -> list[date]:
    """The days from ``first`` to ``last`` the relationship was active: started,
    not concluded (its conclusion day counts), not paused, its mentor not away."""
    if not facts.started_at:
        return []
    spans = list(away)
    begin = max(first, day_of(facts.started_at))
    end = min(last, day_of(facts.concluded_at)) if facts.concluded_at else last
    out = []
    on = begin
    while on <= end:
        if not _paused(facts, on) and not any(
            a <= on and (b is None or on < b) for a, b in spans
        ):
            out.append(on)
        on += timedelta(days=1)
    return out


def impact(
    mentor_id: str,
    quarter: str,
    relationships: list[RelationshipFacts],
    *,
    as_of: date | None = None,
    activity: MentorActivity | None = None,
) -> Impact:
    """A mentor's quarter: mentees, sessions held vs the contracts' cadence, outcomes.

    Expected sessions, per relationship: over the days it was active in the quarter
    up to ``as_of`` (started, not concluded, not paused, the mentor not away:
    ``active_days``), each day counts 1 / the cadence agreed that day
    (``cadence_on``); the sum is rounded down. A 14-day cadence over a whole
    90-day quarter expects 6; one that moved from 14 to 7 days after 28 days
    expects 28/14 + 62/7 = 10.86 → 10. The mentor's total is the sum over their
    relationships. Days after ``as_of`` (the rest of the current quarter) expect
    nothing yet. ``active_days`` is the number of distinct days any of their
    relationships was active.

    An inactive mentor (deactivated or deprovisioned, departed, erased) is marked
    (``mentor_status``), not left out: the days they were away expect nothing, and
    an erased mentor's report is empty (their relationships were handed to a
    pseudonym). Ratings are those the mentees gave within the quarter;
    recognitions are the milestones their mentees achieved within it.
    """
    first, last = quarter_bounds(quarter)
    if as_of is not None:
        last = min(last, as_of)
    activity = activity or MentorActivity([], MentorStatus.ACTIVE)
    mentees: set[str] = set()
    held = expected = achieved = 0
    days: set[date] = set()
    ratings: list[int] = []
    if activity.status == MentorStatus.ERASED:
        relationships = []
    for f in relationships:
        if f.mentor_id != mentor_id or not f.started_at:
            continue
        live_from = max(first, day_of(f.started_at))
        live_to = min(last, day_of(f.concluded_at)) if f.concluded_at else last
        if live_to < live_from:
            continue
        if f.mentee_id:
            mentees.add(f.mentee_id)
        active = active_days(f, first, last, activity.away)
        days.update(active)
        expected += math.floor(sum(Fraction(1, cadence_on(f, d)) for d in active))
        held += sum(
            1
            for outcome, at in f.sessions.values()
            if outcome == "held" and first <= day_of(at) <= last
        )
        achieved += sum(
            1 for on in f.milestones_achieved.values() if first <= day_of(on) <= last
        )
        ratings += [
            int(r[1])
            for r in f.ratings
            if r[2] == "mentee" and first <= day_of(r[0]) <= last
        ]
    return Impact(
        mentor_id=mentor_id,
        quarter=quarter.upper(),
        mentees=sorted(mentees),
        sessions_held=held,
        sessions_expected=expected,
        milestones_achieved=achieved,
        mean_rating=round(sum(ratings) / len(ratings), 2) if ratings else None,
        ratings=len(ratings),
        recognitions=achieved,
        mentor_status=activity.status,
        active_days=len(days),
    )

"""The time-based rules: what the sweep tells whom as time passes, decided as of ``now``.

Per tenant, with defaults (a coordinator edits them): a relationship with no sign of
life (a session held, its start, or an answer to a warning) for ``inactive_days`` →
a warning to the pair; unanswered for ``notice_days`` → closed as inactive. A session
within ``session_reminder_hours`` → both; a milestone due within
``milestone_due_days`` → the mentee; a missed cadence (no session for the agreed
interval plus ``cadence_grace_days``) → a nudge to the pair; a match-quality pulse at
``pulse_first_days`` then every ``pulse_every_days`` → both; an early warning still
raised after ``warning_persists_days`` → the programme's coordinators; a council's
recommendation not decided within ``recommendation_decision_days`` → those who decide
it (the council's sponsors and the programme's coordinators, as advisors has it).

Each decision names its occurrence (``Due.key``): the notice of one (rule,
subject, occurrence) is kept once whatever the number of sweeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from contracts.notifications import NotificationKind as Kind


@dataclass(frozen=True)
class Rules:
    """A tenant's rules (days unless named otherwise); 0 turns a rule off."""

    inactive_days: int = 30
    notice_days: int = 7
    session_reminder_hours: int = 24
    milestone_due_days: int = 7
    cadence_grace_days: int = 3
    pulse_first_days: int = 30
    pulse_every_days: int = 60
    warning_persists_days: int = 7
    recommendation_decision_days: int = 7

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def of(cls, stored: Mapping[str, object]) -> Rules:
        """From what was stored (keys it no longer knows ignored)."""
        known = {
            k: int(str(v)) for k, v in stored.items() if k in cls.__dataclass_fields__
        }
        return cls(**known)


@dataclass(frozen=True)
class Due:
    """One notice the sweep owes: ``key`` names its (rule, subject, occurrence)."""

    kind: Kind
    key: str
    recipients: tuple[str, ...]
    subject_id: str
    facts: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Relationship:
    """What the sweep keeps of one relationship (``notification_schedule``)."""

    relationship_id: str
    mentor_id: str
    mentee_id: str
    started_at: datetime
    last_held_at: datetime | None = None
    answered_at: datetime | None = None
    cadence_days: int | None = None
    state: str = "active"  # active, paused, concluded, closed
    warned_at: datetime | None = None
    warned_for: datetime | None = None  # the sign of life the warning was about

    @property
    def pair(self) -> tuple[str, str]:
        return (self.mentor_id, self.mentee_id)

    @property
    def last_activity(self) -> datetime:
        """The latest sign of life: the start, a session held, an answer."""
        return max(
            t
            for t in (self.started_at, self.last_held_at, self.answered_at)
            if t is not None
        )

    @property
    def warning_pending(self) -> bool:
        return self.warned_at is not None and self.warned_for == self.last_activity


def _iso(moment: datetime) -> str:
    return moment.isoformat()


@dataclass(frozen=True)
class Inactivity:
    """What the inactivity rule does to one relationship now."""

    warn: Due | None = None
    close: bool = False
    cancelled: bool = False  # a warning was answered (or a session held) since


def inactivity(rel: Relationship, rules: Rules, now: datetime) -> Inactivity:
    """Warn after ``inactive_days`` quiet; close ``notice_days`` after an unanswered
    warning; a sign of life since the warning cancels it."""
    if rel.state != "active" or rules.inactive_days <= 0:
        return Inactivity()
    if rel.warned_at is not None and not rel.warning_pending:
        return Inactivity(cancelled=True)
    if rel.warning_pending:
        assert rel.warned_at is not None
        if now >= rel.warned_at + timedelta(days=rules.notice_days):
            return Inactivity(close=True)
        return Inactivity()
    since = rel.last_activity
    if now < since + timedelta(days=rules.inactive_days):
        return Inactivity()
    closes = now + timedelta(days=rules.notice_days)
    return Inactivity(
        warn=Due(
            Kind.INACTIVITY_WARNING,
            f"inactivity_warning:{rel.relationship_id}:{_iso(since)}",
            rel.pair,
            rel.relationship_id,
            {
                "relationship_id": rel.relationship_id,
                "inactive_since": _iso(since),
                "closes_after": _iso(closes),
            },
        )
    )


def closed(rel: Relationship) -> Due:
    """The pair is told their relationship was closed as inactive."""
    return Due(
        Kind.RELATIONSHIP_CLOSED,
        f"relationship_closed:{rel.relationship_id}",
        rel.pair,
        rel.relationship_id,
        {"relationship_id": rel.relationship_id, "reason": "inactive"},
    )


def cadence_missed(rel: Relationship, rules: Rules, now: datetime) -> Due | None:
    """No session within the agreed interval (plus grace) since the last one."""
    if rel.state != "active" or not rel.cadence_days or rules.cadence_grace_days < 0:
        return None
    since = max(t for t in (rel.started_at, rel.last_held_at) if t is not None)
    if now < since + timedelta(days=rel.cadence_days + rules.cadence_grace_days):
        return None
    return Due(
        Kind.CADENCE_MISSED,
        f"cadence_missed:{rel.relationship_id}:{_iso(since)}",
        rel.pair,
        rel.relationship_id,
        {
            "relationship_id": rel.relationship_id,
            "every_days": str(rel.cadence_days),
            "last_session_at": _iso(since),
        },
    )


def pulse(rel: Relationship, rules: Rules, now: datetime) -> Due | None:
    """The match-quality pulse due latest: at ``pulse_first_days``, then every
    ``pulse_every_days`` (only the latest occurrence, none made up for)."""
    if rel.state != "active" or rules.pulse_first_days <= 0:
        return None
    first = rel.started_at + timedelta(days=rules.pulse_first_days)
    if now < first:
        return None
    every = rules.pulse_every_days
    n = 0 if every <= 0 else (now - first) // timedelta(days=every)
    return Due(
        Kind.MATCH_PULSE,
        f"match_pulse:{rel.relationship_id}:{n}",
        rel.pair,
        rel.relationship_id,
        {"relationship_id": rel.relationship_id, "occurrence": str(n + 1)},
    )


def session_tomorrow(
    session_id: str,
    relationship_id: str,
    starts_at: datetime,
    pair: tuple[str, str],
    rules: Rules,
    now: datetime,
) -> Due | None:
    """A session starting within the reminder window → both (once per start)."""
    if rules.session_reminder_hours <= 0:
        return None
    if not now < starts_at <= now + timedelta(hours=rules.session_reminder_hours):
        return None
    return Due(
        Kind.SESSION_TOMORROW,
        f"session_tomorrow:{session_id}:{_iso(starts_at)}",
        pair,
        session_id,
        {
            "session_id": session_id,
            "relationship_id": relationship_id,
            "starts_at": _iso(starts_at),
        },
    )


def milestone_due(
    milestone_id: str,
    relationship_id: str,
    mentee_id: str,
    due_on: date,
    rules: Rules,
    now: datetime,
) -> Due | None:
    """An open milestone due within ``milestone_due_days`` → the mentee (once)."""
    if rules.milestone_due_days <= 0:
        return None
    today = now.date()
    if not due_on - timedelta(days=rules.milestone_due_days) <= today <= due_on:
        return None
    return Due(
        Kind.MILESTONE_DUE,
        f"milestone_due:{milestone_id}:{due_on.isoformat()}",
        (mentee_id,),
        milestone_id,
        {
            "milestone_id": milestone_id,
            "relationship_id": relationship_id,
            "due_on": due_on.isoformat(),
        },
    )


def warning_persists(
    relationship_id: str,
    raised_at: datetime,
    coordinators: tuple[str, ...],
    rules: Rules,
    now: datetime,
) -> Due | None:
    """An early warning still raised ``warning_persists_days`` later → coordinators."""
    if rules.warning_persists_days <= 0 or not coordinators:
        return None
    if now < raised_at + timedelta(days=rules.warning_persists_days):
        return None
    return Due(
        Kind.WARNING_PERSISTS,
        f"warning_persists:{relationship_id}:{_iso(raised_at)}",
        coordinators,
        relationship_id,
        {"relationship_id": relationship_id, "raised_at": _iso(raised_at)},
    )


def recommendation_awaiting(
    recommendation_id: str,
    council_id: str,
    made_at: datetime,
    deciders: tuple[str, ...],
    rules: Rules,
    now: datetime,
) -> Due | None:
    """A council's recommendation still undecided ``recommendation_decision_days``
    after it was made → whoever decides it (once per recommendation)."""
    if rules.recommendation_decision_days <= 0 or not deciders:
        return None
    if now < made_at + timedelta(days=rules.recommendation_decision_days):
        return None
    return Due(
        Kind.RECOMMENDATION_AWAITING,
        f"recommendation_awaiting:{recommendation_id}",
        deciders,
        recommendation_id,
        {
            "recommendation_id": recommendation_id,
            "council_id": council_id,
            "made_at": _iso(made_at),
        },
    )

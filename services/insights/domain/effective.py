"""When a fact happened in the world (its effective moment), beside when it was
recorded.

A programme's history is often recorded long after it happened (an import of last
year's programme, a session logged a week late). Every "as of" figure, quarter and
history of insights places a fact at its effective moment, never at its recording:

- the first field of ``FIELDS[type]`` the event carries; a date means the start of
  that day (UTC), a date-time that moment;
- ``EARLIEST_OF`` types: the earlier of that date and the recording (a pairing
  confirmed today to start next month was confirmed today; one imported today that
  started last spring was confirmed by then; a person hired in 2019 and registered
  today was there in 2019; a cohort whose pathway began last year existed then);
- ``PLANNED`` types (a session cancelled or missed): the session's planned start
  (``starts_at``; the caller passes it as ``planned`` when the event does not carry
  it, insights keeps each session's plan), or the recording when that is earlier (a
  session cancelled a week ahead was cancelled then);
- any other fact: when it was recorded.

Names that another version of an event may carry (``ended_on`` on ``PairingEnded``,
``paused_on`` on ``RelationshipPaused``, ``deactivated_on`` on ``PersonDeactivated``)
are read when present, so events recorded before the field existed keep their
recording as their date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from chassis.events import JsonDict

# The field(s) that date each kind of fact in the world, first present wins.
FIELDS: dict[str, tuple[str, ...]] = {
    "RelationshipStarted": ("starts_on",),
    "ContractInForce": ("signed_on",),
    "RelationshipPaused": ("paused_on", "effective_on"),
    "RelationshipResumed": ("resumed_on", "effective_on"),
    "RelationshipConcluded": ("concluded_on", "ended_on", "effective_on"),
    "PairingEnded": ("ended_on", "effective_on"),
    "SessionHeld": ("held_at",),
    "MilestoneSet": ("set_on",),
    "MilestoneAchieved": ("achieved_on",),
    "FeedbackGiven": ("given_at",),
    "CheckInRecorded": ("held_on",),
    "CareerOutcomeRecorded": ("effective_on",),
    "ParticipantAdmitted": ("admitted_on",),
    "IntakeSubmitted": ("assessed_on",),
    "PersonDeactivated": ("deactivated_on", "effective_on"),
    "PersonReactivated": ("reactivated_on", "effective_on"),
}
# Facts dated by a day that may lie ahead of their recording, while the fact itself
# happened when it was recorded: the earlier of the two.
EARLIEST_OF = frozenset({"PairingConfirmed", "PersonRegistered", "CohortCreated"})
# Facts about a planned session, dated by its planned start (``planned``).
PLANNED = frozenset({"SessionCancelled", "SessionMissed"})
# Every field any event dates itself by (history being written: ``backdated``).
DATE_FIELDS = tuple(
    dict.fromkeys(
        [f for names in FIELDS.values() for f in names] + ["starts_on", "set_on"]
    )
)


def as_moment(value: object) -> datetime | None:
    """A date (start of its day, UTC) or date-time (naive = UTC) as an aware moment;
    None when it is neither."""
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=UTC)
    elif isinstance(value, str) and value:
        try:
            if len(value) == 10:
                return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
            at = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _dated(kind: str, data: JsonDict) -> datetime | None:
    """The date the event itself names for when it happened, if any."""
    for name in FIELDS.get(kind, ()):
        found = as_moment(data.get(name))
        if found is not None:
            return found
    if kind == "PairingConfirmed":
        return as_moment(data.get("starts_on"))
    if kind == "PersonRegistered":  # hire year and month (YYYY-MM)
        tenure = str(data.get("tenure_start") or "")
        return as_moment(f"{tenure}-01") if len(tenure) == 7 else None
    if kind == "CohortCreated":  # the pathway's first day
        starts = [as_moment(p.get("starts_on")) for p in data.get("pathway") or ()]
        return min((s for s in starts if s is not None), default=None)
    return None


def effective_at(
    kind: str,
    data: JsonDict,
    recorded: datetime,
    *,
    planned: datetime | str | None = None,
) -> datetime:
    """When the fact happened (see the module's rules); ``recorded`` when the event
    names no day of its own. ``planned``: the planned start of the session a
    ``PLANNED`` fact is about, when the event does not say."""
    recorded = recorded if recorded.tzinfo else recorded.replace(tzinfo=UTC)
    if kind in PLANNED:
        dated = as_moment(data.get("starts_at")) or as_moment(planned)
        return recorded if dated is None else min(dated, recorded)
    dated = _dated(kind, data)
    if dated is None:
        return recorded
    if kind in EARLIEST_OF:
        return min(dated, recorded)
    return dated


def effective_day(
    kind: str,
    data: JsonDict,
    recorded: datetime,
    *,
    planned: datetime | str | None = None,
) -> date:
    """The UTC day the fact happened."""
    return effective_at(kind, data, recorded, planned=planned).astimezone(UTC).date()

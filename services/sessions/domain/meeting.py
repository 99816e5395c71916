"""A mentoring session: scheduled under a contract in force, rescheduled, held,
cancelled or missed; plus the pure rules around it (availability, free slots,
cadence adherence)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chassis.aggregate import Aggregate
from chassis.errors import Conflict, DomainError, Forbidden
from contracts.sessions import meetings as m
from services.sessions.domain.events import registry
from services.sessions.domain.relationship import (
    ACTIVE,
    InvalidTransition,
    Relationship,
    require_not_before,
)

SCHEDULED, HELD, CANCELLED, MISSED = (
    m.SessionState.SCHEDULED,
    m.SessionState.HELD,
    m.SessionState.CANCELLED,
    m.SessionState.MISSED,
)
BLOCKING = (SCHEDULED, HELD)  # states that keep a slot taken


@registry.override
class SessionScheduled(m.SessionScheduled):
    agenda_text_id: str | None = None


@registry.override
class SessionAgendaSet(m.SessionAgendaSet):
    agenda_text_id: str | None = None


@registry.override
class SessionCancelled(m.SessionCancelled):
    reason_text_id: str | None = None  # the explanation, kept private


class DoubleBooked(Conflict):
    code = "DoubleBooked"
    title = "One of the people already has a session at that time"


class OutsideAvailability(DomainError):
    code = "OutsideAvailability"
    title = "The time is outside someone's availability windows"


class SessionClosed(DomainError):
    code = "SessionClosed"
    title = "The session is no longer scheduled"


class NotYetDue(DomainError):
    code = "NotYetDue"
    title = "The session has not started yet"


class NotInSession(DomainError):
    code = "NotInSession"
    title = "Only the mentor and the mentee can be absent from their session"


class NotAllowed(Forbidden):
    code = "NotAllowed"
    title = "Only the pair or a coordinator may change this session"


@dataclass(frozen=True)
class Booking:
    """A slot someone already holds (from the sessions table)."""

    session_id: str
    starts_at: datetime
    ends_at: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.starts_at < end and start < self.ends_at


@dataclass(frozen=True)
class Window:
    weekday: int  # 0 = Monday
    start_minute: int
    end_minute: int  # up to 1440


DEFAULT_WINDOWS = tuple(Window(d, 8 * 60, 18 * 60) for d in range(5))


def _minute(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class WindowSpec(TypedDict):
    """A window as profiles publishes it: weekday 0-6 (Monday 0), ``HH:MM`` times."""

    weekday: int
    start: str
    end: str


@dataclass(frozen=True)
class Availability:
    """When a person can meet, in their own time zone (weekdays 08-18 if unstated)."""

    time_zone: str = "UTC"
    windows: tuple[Window, ...] = ()

    @classmethod
    def of(cls, time_zone: str | None, windows: Iterable[WindowSpec]) -> Availability:
        return cls(
            time_zone or "UTC",
            tuple(
                Window(w["weekday"], _minute(w["start"]), _minute(w["end"]))
                for w in windows
            ),
        )

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def admits(self, start: datetime, end: datetime) -> bool:
        local_start, local_end = start.astimezone(self.zone), end.astimezone(self.zone)
        first = local_start.hour * 60 + local_start.minute
        if local_end.date() == local_start.date():
            last = local_end.hour * 60 + local_end.minute
        elif local_end.date() == local_start.date() + timedelta(days=1) and (
            local_end.time() == time(0)
        ):
            last = 24 * 60
        else:
            return False
        return any(
            w.weekday == local_start.weekday()
            and w.start_minute <= first
            and last <= w.end_minute
            for w in (self.windows or DEFAULT_WINDOWS)
        )


def suggest_slots(
    people: Sequence[Availability],
    busy: Sequence[Booking],
    *,
    minutes: int,
    after: datetime,
    count: int,
    step_minutes: int = 15,
    horizon_days: int = 28,
) -> list[datetime]:
    """The next ``count`` starts inside everyone's windows that clash with no booking."""
    step = timedelta(minutes=step_minutes)
    after = after.astimezone(UTC)
    base = after.replace(second=0, microsecond=0)
    candidate = base + timedelta(minutes=-base.minute % step_minutes)
    if candidate < after:
        candidate += step
    length, limit = timedelta(minutes=minutes), after + timedelta(days=horizon_days)
    found: list[datetime] = []
    while candidate < limit and len(found) < count:
        end = candidate + length
        if all(p.admits(candidate, end) for p in people) and not any(
            b.overlaps(candidate, end) for b in busy
        ):
            found.append(candidate)
            candidate = end  # suggestions do not overlap each other
        else:
            candidate += step
    return found


class Adherence(TypedDict):
    """What :func:`cadence_adherence` finds (``as_of`` as ``YYYY-MM-DD``)."""

    as_of: str
    every_days: int
    days_elapsed: int
    expected: int
    held: int
    adherence: float | None
    on_track: bool
    days_since_last_held: int | None


def cadence_adherence(
    *, starts_on: date, every_days: int, held: Sequence[datetime], as_of: date
) -> Adherence:
    """How well the pair keeps the contract's rhythm, as of a day.

    One session is expected per *completed* period of ``every_days`` days since the
    relationship started (so nothing is expected in the first period):
    ``expected = max(0, as_of - starts_on).days // every_days``. ``held`` counts
    sessions held on or before ``as_of``; ``adherence = min(1, held / expected)``
    (``None`` while nothing is expected yet); ``on_track`` is ``held >= expected``;
    ``days_since_last_held`` counts from the last held session to ``as_of`` (``None``
    if none was held). Paused periods are not subtracted.
    """
    elapsed = max(0, (as_of - starts_on).days)
    expected = elapsed // every_days
    counted = sorted(h for h in held if h.date() <= as_of)
    return {
        "as_of": as_of.isoformat(),
        "every_days": every_days,
        "days_elapsed": elapsed,
        "expected": expected,
        "held": len(counted),
        "adherence": round(min(1.0, len(counted) / expected), 3) if expected else None,
        "on_track": len(counted) >= expected,
        "days_since_last_held": (as_of - counted[-1].date()).days if counted else None,
    }


class Session(Aggregate):
    def initial_state(self) -> None:
        self.relationship_id = ""
        self.state = SCHEDULED
        self.starts_at = datetime.min.replace(tzinfo=UTC)
        self.minutes = 0
        self.sequence = 0

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)

    @staticmethod
    def _check_slot(
        relationship: Relationship,
        start: datetime,
        minutes: int,
        busy: Sequence[Booking],
        availability: Sequence[Availability] | None,
        session_id: str,
    ) -> None:
        relationship.require_contract()
        if relationship.state != ACTIVE:
            raise InvalidTransition(
                f"relationship {relationship.id} is {relationship.state}"
            )
        end = start + timedelta(minutes=minutes)
        clashes = [
            b for b in busy if b.session_id != session_id and b.overlaps(start, end)
        ]
        if clashes:
            raise DoubleBooked(
                "the mentor or the mentee already has a session at that time",
                clashing_session_ids=[b.session_id for b in clashes],
            )
        if availability is not None and not all(
            a.admits(start, end) for a in availability
        ):
            raise OutsideAvailability(
                "outside the availability windows of the mentor or the mentee "
                "(send outside_availability=true if both agreed to it)"
            )

    @classmethod
    def schedule(
        cls,
        relationship: Relationship,
        *,
        session_id: str,
        by: str,
        starts_at: datetime,
        minutes: int,
        format: m.SessionFormat,
        busy: Sequence[Booking],
        availability: Sequence[Availability] | None,
        agenda_text_id: str | None = None,
    ) -> Session:
        """A session of a relationship whose contract is in force, in a free slot."""
        start = starts_at.astimezone(UTC)
        cls._check_slot(relationship, start, minutes, busy, availability, session_id)
        session = cls(session_id, relationship.tenant)
        session.initial_state()
        session._record(
            SessionScheduled(
                session_id=session_id,
                relationship_id=relationship.id,
                starts_at=start,
                minutes=minutes,
                format=format,
                scheduled_by=by,
                agenda_text_id=agenda_text_id,
            )
        )
        return session

    @classmethod
    def record_past(
        cls,
        relationship: Relationship,
        *,
        session_id: str,
        by: str,
        starts_at: datetime,
        minutes: int,
        outcome: m.SessionState,
        now: datetime,
        absent_ids: Sequence[str] = (),
        reason_code: m.CancellationReason = m.CancellationReason.OTHER,
    ) -> Session:
        """A session that took place (or was cancelled, or missed) before it was
        recorded (a programme's history, ``by`` a coordinator): it started by
        ``now``, not before the relationship started, under a contract in force. It
        is scheduled and closed at once; the relationship may have concluded since,
        and no one's availability or calendar is consulted: it is the past."""
        start = starts_at.astimezone(UTC)
        if start > now:
            raise NotYetDue(
                f"starts_at {start.isoformat()} is in the future", field="starts_at"
            )
        require_not_before(
            start.date(), relationship.starts_on, "a session", "starts_at"
        )
        relationship.require_contract()
        if outcome == MISSED:
            strangers = set(absent_ids) - set(relationship.parties)
            if strangers or not absent_ids:
                raise NotInSession(
                    "absent_ids must name the mentor and/or the mentee",
                    field="absent",
                )
        elif outcome not in (HELD, CANCELLED):
            raise SessionClosed(
                f"a past session is held, cancelled or missed, not {outcome}"
            )
        session = cls(session_id, relationship.tenant)
        session.initial_state()
        session._record(
            SessionScheduled(
                session_id=session_id,
                relationship_id=relationship.id,
                starts_at=start,
                minutes=minutes,
                format=m.SessionFormat.ONE_TO_ONE,
                scheduled_by=by,
            )
        )
        if outcome == HELD:
            session.hold(
                by, now=now, held_at=start, minutes=minutes,
                started_on=relationship.starts_on,
            )  # fmt: skip
        elif outcome == CANCELLED:
            session.cancel(by, reason_code, None)
        else:
            session.miss(by, list(absent_ids), relationship.parties, now)
        return session

    def _require_scheduled(self) -> None:
        if self.state != SCHEDULED:
            raise SessionClosed(f"session {self.id} is {self.state}")

    def reschedule(
        self,
        relationship: Relationship,
        *,
        by: str,
        starts_at: datetime,
        minutes: int,
        busy: Sequence[Booking],
        availability: Sequence[Availability] | None,
    ) -> None:
        self._require_scheduled()
        start = starts_at.astimezone(UTC)
        self._check_slot(relationship, start, minutes, busy, availability, self.id)
        self._record(
            m.SessionRescheduled(
                session_id=self.id,
                relationship_id=self.relationship_id,
                starts_at=start,
                minutes=minutes,
                rescheduled_by=by,
                sequence=self.sequence + 1,
            )
        )

    def set_agenda(self, by: str, agenda_text_id: str) -> None:
        self._require_scheduled()
        self._record(
            SessionAgendaSet(
                session_id=self.id,
                relationship_id=self.relationship_id,
                set_by=by,
                agenda_text_id=agenda_text_id,
            )
        )

    def cancel(
        self, by: str, reason_code: m.CancellationReason, reason_text_id: str | None
    ) -> None:
        self._require_scheduled()
        self._record(
            SessionCancelled(
                session_id=self.id,
                relationship_id=self.relationship_id,
                cancelled_by=by,
                reason_code=reason_code,
                sequence=self.sequence + 1,
                reason_text_id=reason_text_id,
            )
        )

    def hold(
        self,
        by: str,
        *,
        now: datetime,
        held_at: datetime | None,
        minutes: int | None,
        started_on: date,
    ) -> None:
        """A session is recorded as held once it has started, never in the future.

        ``held_at`` is when it took place (its effective time, defaulting to the
        planned start): it may be long before it is recorded, but not after
        ``now`` and not before the relationship started (``started_on``, a UTC day).
        """
        self._require_scheduled()
        if held_at is not None and held_at > now:
            raise NotYetDue(
                f"held_at {held_at.isoformat()} is in the future", field="held_at"
            )
        if now < self.starts_at:
            raise NotYetDue(f"session {self.id} starts at {self.starts_at.isoformat()}")
        when = (held_at or self.starts_at).astimezone(UTC)
        require_not_before(when.date(), started_on, "a session held", "held_at")
        self._record(
            m.SessionHeld(
                session_id=self.id,
                relationship_id=self.relationship_id,
                held_at=when,
                minutes=minutes or self.minutes,
                recorded_by=by,
            )
        )

    def miss(
        self, by: str, absent_ids: list[str], parties: Sequence[str], now: datetime
    ) -> None:
        self._require_scheduled()
        if now < self.starts_at:
            raise NotYetDue(f"session {self.id} starts at {self.starts_at.isoformat()}")
        strangers = set(absent_ids) - set(parties)
        if strangers or not absent_ids:
            raise NotInSession("absent_ids must name the mentor and/or the mentee")
        self._record(
            m.SessionMissed(
                session_id=self.id,
                relationship_id=self.relationship_id,
                absent_ids=sorted(set(absent_ids)),
                reported_by=by,
            )
        )

    # -- state ----------------------------------------------------------------------

    def when_SessionScheduled(self, e: m.SessionScheduled) -> None:
        self.relationship_id = e.relationship_id
        self.starts_at, self.minutes, self.sequence = e.starts_at, e.minutes, e.sequence

    def when_SessionRescheduled(self, e: m.SessionRescheduled) -> None:
        self.starts_at, self.minutes, self.sequence = e.starts_at, e.minutes, e.sequence

    def when_SessionHeld(self, _e: m.SessionHeld) -> None:
        self.state = HELD

    def when_SessionCancelled(self, e: m.SessionCancelled) -> None:
        self.state, self.sequence = CANCELLED, e.sequence

    def when_SessionMissed(self, _e: m.SessionMissed) -> None:
        self.state = MISSED

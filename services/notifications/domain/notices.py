"""Who is told what: an integration event becomes one notice per recipient.

A notice carries ids, moments and closed codes only. What it may say is what its
recipient may read through the API anyway: their own pairing, their own
relationship's sessions, that their relationship looks quiet. It never carries a
score's explanation, a reason a person typed, a note, feedback or a demographic, and
an early warning's reasons stay with the coordinators who read insights' reports.

A programme's history tells nobody (``from_history``): what an import records
happened long ago, and its people did not ask to hear of it again, nor do
integrators (docs/webhooks.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from chassis.events import utcnow
from contracts import insights as i
from contracts import matching as m
from contracts.notifications import REQUIRED_KINDS, NotificationKind
from contracts.sessions import meetings as s

Kind = NotificationKind
# The namespace of notification ids: one id per (tenant, event, recipient), so the
# id itself is the idempotency key stored with the effect.
NOTIFICATION_IDS = uuid.UUID("6f1d5c3e-2b7a-4f0e-9a51-5d0c8e7b4a21")


@dataclass(frozen=True)
class Notice:
    """One person to be told one thing about one subject."""

    kind: Kind
    recipient_id: str
    subject_id: str
    facts: Mapping[str, str] = field(default_factory=dict)

    @property
    def required(self) -> bool:
        """The programme requires the person to hear it, unsubscribed or not."""
        return self.kind in REQUIRED_KINDS


def notification_id(tenant: str, event_id: str, recipient_id: str) -> str:
    """The one id the notice of ``event_id`` to ``recipient_id`` ever gets."""
    return str(
        uuid.uuid5(NOTIFICATION_IDS, f"{tenant}\x00{event_id}\x00{recipient_id}")
    )


def _pair(
    kind: Kind, people: Iterable[str], subject_id: str, facts: Mapping[str, str]
) -> list[Notice]:
    seen: list[str] = []
    for person in people:
        if person and person not in seen:
            seen.append(person)
    return [Notice(kind, person, subject_id, dict(facts)) for person in seen]


def history_pairing(payload: object) -> str | None:
    """The pairing a programme's history recorded, known from its proposal: matching's
    history import records a pairing unscored (``Pairing.recorded``), and nothing
    else proposes a pairing without a score."""
    if isinstance(payload, m.PairingProposed) and payload.score is None:
        return payload.pairing_id
    return None


def from_history(
    payload: object, recorded_at: datetime, history_pairings: Container[str]
) -> bool:
    """Whether an inbound event belongs to a programme's history, so that nobody is
    told of it (no notice, no message, no webhook): an unscored proposal, the
    approval and confirmation of such a pairing (``history_pairings``: those known
    from their proposals), a session that had begun before it was recorded
    (``recorded_at``, the event's moment). The events an import records are the
    live commands' events, dated; these are the ones of them that tell anyone."""
    if history_pairing(payload) is not None:
        return True
    if isinstance(payload, (m.PairingApproved, m.PairingConfirmed)):
        return payload.pairing_id in history_pairings
    if isinstance(payload, s.SessionScheduled):
        return payload.starts_at <= recorded_at
    return False


def pairing_proposed(e: m.PairingProposed) -> list[Notice]:
    """Both people are asked to answer before the proposal expires. A pairing
    recorded from the programme's history (never scored) asks nobody anything."""
    if e.score is None:
        return []
    facts = {"pairing_id": e.pairing_id, "expires_at": e.expires_at.isoformat()}
    return _pair(Kind.PAIRING_PROPOSED, (e.mentor_id, e.mentee_id), e.pairing_id, facts)


def pairing_approved(e: m.PairingApproved) -> list[Notice]:
    facts = {"pairing_id": e.pairing_id}
    if e.starts_on is not None:
        facts["starts_on"] = e.starts_on.isoformat()
    return _pair(Kind.PAIRING_APPROVED, (e.mentor_id, e.mentee_id), e.pairing_id, facts)


def pairing_confirmed(e: m.PairingConfirmed) -> list[Notice]:
    facts = {"pairing_id": e.pairing_id}
    if e.starts_on is not None:
        facts["starts_on"] = e.starts_on.isoformat()
    return _pair(
        Kind.PAIRING_CONFIRMED, (e.mentor_id, e.mentee_id), e.pairing_id, facts
    )


def session_scheduled(
    e: s.SessionScheduled,
    mentor_id: str,
    mentee_id: str,
    now: datetime | None = None,
) -> list[Notice]:
    """The pair hears of a session; whoever scheduled it knows already. A session
    that began before it was recorded (a programme's history, brought over from
    last year) is nothing to be told of."""
    if e.starts_at <= (now or utcnow()):
        return []
    facts = {
        "session_id": e.session_id,
        "relationship_id": e.relationship_id,
        "starts_at": e.starts_at.isoformat(),
        "minutes": str(e.minutes),
    }
    people = [p for p in (mentor_id, mentee_id) if p != e.scheduled_by]
    return _pair(Kind.SESSION_SCHEDULED, people, e.session_id, facts)


def early_warning(e: i.EarlyWarningRaised) -> list[Notice]:
    """A nudge to the pair: their relationship looks quiet. The level and reasons
    are insights' assessment for coordinators, not told to the pair."""
    facts = {"relationship_id": e.relationship_id}
    return _pair(
        Kind.EARLY_WARNING, (e.mentor_id, e.mentee_id), e.relationship_id, facts
    )

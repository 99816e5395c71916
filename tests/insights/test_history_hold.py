"""Early warnings wait while a relationship's past is being written.

A relationship brought over with a start 200 days ago and its sessions still
arriving is not stalled: its state is kept honestly, but no early warning (which
matching acts on by proposing a re-pairing) is raised until no fact dated in the past
has arrived for ``history_grace_s``; the health sweep raises it then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.insights import EarlyWarningRaised, RelationshipHealthChanged
from services.insights.domain import health as domain
from services.insights.projections.health import HealthBook, changes

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def started(days_ago: int, recorded: datetime) -> domain.RelationshipFacts:
    facts = domain.RelationshipFacts("r-1")
    domain.apply(
        facts,
        "RelationshipStarted",
        {
            "relationship_id": "r-1",
            "pairing_id": "r-1",
            "mentor_id": "m",
            "mentee_id": "e",
            "starts_on": (recorded - timedelta(days=days_ago)).date().isoformat(),
        },
        recorded,
    )
    return facts


def test_a_fact_dated_in_the_past_marks_history_being_written():
    live = started(0, NOW)
    assert live.history_recorded_at is None
    past = started(200, NOW)
    assert past.history_recorded_at == NOW.isoformat()
    # A later session held long ago moves the mark; one held today does not.
    later = NOW + timedelta(seconds=30)
    domain.apply(
        past,
        "SessionHeld",
        {
            "relationship_id": "r-1",
            "session_id": "s-1",
            "held_at": "2026-06-01T09:00:00+00:00",
        },
        later,
    )
    assert past.history_recorded_at == later.isoformat()
    domain.apply(
        past,
        "SessionHeld",
        {"relationship_id": "r-1", "session_id": "s-2", "held_at": later.isoformat()},
        later + timedelta(seconds=5),
    )
    assert past.history_recorded_at == later.isoformat()


def test_the_state_changes_but_the_warning_waits_for_the_grace():
    facts = started(200, NOW)
    health = domain.assess(facts, NOW)
    assert health.state == domain.HealthState.AT_RISK
    held = changes(facts, health, (None, 0, False), hold=True)
    assert [type(c) for c in held] == [RelationshipHealthChanged]
    raised = changes(facts, health, (None, 0, False))
    # Once the history is in: at risk, and idle (200 days without a session).
    assert [type(c) for c in raised] == [
        RelationshipHealthChanged,
        EarlyWarningRaised,
        EarlyWarningRaised,
    ]
    assert [getattr(c, "level", None) for c in raised] == [None, "at_risk", "idle"]


def test_the_grace_is_measured_from_the_last_fact_dated_in_the_past():
    book = HealthBook(engine=None, store=None, idle_days=45, history_grace_s=600)  # type: ignore[arg-type]
    just_now = started(200, datetime.now(UTC) - timedelta(seconds=5))
    assert book._writing_history(just_now)
    long_ago = started(200, datetime.now(UTC) - timedelta(seconds=601))
    assert not book._writing_history(long_ago)
    assert not book._writing_history(started(0, datetime.now(UTC)))


def test_a_tenants_history_still_arriving_holds_its_other_past_relationships():
    """A programme's history arrives relationship by relationship: one brought over
    whose own facts were recorded a while ago is not warned while its tenant's other
    relationships' pasts are still arriving; a relationship with no past, or in
    another tenant, is not held by them."""
    book = HealthBook(engine=None, store=None, idle_days=45, history_grace_s=600)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    first = started(200, now - timedelta(seconds=900))  # its own past: 15 min ago
    assert not book._writing_history(first, "acme")
    still_arriving = started(200, now - timedelta(seconds=5))
    assert book._writing_history(still_arriving, "acme")
    assert book._writing_history(first, "acme")  # held by the tenant's import
    assert not book._writing_history(first, "globex")
    assert not book._writing_history(started(0, now), "acme")  # no past: never held

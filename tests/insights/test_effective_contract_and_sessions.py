"""The shared rule for when a fact happened (``domain.effective``): a contract is in
force from the day it was signed (``ContractInForce.signed_on``), a cancelled or
missed session happened at its planned start (or at its recording, when that is
earlier: a session cancelled a week ahead was cancelled then)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.insights.domain import health
from services.insights.domain.effective import effective_at, effective_day

RECORDED = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)


def test_a_contract_is_in_force_from_the_day_it_was_signed():
    data = {"relationship_id": "r1", "version": 1, "signed_on": "2026-03-02"}
    assert effective_at("ContractInForce", data, RECORDED) == datetime(
        2026, 3, 2, tzinfo=UTC
    )
    # recorded before the field existed (or signed live): its recording
    live = {"relationship_id": "r1", "version": 1, "signed_on": None}
    assert effective_at("ContractInForce", live, RECORDED) == RECORDED


def test_a_cancelled_or_missed_session_happened_at_its_planned_start():
    planned = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    for kind in ("SessionCancelled", "SessionMissed"):
        data = {"session_id": "s1", "relationship_id": "r1"}
        assert effective_at(kind, data, RECORDED, planned=planned) == planned
        assert effective_at(kind, data, RECORDED, planned=planned.isoformat()) == (
            planned
        )
        assert effective_day(kind, data, RECORDED, planned=planned) == date(2026, 5, 4)
        # cancelled ahead of its planned start: when it was recorded
        later = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
        assert effective_at(kind, data, RECORDED, planned=later) == RECORDED
        # no plan known: its recording
        assert effective_at(kind, data, RECORDED) == RECORDED
        # an event that carries the planned start itself
        carried = data | {"starts_at": planned.isoformat()}
        assert effective_at(kind, carried, RECORDED) == planned


def test_health_keeps_the_contract_in_force_from_its_signing_day():
    start = {
        "relationship_id": "r1",
        "pairing_id": "r1",
        "mentor_id": "m",
        "mentee_id": "e",
        "starts_on": "2026-01-05",
    }
    drafted = {"relationship_id": "r1", "version": 1, "cadence": {"every_days": 14}}
    in_force = {"relationship_id": "r1", "version": 1, "signed_on": "2026-01-20"}
    facts = health.fold(
        [
            ("RelationshipStarted", start, RECORDED),
            ("ContractDrafted", drafted, RECORDED),
            ("ContractInForce", in_force, RECORDED),
        ]
    )["r1"]
    assert [moment for moment, _v in facts.in_force] == [
        datetime(2026, 1, 20, tzinfo=UTC).isoformat()
    ]


def test_health_knows_a_cancelled_session_from_its_planned_start():
    planned = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    facts = health.fold(
        [
            (
                "RelationshipStarted",
                {
                    "relationship_id": "r1",
                    "pairing_id": "r1",
                    "mentor_id": "m",
                    "mentee_id": "e",
                    "starts_on": "2026-01-05",
                },
                RECORDED,
            ),
            (
                "SessionScheduled",
                {
                    "session_id": "s1",
                    "relationship_id": "r1",
                    "starts_at": planned.isoformat(),
                },
                RECORDED,
            ),
            (
                "SessionCancelled",
                {"session_id": "s1", "relationship_id": "r1"},
                RECORDED,
            ),
        ]
    )["r1"]
    assert health._known(facts, "s1") == planned

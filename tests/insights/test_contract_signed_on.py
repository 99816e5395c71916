"""A learning contract recorded long after it was signed (a programme's history,
issue 20) is in force from the day it was signed: mentor impact expects sessions at
its cadence over the quarters before it was recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.insights.domain import health

pytestmark = pytest.mark.unit

RECORDED = datetime(2026, 12, 3, 9, tzinfo=UTC)


def events(signed_on: str | None) -> list[tuple[str, dict, datetime]]:
    in_force = {"relationship_id": "r-1", "version": 1}
    if signed_on:
        in_force["signed_on"] = signed_on
    return [
        (
            "RelationshipStarted",
            {
                "relationship_id": "r-1",
                "pairing_id": "p-1",
                "mentor_id": "m-1",
                "mentee_id": "e-1",
                "starts_on": "2025-01-13",
            },
            RECORDED,
        ),
        (
            "ContractDrafted",
            {"relationship_id": "r-1", "version": 1, "cadence": {"every_days": 14}},
            RECORDED,
        ),
        ("ContractInForce", in_force, RECORDED),
    ]


def test_a_contract_signed_in_the_past_sets_the_cadence_from_that_day():
    facts = list(health.fold(events("2025-01-13")).values())
    # 13 January to 31 March: 78 days every 14 days = 5.57 → 5.
    assert health.impact("m-1", "2025Q1", facts).sessions_expected == 5


def test_one_without_a_signing_day_is_in_force_from_its_recording():
    facts = list(health.fold(events(None)).values())
    # Before it was recorded, the default cadence (30 days): 78 / 30 → 2.
    assert health.impact("m-1", "2025Q1", facts).sessions_expected == 2

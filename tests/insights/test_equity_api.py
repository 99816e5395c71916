"""Equity, patterns and operations over real PostgreSQL and Kafka, checked against
numbers worked out by hand for a planted organisation."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests.insights.conftest import (
    ADMIN,
    COORDINATOR,
    SPONSOR,
    TENANT,
    event,
    publish,
    until_facts,
)
from tests.profiles.conftest import token

pytestmark = pytest.mark.kafka
JOINED = datetime(2027, 3, 1, tzinfo=UTC)
MATCHED = datetime(2027, 3, 11, tzinfo=UTC)
# unit -> (participants, matched)
PLANTED = {"Retail": (6, 5), "Finance": (6, 3), "Legal": (2, 2)}


def planted() -> list:
    messages = []
    for unit, (participants, matched) in PLANTED.items():
        for i in range(participants):
            pid = f"{unit.lower()}-{i}"
            messages += [
                event(
                    "profiles",
                    "PersonRegistered",
                    pid,
                    {
                        "person_id": pid,
                        "level": 5,
                        "business_unit": unit,
                        "function": "ops",
                        "geography": "FR",
                        "time_zone": "Europe/Paris",
                        "roles": ["mentee"],
                    },
                    at=datetime(2027, 1, 1, tzinfo=UTC),
                ),
                event(
                    "profiles",
                    "ParticipantAdmitted",
                    "c1",
                    {"cohort_id": "c1", "person_id": pid, "role": "mentee"},
                    at=JOINED,
                ),
            ]
            if i < matched:
                messages.append(
                    event(
                        "matching",
                        "PairingConfirmed",
                        f"pair-{unit}{i}",
                        {
                            "pairing_id": f"pair-{unit}{i}",
                            "mentor_id": "mentor-1",
                            "mentee_id": pid,
                            "cohort_id": "c1",
                            "score": 0.6,
                        },
                        at=MATCHED,
                    )
                )
    # Demographics: five Retail people consent as "woman", one as "man"; the rest
    # of the organisation never shared anything.
    for i in range(6):
        messages.append(
            event(
                "profiles",
                "DemographicsShared",
                f"retail-{i}",
                {
                    "person_id": f"retail-{i}",
                    "attributes": {"gender": "woman" if i < 5 else "man"},
                },
                at=datetime(2027, 2, 1, tzinfo=UTC),
            )
        )
    return messages


async def test_equity_by_business_unit_matches_the_hand_computed_numbers(
    insights, kafka_bootstrap
):
    app, client = insights
    messages = planted()
    await publish(kafka_bootstrap, messages)
    await until_facts(app, len(messages))

    report = (
        await client.get("/equity?dimension=business_unit", headers=COORDINATOR)
    ).json()
    groups = {g["group"]: g for g in report["groups"]}
    assert groups["Legal"] == {"group": "Legal", "suppressed": True}
    retail, finance = groups["Retail"], groups["Finance"]
    assert (retail["participants"], retail["matched"]) == (6, 5)
    assert retail["match_rate"] == pytest.approx(5 / 6)
    assert (finance["participants"], finance["matched"]) == (6, 3)
    assert finance["match_rate"] == pytest.approx(0.5)
    assert finance["match_rate_impact"] == pytest.approx(0.6)
    assert finance["match_rate_flagged"] is True
    assert retail["median_days_to_match"] == 10
    assert retail["mean_match_score"] == pytest.approx(0.6)
    # 14 - 6 - 6 would reveal Legal's 2: the total is withheld.
    assert report["total"] == {"suppressed": True}

    exported = await client.get("/equity.csv?dimension=business_unit", headers=SPONSOR)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = {r["group"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert rows["Legal"]["suppressed"] == "True" and rows["Legal"]["participants"] == ""
    assert rows["Finance"]["matched"] == "3"
    assert float(rows["Finance"]["match_rate_impact"]) == pytest.approx(0.6)
    assert rows["Retail"]["participants"] == "6" and rows["Retail"]["matched"] == "5"
    assert rows["total"]["suppressed"] == "True" and rows["total"]["matched"] == ""

    demographics = (
        await client.get("/equity?dimension=demographics.gender", headers=ADMIN)
    ).json()
    gender = {g["group"]: g for g in demographics["groups"]}
    assert set(gender) == {"woman", "man"}  # only the six who consented
    assert gender["woman"]["participants"] == 5
    assert gender["man"] == {"group": "man", "suppressed": True}

    cohort = (
        await client.get("/equity?dimension=level_band&cohort_id=c1", headers=ADMIN)
    ).json()
    assert cohort["groups"][0]["participants"] == 14  # all at level 5: one band
    assert cohort["total"]["matched"] == 10

    mentee = token(TENANT, "mentee", sub="retail-0")
    for path in ("/equity", "/equity.csv", "/patterns", "/operations"):
        assert (await client.get(path, headers=mentee)).status_code == 403
    bad = await client.get("/equity?dimension=salary", headers=COORDINATOR)
    assert bad.status_code == 422


async def test_patterns_and_operations_are_served_to_overseers(
    insights, kafka_bootstrap
):
    app, client = insights
    messages = planted()
    messages.append(
        event(
            "profiles",
            "MentorProfileSet",
            "mentor-1",
            {
                "person_id": "mentor-1",
                "strengths": [],
                "max_mentees": 20,
                "hours_per_month": 10,
            },
        )
    )
    await publish(kafka_bootstrap, messages)
    await until_facts(app, len(messages))

    patterns = (await client.get("/patterns", headers=COORDINATOR)).json()
    assert patterns["pairings"] == 10
    direction = patterns["characteristics"]["direction"]
    assert direction == [
        {
            "value": "standard",
            "pairings": 10,
            "progressed": {
                "count": 0,
                "rate": 0.0,
                "interval": [0.0, pytest.approx(0.2775, abs=1e-4)],
            },
            "completed": {
                "count": 0,
                "rate": 0.0,
                "interval": [0.0, pytest.approx(0.2775, abs=1e-4)],
            },
        }
    ]
    assert {w["criterion"] for w in patterns["suggested_weights"]} == {
        "perspective",
        "style",
    }

    operations = (await client.get("/operations", headers=SPONSOR)).json()
    assert operations["participation"]["participants"] == 14
    assert operations["mentor_utilisation"]["active_pairings"] == 10
    assert operations["mentor_utilisation"]["rate"] == pytest.approx(0.5)
    assert operations["waiting_list"]["length"] == 0

    erased = event(
        "profiles",
        "PersonErased",
        "retail-0",
        {"person_id": "retail-0", "erased_at": "2027-06-01T00:00:00+00:00"},
    )
    await publish(kafka_bootstrap, [erased])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        async with app.state.runtime.engine.connect() as conn:
            mentions = (
                await conn.execute(
                    text("SELECT count(*) FROM equity_people WHERE data LIKE :p"),
                    {"p": "%retail-0%"},
                )
            ).scalar_one()
        if mentions == 0:
            break
        await asyncio.sleep(0.1)
    assert mentions == 0  # neither their row nor the mentor's link to them is left
    report = (await client.get("/equity", headers=COORDINATOR)).json()
    assert {g["group"]: g for g in report["groups"]}["Retail"]["participants"] == 5
    utilisation = (await client.get("/operations", headers=ADMIN)).json()
    assert utilisation["mentor_utilisation"]["active_pairings"] == 10  # anonymised

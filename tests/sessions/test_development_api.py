"""Milestones, rotations, check-ins and escalations on real PostgreSQL and Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from chassis.service import mounted
from tests.profiles.conftest import token
from tests.sessions.conftest import COORDINATOR, confirm_pairing, signed

pytestmark = pytest.mark.kafka

DEVELOPMENT_EVENTS = (
    "MilestoneSet",
    "MilestoneProgressed",
    "MilestoneAchieved",
    "MilestoneMissed",
    "CheckInRecorded",
    "RotationAssigned",
    "RotationDebriefed",
    "RotationCompleted",
    "EscalationRaised",
    "EscalationResolved",
)


def in_days(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


MILESTONE = {
    "objective_index": 0,
    "label": "Present the strategic plan to the executive team",
    "due_on": in_days(30),
    "criteria": ["Plan presented", "Executive team endorses the plan"],
}


async def events_of(app, relationship_id: str) -> list[tuple[str, dict]]:
    """The development events of one relationship, in the order they were stored."""
    async with mounted(app).runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT event_type, payload FROM events WHERE event_type = ANY(:types) "
                "AND payload->>'relationship_id' = :r ORDER BY position"
            ),
            {"types": list(DEVELOPMENT_EVENTS), "r": relationship_id},
        )
        return [(row.event_type, row.payload) for row in rows]


async def private_texts(app) -> int:
    async with mounted(app).runtime.engine.connect() as conn:
        return (
            await conn.execute(text("SELECT count(*) FROM private_texts"))
        ).scalar_one()


async def test_the_mentor_confirms_a_milestone_with_evidence_and_it_is_certified(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap)
    await signed(c, pair)
    set_ = await c.post(
        f"/relationships/{pair['id']}/milestones",
        json=MILESTONE,
        headers=pair["as_mentee"],
    )
    assert set_.status_code == 201, set_.text
    milestone = set_.json()
    assert (
        milestone["state"] == "open" and milestone["criteria"] == MILESTONE["criteria"]
    )

    alone = await c.post(
        f"/milestones/{milestone['id']}/achieve",
        json={"evidence": "I presented it myself"},
        headers=pair["as_mentee"],
    )
    assert alone.status_code == 403 and alone.json()["code"] == "ConfirmerNotEligible"
    assert [t for t, _ in await events_of(app, pair["id"])] == ["MilestoneSet"]
    not_yet = await c.get(
        f"/milestones/{milestone['id']}/certificate", headers=pair["as_mentee"]
    )
    assert not_yet.status_code == 422 and not_yet.json()["code"] == "NotAchieved"

    achieved = await c.post(
        f"/milestones/{milestone['id']}/achieve",
        json={"evidence": "Board minutes of 28 March record the endorsement"},
        headers=pair["as_mentor"],
    )
    assert achieved.status_code == 200, achieved.text
    assert achieved.json()["state"] == "achieved"
    assert "Board minutes" in achieved.json()["evidence"]
    kinds, payloads = zip(*await events_of(app, pair["id"]), strict=True)
    assert kinds == ("MilestoneSet", "MilestoneAchieved")
    assert payloads[1]["confirmed_by"] == pair["mentor"]
    assert payloads[1]["on_time"] is True
    assert "Board minutes" not in str(payloads)  # the words stay out of the events

    certificate = (
        await c.get(f"/milestones/{milestone['id']}/certificate", headers=COORDINATOR)
    ).json()
    assert certificate["label"] == MILESTONE["label"]
    assert certificate["mentee_id"] == pair["mentee"]
    assert certificate["confirmed_by"] == pair["mentor"]
    assert certificate["confirmer_role"] == "mentor"
    assert certificate["due_on"] == MILESTONE["due_on"]
    assert not any("name" in key for key in certificate)
    listed = await c.get(
        f"/relationships/{pair['id']}/milestones", headers=pair["as_mentor"]
    )
    assert [m["id"] for m in listed.json()] == [milestone["id"]]
    # A list is sent as built from its rows: the same answer, field for field and
    # in the same order, as the item's own read through the model, for each reader.
    for who in (pair["as_mentor"], pair["as_mentee"], COORDINATOR):
        one = await c.get(f"/milestones/{milestone['id']}", headers=who)
        many = await c.get(f"/relationships/{pair['id']}/milestones", headers=who)
        assert [list(i.items()) for i in many.json()] == [list(one.json().items())]


async def test_a_rotation_is_completed_only_after_a_debrief_linked_to_goals(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap)
    rotation = {
        "relationship_id": pair["id"],
        "function": "supply-chain",
        "host_id": "host-7",
        "starts_on": in_days(7),
        "ends_on": in_days(28),
        "project_kind": "cost_to_serve_analysis",
        "project": "Cost-to-serve analysis of the northern region",
    }
    too_long = await c.post(
        "/rotations", json={**rotation, "ends_on": in_days(40)}, headers=COORDINATOR
    )
    assert too_long.status_code == 422
    assert too_long.json()["code"] == "RotationLengthInvalid"
    assigned = await c.post("/rotations", json=rotation, headers=COORDINATOR)
    assert assigned.status_code == 201, assigned.text
    rid = assigned.json()["id"]
    assert assigned.json()["mentee_id"] == pair["mentee"]

    early = await c.post(f"/rotations/{rid}/complete", headers=pair["as_mentor"])
    assert early.status_code == 422 and early.json()["code"] == "DebriefRequired"
    unlinked = await c.post(
        f"/rotations/{rid}/debrief",
        json={"reflection": "Saw the frontline", "goal_competency_ids": []},
        headers=pair["as_mentee"],
    )
    assert unlinked.json()["code"] == "GoalLinkRequired"
    debriefed = await c.post(
        f"/rotations/{rid}/debrief",
        json={
            "reflection": "Saw how cost-to-serve shapes pricing",
            "goal_competency_ids": ["commercial-acumen"],
        },
        headers=pair["as_mentee"],
    )
    assert debriefed.status_code == 200, debriefed.text
    done = await c.post(f"/rotations/{rid}/complete", headers=pair["as_mentor"])
    assert done.status_code == 200 and done.json()["state"] == "completed"
    assert [t for t, _ in await events_of(app, pair["id"])] == [
        "RotationAssigned",
        "RotationDebriefed",
        "RotationCompleted",
    ]
    one = await c.get(f"/rotations/{rid}", headers=pair["as_mentee"])
    many = await c.get(
        f"/relationships/{pair['id']}/rotations", headers=pair["as_mentee"]
    )
    assert [list(i.items()) for i in many.json()] == [list(one.json().items())]


async def test_an_escalation_by_the_mentee_reaches_the_coordinator_who_resolves_it(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap)
    raised = await c.post(
        f"/relationships/{pair['id']}/escalations",
        json={"category": "chemistry", "detail": "We keep cancelling sessions"},
        headers=pair["as_mentee"],
    )
    assert raised.status_code == 201, raised.text
    eid = raised.json()["id"]
    assert raised.json()["by_role"] == "mentee"

    seen = (await c.get("/escalations?state=open", headers=COORDINATOR)).json()
    mine = [e for e in seen if e["id"] == eid]
    assert mine and mine[0]["detail"] == "We keep cancelling sessions"
    assert (await c.get("/escalations", headers=pair["as_mentor"])).json() == []
    by_mentor = await c.post(
        f"/escalations/{eid}/resolve",
        json={"outcome": "resolved"},
        headers=pair["as_mentor"],
    )
    assert by_mentor.status_code == 403 and by_mentor.json()["code"] == "NotCoordinator"

    resolved = await c.post(
        f"/escalations/{eid}/resolve",
        json={"outcome": "repair_requested", "note": "Re-pair in the next round"},
        headers=COORDINATOR,
    )
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    stored = await events_of(app, pair["id"])
    assert [t for t, _ in stored] == ["EscalationRaised", "EscalationResolved"]
    assert stored[1][1]["outcome"] == "repair_requested"


async def test_bad_input_gets_a_typed_error_and_writes_nothing(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap)
    unsigned = await c.post(
        f"/relationships/{pair['id']}/milestones",
        json=MILESTONE,
        headers=pair["as_mentee"],
    )
    assert unsigned.json()["code"] == "ContractNotInForce"
    await signed(c, pair)
    texts_before = await private_texts(app)
    refused = {
        "DueDateInPast": (
            f"/relationships/{pair['id']}/milestones",
            {**MILESTONE, "due_on": in_days(-1)},
        ),
        "CriteriaRequired": (
            f"/relationships/{pair['id']}/milestones",
            {**MILESTONE, "criteria": []},
        ),
        "UnknownObjective": (
            f"/relationships/{pair['id']}/milestones",
            {**MILESTONE, "objective_index": 3},
        ),
        "SponsorRequired": (
            f"/relationships/{pair['id']}/check-ins",
            {"kind": "quarterly", "alignment": 4, "correction": "Refocus on pricing"},
        ),
        "AlignmentOutOfRange": (
            f"/relationships/{pair['id']}/check-ins",
            {"kind": "monthly", "alignment": 9},
        ),
        "ValidationError": (
            f"/relationships/{pair['id']}/check-ins",
            {"kind": "weekly", "alignment": 3},
        ),
    }
    for code, (path, body) in refused.items():
        resp = await c.post(path, json=body, headers=pair["as_mentor"])
        assert resp.status_code == 422, (code, resp.text)
        assert resp.json()["code"] == code
    assert await events_of(app, pair["id"]) == []
    assert await private_texts(app) == texts_before

    review = await c.post(
        f"/relationships/{pair['id']}/check-ins",
        json={
            "kind": "quarterly",
            "alignment": 4,
            "sponsor_id": "sponsor-1",
            "correction": "Refocus on pricing",
        },
        headers=pair["as_mentor"],
    )
    assert review.status_code == 201, review.text
    (event,) = await events_of(app, pair["id"])
    assert event[0] == "CheckInRecorded" and event[1]["correction_recorded"] is True
    listed = await c.get(
        f"/relationships/{pair['id']}/check-ins", headers=pair["as_mentor"]
    )
    assert [list(i.items()) for i in listed.json()] == [list(review.json().items())]


async def test_one_pair_cannot_touch_another_nor_another_tenant(
    sessions, kafka_bootstrap
):
    app, c = sessions
    a = await confirm_pairing(app, kafka_bootstrap)
    b = await confirm_pairing(app, kafka_bootstrap)
    await signed(c, b)
    milestone = (
        await c.post(
            f"/relationships/{b['id']}/milestones",
            json=MILESTONE,
            headers=b["as_mentee"],
        )
    ).json()
    other_tenant = token("globex", "coordinator", sub="globex-coordinator")
    for who in (a["as_mentor"], other_tenant):
        attempts = [
            await c.get(f"/relationships/{b['id']}/milestones", headers=who),
            await c.get(f"/milestones/{milestone['id']}", headers=who),
            await c.post(
                f"/milestones/{milestone['id']}/achieve",
                json={"evidence": "not mine to confirm"},
                headers=who,
            ),
            await c.post(
                f"/relationships/{b['id']}/escalations",
                json={"category": "other"},
                headers=who,
            ),
        ]
        assert [r.status_code for r in attempts] == [404] * 4
    assert [t for t, _ in await events_of(app, b["id"])] == ["MilestoneSet"]

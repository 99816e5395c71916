"""An erased or deactivated person's still-valid token is refused by every service.

Tried as the erased person would: their token was minted before the erasure and has
not expired. Once profiles' ``PersonErased`` (or ``PersonDeactivated``) reaches a
service's consumer, that service answers 401 ``invalid_token`` to it on every route,
while another person's token still works. Erasure also closes what the person was
part of: matching ends their confirmed pairing and withdraws their proposals with
reason ``erased``, sessions concludes their relationship with reason ``erased``, and
a redelivered ``PersonErased`` changes nothing more.

The services are the ones their ``main.build_app`` composes, on real PostgreSQL; the
events reach them through their own consumer (``ConsumerRunner.handle``: the same
handlers, applied once, as from the broker).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import topic_for
from chassis.messaging.transport import InboundMessage
from services.advisors.main import build_app as build_advisors
from services.advisors.settings import Settings as AdvisorsSettings
from services.matching.main import build_app as build_matching
from services.matching.settings import Settings as MatchingSettings
from services.sessions.main import build_app as build_sessions
from services.sessions.settings import Settings as SessionsSettings
from tests.apps import serving
from tests.invariants.matching_helpers import build_org, pairings
from tests.profiles.conftest import token

COORDINATOR = token("acme", "coordinator")


def envelope(kind: str, tenant: str = "acme", **data: Any) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source="tandem/profiles",
        type=kind,
        subject=str(data.get("person_id") or data.get("pairing_id")),
        time=utcnow(),
        data=data,
        tenant=tenant,
    )


async def deliver(app: Any, env: Envelope, producer: str = "profiles") -> None:
    """Hand ``env`` to the service's consumer as the broker would."""
    consumer = app.state.runtime.consumer
    before = consumer.dead_letters
    await consumer.handle(
        InboundMessage(
            topic=topic_for(producer),
            partition=0,
            offset=0,
            key=env.kafka_key(),
            value=env.kafka_value(),
            headers=env.kafka_headers(),
        )
    )
    assert consumer.dead_letters == before, f"{env.type} was dead-lettered"


async def event_types(app: Any, tenant: str) -> Counter:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT event_type FROM events WHERE tenant = :t"), {"t": tenant}
        )
        return Counter(r.event_type for r in rows)


async def closings(app: Any, pairing_id: str) -> list[tuple[str, str]]:
    """How the pairing closed, as its stream records it (type, reason)."""
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT event_type, payload FROM events WHERE stream_id = :p AND "
                "event_type IN ('PairingEnded', 'PairingWithdrawn') ORDER BY position"
            ),
            {"p": pairing_id},
        )
        return [(r.event_type, r.payload["reason"]) for r in rows]


def refused(resp: Any, why: str) -> None:
    assert resp.status_code == 401, resp.text
    assert 'error="invalid_token"' in resp.headers["www-authenticate"]
    assert f"the person was {why}" in resp.json()["detail"]


def settings(cls: Any, postgres_server: Any) -> Any:
    return cls(
        environment="test",
        database_url=postgres_server.create_database(),
        kafka_bootstrap_servers=None,
    )


@pytest.fixture
async def matching(postgres_server):
    app = build_matching(settings(MatchingSettings, postgres_server))
    async with serving(app, "matching") as c:
        yield app, c


@pytest.fixture
async def sessions(postgres_server):
    app = build_sessions(settings(SessionsSettings, postgres_server))
    async with serving(app, "sessions") as c:
        yield app, c


@pytest.fixture
async def advisors(postgres_server):
    app = build_advisors(settings(AdvisorsSettings, postgres_server))
    async with serving(app, "advisors") as c:
        yield app, c


# -- matching -----------------------------------------------------------------------


async def test_matching_erasure_refuses_the_token_and_ends_the_pairing(matching):
    app, c = matching
    org = await build_org(app, seats=[2], mentees=2)
    (mentor,) = org.mentors
    done = await c.post(
        "/rounds?wait=true", json={"cohort_id": org.cohort}, headers=org.coordinator
    )
    assert done.json()["proposed"] == 2, done.text
    rows = await pairings(app, org.tenant)
    confirmed = rows[0]
    erased, other = confirmed.mentee_id, rows[1].mentee_id
    await c.post(f"/pairings/{confirmed.pairing_id}/approve", headers=org.coordinator)
    for who in (mentor, erased):
        accepted = await c.post(
            f"/pairings/{confirmed.pairing_id}/accept", headers=org.person(who)
        )
        assert accepted.status_code == 200, accepted.text
    as_erased = org.person(erased)
    path = f"/pairings/{confirmed.pairing_id}"
    assert (await c.get(path, headers=as_erased)).status_code == 200

    gone = envelope("PersonErased", org.tenant, person_id=erased, erased_at=utcnow())
    await deliver(app, gone)

    refused(await c.get(path, headers=as_erased), "erased")
    refused(await c.get("/pairings", headers=as_erased), "erased")
    seen = await c.get(path, headers=org.person(mentor))
    assert seen.status_code == 200, seen.text
    assert seen.json()["state"] == "ended"
    assert await closings(app, confirmed.pairing_id) == [("PairingEnded", "erased")]
    states = {r.mentee_id: r.state for r in await pairings(app, org.tenant)}
    assert states == {erased: "ended", other: "proposed"}  # the other pair stays
    async with app.state.runtime.engine.connect() as conn:
        kept = (
            await conn.execute(
                text(
                    "SELECT person_id, mentor_profile, intake, demographics "
                    "FROM candidates WHERE tenant = :t"
                ),
                {"t": org.tenant},
            )
        ).all()
    assert erased not in {r.person_id for r in kept}  # their free text is forgotten
    assert {mentor, other} <= {r.person_id for r in kept}

    before = await event_types(app, org.tenant)
    await deliver(app, gone)  # redelivered
    await deliver(app, envelope("PersonErased", org.tenant, person_id=erased,
                                erased_at=utcnow()))  # fmt: skip
    assert await event_types(app, org.tenant) == before
    assert await closings(app, confirmed.pairing_id) == [("PairingEnded", "erased")]
    refused(await c.get(path, headers=as_erased), "erased")


async def test_matching_erasure_withdraws_a_proposal_with_reason_erased(matching):
    app, c = matching
    org = await build_org(app, seats=[1], mentees=1)
    (mentor,) = org.mentors
    await c.post(
        "/rounds?wait=true", json={"cohort_id": org.cohort}, headers=org.coordinator
    )
    (proposal,) = await pairings(app, org.tenant)
    await deliver(
        app, envelope("PersonErased", org.tenant, person_id=mentor, erased_at=utcnow())
    )
    seen = await c.get(f"/pairings/{proposal.pairing_id}", headers=org.coordinator)
    assert seen.json()["state"] == "withdrawn"
    assert await closings(app, proposal.pairing_id) == [("PairingWithdrawn", "erased")]


async def test_matching_closes_an_erased_advisors_pairings(matching):
    app, c = matching
    org = await build_org(app, seats=[1], mentees=1)
    (mentor,) = org.mentors
    await c.post(
        "/rounds?wait=true", json={"cohort_id": org.cohort}, headers=org.coordinator
    )
    (proposal,) = await pairings(app, org.tenant)
    # The mentor is an external advisor, erased by the advisors service.
    await deliver(app, envelope("AdvisorErased", org.tenant, advisor_id=mentor))
    seen = await c.get(f"/pairings/{proposal.pairing_id}", headers=org.coordinator)
    assert seen.json()["state"] == "withdrawn"
    assert await closings(app, proposal.pairing_id) == [("PairingWithdrawn", "erased")]


async def test_matching_deactivation_refuses_the_token_until_reactivation(matching):
    app, c = matching
    org = await build_org(app, seats=[1], mentees=1)
    person = org.mentees[0]
    await deliver(app, envelope("PersonDeactivated", org.tenant, person_id=person))
    refused(await c.get("/pairings", headers=org.person(person)), "deactivated")
    assert (await c.get("/pairings", headers=org.coordinator)).status_code == 200
    await deliver(app, envelope("PersonReactivated", org.tenant, person_id=person))
    assert (await c.get("/pairings", headers=org.person(person))).status_code == 200


async def test_a_revocation_holds_in_its_own_tenant_only(matching):
    app, c = matching
    org = await build_org(app, seats=[1], mentees=1)
    person = org.mentees[0]
    await deliver(app, envelope("PersonDeactivated", "another-org", person_id=person))
    assert (await c.get("/pairings", headers=org.person(person))).status_code == 200


# -- sessions -----------------------------------------------------------------------


async def start_relationship(app: Any) -> dict[str, str]:
    pid, mentor, mentee = (str(uuid.uuid4()) for _ in range(3))
    confirmed = envelope(
        "PairingConfirmed", pairing_id=pid, mentor_id=mentor, mentee_id=mentee
    )
    await deliver(app, confirmed, producer="matching")
    return {"id": pid, "mentor": mentor, "mentee": mentee}


def as_person(person: str) -> dict[str, str]:
    return token("acme", "mentee", "mentor", sub=person)


async def note(c: Any, pair: dict[str, str], who: str) -> Any:
    return await c.post(
        f"/relationships/{pair['id']}/notes",
        json={"kind": "session_note", "visibility": "private", "body": "Reflection"},
        headers=as_person(pair[who]),
    )


async def pulse_survey(c: Any) -> str:
    closes_at = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    opened = await c.post(
        "/pulse-surveys",
        json={"questions": ["I get enough time"], "closes_at": closes_at},
        headers=COORDINATOR,
    )
    assert opened.status_code == 201, opened.text
    return str(opened.json()["survey_id"])


async def test_sessions_erasure_refuses_notes_calendar_and_pulse(sessions):
    app, c = sessions
    pair = await start_relationship(app)
    survey = await pulse_survey(c)
    assert (await note(c, pair, "mentee")).status_code == 201
    gone = envelope("PersonErased", person_id=pair["mentee"], erased_at=utcnow())
    await deliver(app, gone)

    me = as_person(pair["mentee"])
    refused(await note(c, pair, "mentee"), "erased")
    refused(await c.post("/calendar/token", headers=me), "erased")
    answer = {"answers": [4]}
    refused(await c.post(f"/pulse-surveys/{survey}/responses", json=answer, headers=me),
            "erased")  # fmt: skip
    refused(await c.get(f"/relationships/{pair['id']}", headers=me), "erased")

    other = as_person(pair["mentor"])
    seen = await c.get(f"/relationships/{pair['id']}", headers=other)
    assert seen.status_code == 200, seen.text
    assert seen.json()["state"] == "concluded"
    assert (await c.post("/calendar/token", headers=other)).status_code in (200, 201)
    answered = await c.post(
        f"/pulse-surveys/{survey}/responses", json=answer, headers=other
    )
    assert answered.status_code in (200, 201, 204), answered.text
    concluded = await _conclusions(app, pair["id"])
    assert concluded == ["erased"]

    before = await event_types(app, "acme")
    await deliver(app, gone)  # redelivered
    ended = envelope(
        "PairingEnded",
        pairing_id=pair["id"],
        mentor_id=pair["mentor"],
        mentee_id=pair["mentee"],
        reason="erased",
    )
    await deliver(app, ended, producer="matching")  # matching's side of the erasure
    assert await event_types(app, "acme") == before
    assert await _conclusions(app, pair["id"]) == ["erased"]


async def test_sessions_concludes_with_reason_erased_when_matching_ends_first(
    sessions,
):
    app, c = sessions
    pair = await start_relationship(app)
    ended = envelope(
        "PairingEnded",
        pairing_id=pair["id"],
        mentor_id=pair["mentor"],
        mentee_id=pair["mentee"],
        reason="erased",
    )
    await deliver(app, ended, producer="matching")
    await deliver(
        app, envelope("PersonErased", person_id=pair["mentor"], erased_at=utcnow())
    )
    assert await _conclusions(app, pair["id"]) == ["erased"]
    refused(await note(c, pair, "mentor"), "erased")


async def test_sessions_deactivation_refuses_the_token_until_reactivation(sessions):
    app, c = sessions
    pair = await start_relationship(app)
    await deliver(app, envelope("PersonDeactivated", person_id=pair["mentee"]))
    refused(await note(c, pair, "mentee"), "deactivated")
    assert (await note(c, pair, "mentor")).status_code == 201
    await deliver(app, envelope("PersonReactivated", person_id=pair["mentee"]))
    assert (await note(c, pair, "mentee")).status_code == 201


async def _conclusions(app: Any, relationship_id: str) -> list[str]:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT payload FROM events WHERE stream_id = :r "
                "AND event_type = 'RelationshipConcluded' ORDER BY position"
            ),
            {"r": relationship_id},
        )
        return [r.payload["reason"] for r in rows]


# -- advisors -----------------------------------------------------------------------


async def test_advisors_refuse_an_erased_or_deactivated_persons_token(advisors):
    app, c = advisors
    erased, deactivated, other = (str(uuid.uuid4()) for _ in range(3))
    for who in (erased, deactivated, other):
        seen = await c.get("/agreements", headers=token("acme", "advisor", sub=who))
        assert seen.status_code == 200, seen.text
    gone = envelope("PersonErased", person_id=erased, erased_at=utcnow())
    await deliver(app, gone)
    await deliver(app, envelope("PersonDeactivated", person_id=deactivated))
    await deliver(app, gone)  # redelivered: nothing more
    refused(
        await c.get("/agreements", headers=token("acme", "advisor", sub=erased)),
        "erased",
    )
    refused(
        await c.get("/agreements", headers=token("acme", "advisor", sub=deactivated)),
        "deactivated",
    )
    seen = await c.get("/agreements", headers=token("acme", "advisor", sub=other))
    assert seen.status_code == 200
    # An erasure is final: neither a later deactivation nor a reactivation lifts it.
    await deliver(app, envelope("PersonDeactivated", person_id=erased))
    await deliver(app, envelope("PersonReactivated", person_id=erased))
    refused(
        await c.get("/agreements", headers=token("acme", "advisor", sub=erased)),
        "erased",
    )

"""Every list and batch read of matching sends as many SQL statements for 50 items as
for 1 (issue 19: constant SQL per request).

Each size builds an organisation of its own (a tenant per size) through matching's
own consumer (``feed``: what profiles publishes, applied as from the broker) and real
rounds, so a list of one and a list of fifty come from the same code paths:

- ``size`` small group cohorts (a mentor and two mentees each), one round each: the
  rounds of ``POST /rounds/batch``, each answering its circle;
- one large group cohort of the same people (their mentors have seats left), one
  round pinning ``size`` pairs: ``GET /rounds/{id}`` with ``size`` pins and circles;
- a standard cohort with one mentor of ``size`` seats and ``size`` of those mentees:
  one round of ``size`` proposals, each then withdrawn with a typed reason (a private
  note): the pairing lists (by person, round, state) and batches, read by the
  coordinator (who reads the notes) and by the mentor (who does not);
- an open cohort of ``size + 1`` mentors with a free seat and one mentee:
  suggestions (2 → 20) and rotation plans (2 cycles → 6);
- ``size`` dead letters of matching's consumer.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from chassis.auth.principal import Principal, Role
from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import topic_for
from chassis.messaging.transport import InboundMessage
from chassis.service import mounted
from contracts.api.matching import PairingBatch, PairingView
from services.matching.application.pairings import Pairings
from tests.invariants.matching_helpers import INTAKE, PROFILE, feed, new_id, register
from tests.profiles.conftest import token
from tests.support.statements import assert_constant, counted

pytestmark = pytest.mark.kafka

Read = Callable[[], Awaitable[httpx.Response]]
SIZES = (1, 50)


@dataclass
class World:
    """One size's organisation and what its reads need."""

    tenant: str
    size: int
    group_rounds: list[str] = field(default_factory=list)
    big_round: str = ""
    standard_round: str = ""
    withdrawn: list[str] = field(default_factory=list)
    mentor: str = ""  # the standard cohort's one mentor
    mentee: str = ""  # the open cohort's one mentee
    open_cohort: str = ""

    @property
    def coordinator(self) -> dict[str, str]:
        return token(self.tenant, "coordinator")

    @property
    def admin(self) -> dict[str, str]:
        return token(self.tenant, "admin")


async def cohort(app: Any, tenant: str, programme_type: str = "standard") -> str:
    cohort_id = new_id("cohort")
    await feed(
        app,
        tenant,
        "CohortCreated",
        cohort_id=cohort_id,
        name="Leaders",
        programme_type=programme_type,
        capacity=500,
    )
    return cohort_id


async def admit(app: Any, tenant: str, cohort_id: str, person: str, role: str) -> None:
    await feed(
        app,
        tenant,
        "ParticipantAdmitted",
        cohort_id=cohort_id,
        person_id=person,
        role=role,
    )


async def mentor(app: Any, tenant: str, seats: int) -> str:
    person = new_id("mentor")
    await register(app, tenant, person, level=9, roles=["mentor"])
    await feed(
        app,
        tenant,
        "MentorProfileSet",
        person_id=person,
        **{**PROFILE, "max_mentees": seats},
    )
    return person


async def mentee(app: Any, tenant: str) -> str:
    person = new_id("mentee")
    await register(app, tenant, person, level=5, roles=["mentee"])
    await feed(app, tenant, "IntakeSubmitted", person_id=person, **INTAKE)
    return person


async def dead_letter(app: Any, tenant: str) -> None:
    """A message of the tenant that is not a CloudEvent: dead-lettered at once."""
    env = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/profiles",
        type="PersonRegistered",
        subject="p",
        time=utcnow(),
        data={},
        tenant=tenant,
    )
    headers = [(k, v) for k, v in env.kafka_headers() if k != "ce_type"]
    await mounted(app).runtime.consumer.handle(
        InboundMessage(
            topic=topic_for("profiles"),
            partition=0,
            offset=0,
            key=env.kafka_key(),
            value=b"{}",
            headers=headers,
        )
    )


async def round_of(
    client: httpx.AsyncClient, world: World, cohort_id: str, pins: list[dict] = ()
) -> str:
    resp = await client.post(
        "/rounds",
        params={"wait": "true"},
        json={"cohort_id": cohort_id, "pins": list(pins)},
        headers=world.coordinator,
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "completed", resp.json()
    return str(resp.json()["round_id"])


async def build(app: Any, client: httpx.AsyncClient, size: int) -> World:
    world = World(new_id("t"), size)
    tenant = world.tenant
    await feed(
        app,
        tenant,
        "CompetencyDefined",
        competency_id="strategy",
        name="Strategic thinking",
        category="leadership",
    )
    # Small group cohorts, a round each; their mentors keep seats for the large
    # group round (2) and the open cohort (1).
    mentors: list[str] = []
    pairs: list[tuple[str, str]] = []
    for _ in range(size):
        small = await cohort(app, tenant, "group")
        head = await mentor(app, tenant, seats=5)
        await admit(app, tenant, small, head, "mentor")
        mentors.append(head)
        for _ in range(2):
            person = await mentee(app, tenant)
            await admit(app, tenant, small, person, "mentee")
            pairs.append((person, head))
        world.group_rounds.append(await round_of(client, world, small))
    large = await cohort(app, tenant, "group")
    for head in mentors:
        await admit(app, tenant, large, head, "mentor")
    for person, _ in pairs:
        await admit(app, tenant, large, person, "mentee")
    pins = [{"mentee_id": e, "mentor_id": r} for e, r in pairs[::2]]
    world.big_round = await round_of(client, world, large, pins)
    # A standard cohort: one mentor with a seat for each mentee.
    standard = await cohort(app, tenant)
    world.mentor = await mentor(app, tenant, seats=size)
    await admit(app, tenant, standard, world.mentor, "mentor")
    for person, _ in pairs[::2]:
        await admit(app, tenant, standard, person, "mentee")
    world.standard_round = await round_of(client, world, standard)
    listed = await client.get(
        "/pairings",
        params={"round_id": world.standard_round},
        headers=world.coordinator,
    )
    proposals = [p["pairing_id"] for p in listed.json()]
    assert len(proposals) == size, listed.text
    for pairing_id in proposals:
        withdrawn = await client.post(
            f"/pairings/{pairing_id}/withdraw",
            json={"reason": "The mentee changed roles", "reason_code": "other"},
            headers=world.coordinator,
        )
        assert withdrawn.status_code == 204, withdrawn.text
    world.withdrawn = proposals
    # An open cohort: every mentor above (one seat left each) and one more.
    world.open_cohort = await cohort(app, tenant)
    for head in [*mentors, await mentor(app, tenant, seats=1)]:
        await admit(app, tenant, world.open_cohort, head, "mentor")
    world.mentee = await mentee(app, tenant)
    await admit(app, tenant, world.open_cohort, world.mentee, "mentee")
    for _ in range(size):
        await dead_letter(app, tenant)
    return world


def reads(client: httpx.AsyncClient, w: World) -> dict[str, Read]:
    coordinator, as_mentor = w.coordinator, token(w.tenant, "mentor", sub=w.mentor)
    cycles = min(6, w.size + 1)
    rotation = {
        "cohort_id": w.open_cohort,
        "cycles": cycles,
        "cycle_weeks": 4,
        "starts_on": "2027-01-04",
    }
    every = {"limit": 500}
    return {
        "GET /pairings": lambda: client.get(
            "/pairings", params=every, headers=coordinator
        ),
        "GET /pairings?person_id": lambda: client.get(
            "/pairings", params={"person_id": w.mentor, **every}, headers=coordinator
        ),
        "GET /pairings (own, as the mentor)": lambda: client.get(
            "/pairings", params=every, headers=as_mentor
        ),
        "GET /pairings?round_id (standard)": lambda: client.get(
            "/pairings", params={"round_id": w.standard_round}, headers=coordinator
        ),
        "GET /pairings?round_id (group)": lambda: client.get(
            "/pairings", params={"round_id": w.big_round}, headers=coordinator
        ),
        "GET /pairings?state": lambda: client.get(
            "/pairings", params={"state": "withdrawn", **every}, headers=coordinator
        ),
        "POST /pairings/batch": lambda: client.post(
            "/pairings/batch", json={"ids": w.withdrawn}, headers=coordinator
        ),
        "POST /pairings/batch (as the mentor)": lambda: client.post(
            "/pairings/batch", json={"ids": w.withdrawn}, headers=as_mentor
        ),
        "POST /rounds/batch": lambda: client.post(
            "/rounds/batch", json={"ids": w.group_rounds}, headers=coordinator
        ),
        "GET /rounds/{id} (pins, circles)": lambda: client.get(
            f"/rounds/{w.big_round}", headers=coordinator
        ),
        "GET /rounds/{id} (proposals)": lambda: client.get(
            f"/rounds/{w.standard_round}", headers=coordinator
        ),
        "GET /mentees/{id}/suggestions": lambda: client.get(
            f"/mentees/{w.mentee}/suggestions",
            params={"top": 20, "cohort_id": w.open_cohort},
            headers=coordinator,
        ),
        "POST /mentees/{id}/rotation": lambda: client.post(
            f"/mentees/{w.mentee}/rotation", json=rotation, headers=coordinator
        ),
        "GET /mentees/{id}/rotation": lambda: client.get(
            f"/mentees/{w.mentee}/rotation", headers=coordinator
        ),
        "GET /admin/dead-letters": lambda: client.get(
            "/admin/dead-letters", params={"limit": 500}, headers=w.admin
        ),
    }


def lengths(name: str, body: Any) -> int:
    """How long the list a read answered is (to check the lists really grew)."""
    if name == "POST /rounds/batch":
        return sum(len(r["circles"]) for r in body["items"])
    if name.startswith("GET /rounds/{id} (pins"):
        return min(len(body["pinned"]), len(body["circles"]))
    if name.startswith("GET /rounds/{id} (proposals"):
        return int(body["proposed"])
    if "suggestions" in name:
        return len(body["suggestions"])
    if "rotation" in name:
        return len(body["cycles"])
    if isinstance(body, dict):
        return len(body["items"])
    return len(body)


async def lists_hold_to_the_model(
    app: Any, client: httpx.AsyncClient, world: World, role: str, sub: str
) -> None:
    """``GET /pairings`` and ``POST /pairings/batch`` are sent as built, not
    validated again on the way out: every answer is ``PairingView`` field for field
    (dumped as the model dumps it), and says of each pairing what the validated
    reads (``Pairings.list`` and ``Pairings.some``, as models) say of it to the same
    reader: typed reasons, notes, codes, states."""
    pairings = mounted(app).provide(Pairings)
    reader = token(world.tenant, role, sub=sub)
    principal = Principal(sub, world.tenant, frozenset({Role(role)}))
    for params in (
        {"limit": 500},
        {"round_id": world.standard_round},
        {"state": "withdrawn"},
        {"person_id": world.mentor},
    ):
        resp = await client.get("/pairings", params=params, headers=reader)
        listed = resp.json()
        assert listed, (params, resp.text)
        assert listed == [
            PairingView.model_validate(p).model_dump(mode="json") for p in listed
        ]
        models = await pairings.list(principal, **params)  # type: ignore[arg-type]
        assert listed == [m.model_dump(mode="json") for m in models]
        ids = [p["pairing_id"] for p in listed]
        batch = await client.post("/pairings/batch", json={"ids": ids}, headers=reader)
        items = batch.json()["items"]
        assert (
            items
            == PairingBatch.model_validate(batch.json()).model_dump(mode="json")[
                "items"
            ]
        )
        assert items == [
            m.model_dump(mode="json") for m in await pairings.some(principal, ids)
        ]


async def test_every_list_and_batch_read_is_constant_in_statements(matching):
    app, client = matching
    engine = mounted(app).runtime.engine
    measured: dict[int, dict[str, list[str]]] = {}
    answered: dict[int, dict[str, int]] = {}
    for size in SIZES:
        world = await build(app, client, size)
        measured[size], answered[size] = {}, {}
        for name, read in reads(client, world).items():
            # caches warm, as for any later request; nothing listens to the engine,
            # so its reads run on the driver (``chassis.db.read``)
            unwatched = await read()
            async with counted(engine) as statements:
                resp = await read()
            assert resp.status_code in (200, 201), (name, resp.text)
            if "/pairings" in name:  # the same answer either way
                assert unwatched.json() == resp.json(), name
            measured[size][name] = list(statements)
            answered[size][name] = lengths(name, resp.json())
        # A batch answers each round as its own read does, in the order asked.
        batch = await client.post(
            "/rounds/batch",
            json={"ids": [*world.group_rounds, "no-such-round", world.withdrawn[0]]},
            headers=world.coordinator,
        )
        one_by_one = [
            (await client.get(f"/rounds/{r}", headers=world.coordinator)).json()
            for r in world.group_rounds
        ]
        assert batch.json()["items"] == one_by_one
        # The notes stay the coordinator's (and their author's): not the mentor's.
        ids = {"ids": world.withdrawn}
        for reader, texts in (
            (world.coordinator, ["The mentee changed roles"]),
            (token(world.tenant, "mentor", sub=world.mentor), []),
        ):
            items = await client.post("/pairings/batch", json=ids, headers=reader)
            notes = [[n["text"] for n in p["notes"]] for p in items.json()["items"]]
            assert notes == [texts] * size
        await lists_hold_to_the_model(app, client, world, "coordinator", "c-1")
        await lists_hold_to_the_model(app, client, world, "mentor", world.mentor)
    print(
        "statements per read (small → large):",
        {
            name: f"{len(measured[1][name])}→{len(measured[50][name])}"
            for name in measured[1]
        },
    )
    # The lists really grew (to the largest a read answers: top 20, six cycles).
    grown = {n for n in answered[1] if answered[50][n] > answered[1][n]}
    assert grown == set(answered[1]), (answered[1], answered[50])
    for name in measured[1]:
        assert_constant(name, measured[1][name], measured[50][name])

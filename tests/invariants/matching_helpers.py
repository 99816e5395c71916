"""Build a matching service and a cohort for it, fast, for the invariant tests.

The service is the one ``services.matching.main.build_app`` composes (the same as
``tests/matching/``); what profiles would publish reaches it through its own consumer
(``ConsumerRunner.handle``: the same handlers, applied once, as from the broker), so a
fresh cohort costs a few transactions instead of a round trip through profiles and
Kafka. Every scenario uses a tenant of its own, so one database serves many.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import topic_for
from chassis.messaging.transport import InboundMessage
from chassis.service import mounted
from services.matching.main import build_app
from services.matching.settings import Settings
from tests.apps import serving
from tests.profiles.conftest import token

LIVE = ("proposed", "approved", "confirmed")
OPEN = ("proposed", "approved")
PROFILE = {
    "strengths": [{"competency_id": "strategy", "proficiency": 5}],
    "markets": ["APAC"],
    "formats": ["one_to_one"],
    "hours_per_month": 6,
    "availability": [{"weekday": 1, "start": "08:00", "end": "12:00"}],
    "max_mentees": 1,
}
INTAKE = {
    "goals": [{"competency_id": "strategy", "current": 2, "target": 4}],
    "experiences_lacking": ["APAC"],
    "preferred_formats": ["one_to_one"],
    "hours_per_month": 4,
}


@pytest.fixture
async def matching_pg(postgres_server, kafka_bootstrap):
    """The matching app on a fresh PostgreSQL database and the real broker."""
    service = build_app(
        Settings(
            environment="test",
            database_url=postgres_server.create_database(),
            kafka_bootstrap_servers=kafka_bootstrap,
        )
    )
    async with serving(service, "matching") as c:
        yield service, c


async def feed(app: Any, tenant: str, kind: str, **data: Any) -> None:
    """Deliver one profiles event to matching's consumer, as the broker would."""
    env = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/profiles",
        type=kind,
        subject=str(data.get("person_id") or data.get("cohort_id")),
        time=utcnow(),
        data=data,
        tenant=tenant,
    )
    consumer = mounted(app).runtime.consumer
    before = consumer.dead_letters
    await consumer.handle(
        InboundMessage(
            topic=topic_for("profiles"),
            partition=0,
            offset=0,
            key=env.kafka_key(),
            value=env.kafka_value(),
            headers=env.kafka_headers(),
        )
    )
    assert consumer.dead_letters == before, f"{kind} was dead-lettered"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class Org:
    tenant: str
    cohort: str
    mentors: list[str]
    mentees: list[str]
    people: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def coordinator(self) -> dict[str, str]:
        return token(self.tenant, "coordinator")

    def person(self, person_id: str) -> dict[str, str]:
        return token(self.tenant, "mentee", sub=person_id)


async def register(
    app: Any,
    tenant: str,
    person_id: str,
    *,
    level: int,
    roles: list[str],
    manager_id: str | None = None,
    business_unit: str = "Retail",
) -> None:
    await feed(
        app,
        tenant,
        "PersonRegistered",
        person_id=person_id,
        level=level,
        business_unit=business_unit,
        function="Finance",
        geography="GB",
        time_zone="Europe/London",
        manager_id=manager_id,
        languages=["en"],
        roles=roles,
    )


async def build_org(
    app: Any,
    *,
    seats: list[int] = (1,),  # type: ignore[assignment]
    mentees: int = 3,
    programme_type: str = "standard",
) -> Org:
    """A cohort of ``mentees`` mentees with an intake and one mentor per entry of
    ``seats`` (that many seats each), in a tenant of its own."""
    tenant = new_id("t")
    cohort = new_id("cohort")
    await feed(
        app,
        tenant,
        "CohortCreated",
        cohort_id=cohort,
        name="Leaders",
        programme_type=programme_type,
        capacity=50,
    )
    org = Org(tenant, cohort, [], [])
    for n, capacity in enumerate(seats):
        mentor = new_id(f"mentor{n}")
        await register(app, tenant, mentor, level=9, roles=["mentor"])
        await feed(
            app,
            tenant,
            "MentorProfileSet",
            person_id=mentor,
            **{**PROFILE, "max_mentees": capacity},
        )
        await admit(app, org, mentor, "mentor")
        org.mentors.append(mentor)
    for n in range(mentees):
        mentee = new_id(f"mentee{n}")
        await register(app, tenant, mentee, level=5, roles=["mentee"])
        await feed(app, tenant, "IntakeSubmitted", person_id=mentee, **INTAKE)
        await admit(app, org, mentee, "mentee")
        org.mentees.append(mentee)
    return org


async def admit(app: Any, org: Org, person_id: str, role: str) -> None:
    await feed(
        app,
        org.tenant,
        "ParticipantAdmitted",
        cohort_id=org.cohort,
        person_id=person_id,
        role=role,
    )


async def set_capacity(app: Any, org: Org, mentor: str, seats: int) -> None:
    await feed(
        app,
        org.tenant,
        "MentorCapacityChanged",
        person_id=mentor,
        max_mentees=seats,
        hours_per_month=6,
    )


async def pairings(app: Any, tenant: str) -> list[Any]:
    """Every pairing of the tenant as the projection holds it."""
    async with mounted(app).runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pairing_id, cohort_id, mentor_id, mentee_id, state, replaces, "
                "accepted_by FROM pairings WHERE tenant = :t ORDER BY pairing_id"
            ),
            {"t": tenant},
        )
        return list(rows)


async def capacities(app: Any, tenant: str) -> dict[str, int]:
    import json

    async with mounted(app).runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT person_id, mentor_profile FROM candidates WHERE tenant = :t "
                "AND mentor_profile IS NOT NULL"
            ),
            {"t": tenant},
        )
        return {r.person_id: json.loads(r.mentor_profile)["max_mentees"] for r in rows}


def over_capacity(rows: list[Any], seats: dict[str, int]) -> dict[str, int]:
    """Mentors holding more live pairings than seats, where any of them is still
    open (a mentor who lowers their capacity keeps the pairings already confirmed,
    but nothing open may stay above it)."""
    live = Counter(r.mentor_id for r in rows if r.state in LIVE)
    open_ = Counter(r.mentor_id for r in rows if r.state in OPEN)
    return {m: n for m, n in live.items() if n > seats.get(m, 0) and open_[m] > 0}


def doubly_paired(rows: list[Any]) -> dict[tuple[str, str], int]:
    """(cohort, mentee) with more than one live pairing, a replacement and the
    pairing it replaces counting once."""
    replaced = {r.replaces for r in rows if r.state in LIVE and r.replaces}
    live = Counter(
        (r.cohort_id, r.mentee_id)
        for r in rows
        if r.state in LIVE and r.pairing_id not in replaced
    )
    return {k: n for k, n in live.items() if n > 1}


async def event_types(app: Any, tenant: str) -> Counter:
    """How many events of each type the tenant's streams hold."""
    async with mounted(app).runtime.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT event_type FROM events WHERE tenant = :t"), {"t": tenant}
        )
        return Counter(r.event_type for r in rows)


async def snapshot(app: Any, tenant: str) -> tuple[Any, ...]:
    """Everything a refused command must leave as it was: the pairings (with who
    accepted) and the count of every kind of event."""
    async with mounted(app).runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pairing_id, state, accepted_by FROM pairings WHERE tenant = :t "
                "ORDER BY pairing_id"
            ),
            {"t": tenant},
        )
        table = tuple(tuple(r) for r in rows)
    return table, tuple(sorted((await event_types(app, tenant)).items()))

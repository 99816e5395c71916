"""The five services on real PostgreSQL and Kafka, seeded with real resources.

Two organisations get the same set of resources, each through the public HTTP API and
the real event flow (profiles → Kafka → matching → Kafka → sessions → insights): people
with a mentor profile and an intake, a cohort, an import job, a matching round and a
confirmed pairing, the relationship it started with a signed contract, a session, a
note, a milestone, a rotation, an escalation, a pulse survey, an advisor with an
agreement, an engagement, a council with a recommendation, a risk.

``home`` is the caller's organisation in the hostile suite (its ids make the rest of a
request valid); ``foreign`` is the other one (its ids are the wrong-tenant references).
A step that fails is noted, not fatal: the suite then covers that resource with
made-up ids only, and says so.
"""

from __future__ import annotations

import asyncio
import importlib
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.apps import serving
from tests.profiles.conftest import person, token

SERVICES = ("profiles", "matching", "sessions", "advisors", "insights")
CALLER_ROLES = ("admin", "coordinator")
CHECKS = ("background", "conflict_of_interest", "confidentiality", "compliance")


def build(service: str, database_url: str, kafka: str) -> FastAPI:
    """The service's own composition root, with periodic sweeps made rare.

    A sweep that ran in the middle of the suite would change state between the two
    reads that prove a refused request changed nothing.
    """
    module = importlib.import_module(f"services.{service}.main")
    settings_type = module.Settings
    extra: dict[str, Any] = {}
    if "expiry_sweep_s" in settings_type.model_fields:
        extra["expiry_sweep_s"] = 3600
    settings = settings_type(
        environment="test",
        database_url=database_url,
        kafka_bootstrap_servers=kafka,
        **extra,
    )
    return module.build_app(settings)


@dataclass
class Seeded:
    databases: dict[str, str]
    home: str
    foreign: str
    seeds: dict[str, dict[str, str]]  # tenant → resource → id
    failed_steps: list[str] = field(default_factory=list)

    def caller(self, tenant: str | None = None) -> dict[str, str]:
        """An admin + coordinator token of ``tenant`` (the home one by default)."""
        return token(tenant or self.home, *CALLER_ROLES, sub="hostile-admin")

    def callers(self) -> list[tuple[str, dict[str, str]]]:
        """The admin, then each party of the home organisation's seeded resources
        (tried in turn where the admin is forbidden)."""
        ids = self.seeds[self.home]
        out = [("admin", self.caller())]
        for role, key in (
            ("mentee", "person"),
            ("mentor", "mentor"),
            ("advisor", "advisor"),
        ):
            if key in ids:
                out.append((role, token(self.home, role, sub=ids[key])))
        return out


async def until(
    check: Callable[[], Awaitable[Any]], what: str, timeout_s: float = 90
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Seeder:
    """Creates one organisation's resources through the services' HTTP APIs."""

    def __init__(
        self, apps: dict[str, FastAPI], clients: dict[str, httpx.AsyncClient], tenant
    ) -> None:
        self.apps = apps
        self.c = clients
        self.tenant = tenant
        self.admin = token(tenant, *CALLER_ROLES, sub="seed-admin")
        self.sponsor = token(tenant, "sponsor", sub="seed-sponsor")
        self.ids: dict[str, str] = {}
        self.failed: list[str] = []
        self.today = datetime.now(UTC).date()

    def as_(self, role: str, sub: str) -> dict[str, str]:
        return token(self.tenant, role, sub=sub)

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        **kw: Any,
    ) -> Any:
        response = await self.c[service].request(
            method, path, headers=headers or self.admin, **kw
        )
        if response.status_code not in ok:
            raise AssertionError(
                f"{service} {method} {path} -> {response.status_code}: "
                f"{response.text[:300]}"
            )
        return response.json() if response.content else None

    async def step(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except Exception as exc:  # noted; the suite goes on with made-up ids
            self.failed.append(f"{self.tenant}: {name}: {exc}")

    async def run(self) -> dict[str, str]:
        await self.profiles()  # everything else stands on these: not optional
        await self.step("matching round and confirmed pairing", self.matching)
        await self.step("sessions relationship", self.relationship)
        for name, work in (
            ("session", self.session),
            ("note", self.note),
            ("milestone", self.milestone),
            ("rotation", self.rotation),
            ("escalation", self.escalation),
            ("pulse survey", self.survey),
            ("journal prompt", self.prompt),
            ("advisor", self.advisor),
            ("agreement and engagement", self.agreement),
            ("council", self.council),
            ("risk", self.risk),
        ):
            await self.step(name, work)
        self.ids.update(
            check=CHECKS[0],
            purpose="matching",
            scim_type="User",
            scim_schema="urn:ietf:params:scim:schemas:core:2.0:User",
        )
        return self.ids

    # -- profiles ------------------------------------------------------------------

    async def profiles(self) -> None:
        tag = uuid.uuid4().hex[:8]
        competency = f"strategy-{tag}"
        await self.call(
            "profiles",
            "POST",
            "/competencies",
            json={"competency_id": competency, "name": "Strategic thinking"},
        )
        self.ids["competency"] = competency
        mentor = await self.call(
            "profiles",
            "POST",
            "/people",
            json=person(
                1,
                given_name="Grace",
                email=f"grace-{tag}@example.com",
                employee_id=f"M{tag}",
                level=9,
                roles=["mentor"],
            ),
        )
        mentee = await self.call(
            "profiles",
            "POST",
            "/people",
            json=person(
                2,
                email=f"ada-{tag}@example.com",
                employee_id=f"E{tag}",
                roles=["mentee"],
            ),
        )
        self.ids["mentor"] = mentor["person_id"]
        self.ids["person"] = mentee["person_id"]
        await self.call(
            "profiles",
            "PUT",
            f"/people/{self.ids['mentor']}/mentor-profile",
            json={
                "strengths": [{"competency_id": competency, "proficiency": 5}],
                "formats": ["one_to_one"],
                "max_mentees": 3,
                "hours_per_month": 6,
                "availability": [
                    {"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)
                ],
            },
        )
        await self.call(
            "profiles",
            "PUT",
            f"/people/{self.ids['person']}/intake",
            json={
                "goals": [{"competency_id": competency, "current": 2, "target": 4}],
                "hours_per_month": 4,
                "preferred_formats": ["one_to_one"],
            },
        )
        cohort = await self.call(
            "profiles",
            "POST",
            "/cohorts",
            json={"name": f"Leaders {tag}", "capacity": 20},
        )
        self.ids["cohort"] = cohort["cohort_id"]
        for who, role in (("mentor", "mentor"), ("person", "mentee")):
            await self.call(
                "profiles",
                "POST",
                f"/cohorts/{self.ids['cohort']}/participants",
                json={"person_id": self.ids[who], "role": role},
            )
        job = await self.call(
            "profiles",
            "POST",
            "/imports",
            params={"wait": "true"},
            json={
                "people": [
                    {
                        k: v
                        for k, v in person(
                            3, email=f"imp-{tag}@example.com", employee_id=f"I{tag}"
                        ).items()
                        if k != "roles"
                    }
                ]
            },
            headers={**self.admin, "Idempotency-Key": f"hostile-{tag}"},
        )
        self.ids["job"] = job.get("job_id") or job.get("id")

    # -- matching ------------------------------------------------------------------

    async def matching(self) -> None:
        engine = self.apps["matching"].state.runtime.engine
        cohort = self.ids["cohort"]

        async def seen() -> bool:
            async with engine.connect() as conn:
                count = (
                    await conn.execute(
                        text(
                            "SELECT count(*) FROM cohort_members m JOIN candidates c "
                            "ON c.person_id = m.person_id WHERE m.cohort_id = :c "
                            "AND (c.intake IS NOT NULL OR c.mentor_profile IS NOT NULL)"
                        ),
                        {"c": cohort},
                    )
                ).scalar_one()
            return count >= 2

        await until(seen, "matching to see the cohort")
        started = await self.call(
            "matching",
            "POST",
            "/rounds",
            params={"wait": "true"},
            json={"cohort_id": cohort},
        )
        self.ids["round"] = started["round_id"]
        pairings = await self.call(
            "matching", "GET", "/pairings", params={"round_id": self.ids["round"]}
        )
        items = pairings["items"] if isinstance(pairings, dict) else pairings
        pairing = items[0]["pairing_id"]
        self.ids["pairing"] = pairing
        await self.call("matching", "POST", f"/pairings/{pairing}/approve")
        for side, role in (("mentor", "mentor"), ("person", "mentee")):
            await self.call(
                "matching",
                "POST",
                f"/pairings/{pairing}/accept",
                headers=self.as_(role, self.ids[side]),
            )

    # -- sessions ------------------------------------------------------------------

    @property
    def mentor_token(self) -> dict[str, str]:
        return self.as_("mentor", self.ids["mentor"])

    @property
    def mentee_token(self) -> dict[str, str]:
        return self.as_("mentee", self.ids["person"])

    async def relationship(self) -> None:
        pairing = self.ids["pairing"]

        async def started() -> bool:
            r = await self.c["sessions"].get(
                f"/relationships/{pairing}", headers=self.admin
            )
            return r.status_code == 200

        await until(started, "sessions to start the relationship")
        self.ids["relationship"] = pairing
        drafted = await self.call(
            "sessions",
            "PUT",
            f"/relationships/{pairing}/contract",
            headers=self.mentee_token,
            json={
                "cadence": {"every_days": 14, "minutes": 60},
                "hours_per_month": 4,
                "objectives": ["Present the strategic plan to the board"],
                "terms": "Confidential; feedback after every session.",
            },
        )
        version = drafted["contract"]["version"]
        for who in (self.mentee_token, self.mentor_token):
            await self.call(
                "sessions",
                "POST",
                f"/relationships/{pairing}/contract/signatures",
                headers=who,
                json={"version": version},
            )

    async def session(self) -> None:
        starts = datetime.combine(
            self.today + timedelta(days=7), datetime.min.time(), UTC
        ) + timedelta(hours=10)
        made = await self.call(
            "sessions",
            "POST",
            f"/relationships/{self.ids['relationship']}/sessions",
            headers=self.mentor_token,
            json={"starts_at": starts.isoformat(), "minutes": 60},
        )
        self.ids["session"] = made["session_id"]

    async def note(self) -> None:
        made = await self.call(
            "sessions",
            "POST",
            f"/relationships/{self.ids['relationship']}/notes",
            headers=self.mentee_token,
            json={"kind": "session_note", "visibility": "shared", "body": "Went well"},
        )
        self.ids["note"] = made["note_id"]

    async def milestone(self) -> None:
        made = await self.call(
            "sessions",
            "POST",
            f"/relationships/{self.ids['relationship']}/milestones",
            headers=self.mentee_token,
            json={
                "objective_index": 0,
                "label": "Board presentation drafted",
                "due_on": (self.today + timedelta(days=60)).isoformat(),
                "criteria": ["Draft reviewed by the mentor"],
            },
        )
        self.ids["milestone"] = made.get("milestone_id") or made.get("id")

    async def rotation(self) -> None:
        made = await self.call(
            "sessions",
            "POST",
            "/rotations",
            json={
                "relationship_id": self.ids["relationship"],
                "host_id": self.ids["mentor"],
                "function": "Operations",
                "starts_on": (self.today + timedelta(days=7)).isoformat(),
                "ends_on": (self.today + timedelta(days=21)).isoformat(),
                "project_kind": "process_redesign",
            },
        )
        self.ids["rotation"] = made.get("rotation_id") or made.get("id")

    async def escalation(self) -> None:
        made = await self.call(
            "sessions",
            "POST",
            f"/relationships/{self.ids['relationship']}/escalations",
            headers=self.mentee_token,
            json={"category": "availability", "detail": "Hard to find a slot"},
        )
        self.ids["escalation"] = made.get("escalation_id") or made.get("id")

    async def survey(self) -> None:
        made = await self.call(
            "sessions",
            "POST",
            "/pulse-surveys",
            json={
                "cohort_id": self.ids["cohort"],
                "questions": ["How useful was your last session?"],
                "closes_at": (datetime.now(UTC) + timedelta(days=14)).isoformat(),
            },
        )
        self.ids["survey"] = made.get("survey_id") or made.get("id")

    async def prompt(self) -> None:
        prompts = await self.call("sessions", "GET", "/journal-prompts")
        items = prompts.get("items", prompts) if isinstance(prompts, dict) else prompts
        first = items[0]
        self.ids["prompt"] = first.get("prompt_id") or first.get("id")

    # -- advisors ------------------------------------------------------------------

    async def advisor(self) -> None:
        made = await self.call(
            "advisors",
            "POST",
            "/advisors",
            headers=self.sponsor,
            json={
                "name": "Grace Hopper",
                "email": f"grace-{uuid.uuid4().hex[:6]}@navy.example",
                "organisation": "Ministry of Compilers",
                "bio": "Wrote the first compiler.",
                "expertise_sought": ["board governance"],
            },
        )
        aid = made["advisor_id"]
        self.ids["advisor"] = aid
        await self.call("advisors", "POST", f"/advisors/{aid}/diligence")
        expiry = (self.today + timedelta(days=365)).isoformat()
        for check in CHECKS:
            await self.call(
                "advisors",
                "PUT",
                f"/advisors/{aid}/checks/{check}",
                json={
                    "status": "passed",
                    "evidence": f"{check} file 42",
                    "owner": "compliance-1",
                    "expires_on": expiry,
                },
            )
        await self.call(
            "advisors",
            "POST",
            f"/advisors/{aid}/approve",
            json={"geography": "GB", "time_zone": "Europe/London", "languages": ["en"]},
        )

    async def agreement(self) -> None:
        made = await self.call(
            "advisors",
            "POST",
            "/agreements",
            json={
                "advisor_id": self.ids["advisor"],
                "starts_on": self.today.isoformat(),
                "ends_on": (self.today + timedelta(days=300)).isoformat(),
                "scope": "mentoring",
                "hours_per_month": 6,
                "compensation": {"pro_bono": True},
            },
        )
        self.ids["agreement"] = made["agreement_id"]
        engaged = await self.call(
            "advisors",
            "POST",
            "/engagements",
            json={
                "advisor_id": self.ids["advisor"],
                "topic": "governance",
                "on": (self.today + timedelta(days=10)).isoformat(),
                "audience_size": 12,
            },
        )
        self.ids["engagement"] = engaged["engagement_id"]

    async def council(self) -> None:
        made = await self.call(
            "advisors",
            "POST",
            "/councils",
            json={
                "name": "Transformation council",
                "purpose": "Advise the programme on its transformation track",
                "cadence_weeks": 6,
            },
        )
        council = made["council_id"]
        self.ids["council"] = council
        await self.call(
            "advisors",
            "POST",
            f"/councils/{council}/members",
            json={"member_id": self.ids["advisor"], "kind": "advisor"},
        )
        meeting = await self.call(
            "advisors",
            "POST",
            f"/councils/{council}/meetings",
            json={
                "held_on": self.today.isoformat(),
                "attendees": 4,
                "agenda": ["Retention"],
            },
        )
        self.ids["meeting"] = meeting["meeting_id"]
        recommendation = await self.call(
            "advisors",
            "POST",
            f"/councils/{council}/recommendations",
            headers=self.as_("advisor", self.ids["advisor"]),
            json={
                "meeting_id": self.ids["meeting"],
                "title": "Pair new VPs",
                "made_by": self.ids["advisor"],
            },
        )
        self.ids["recommendation"] = recommendation["recommendation_id"]

    async def risk(self) -> None:
        made = await self.call(
            "advisors",
            "POST",
            "/risks",
            json={
                "title": "Executives lack time",
                "category": "programme",
                "likelihood": 3,
                "impact": 4,
                "owner_id": "coordinator-1",
            },
        )
        self.ids["risk"] = made["risk_id"]


async def seed_platform(postgres_server: Any, kafka: str) -> Seeded:
    """Start every service, seed two organisations, wait for insights, stop them."""
    suffix = uuid.uuid4().hex[:8]
    home, foreign = f"hostile-home-{suffix}", f"hostile-foreign-{suffix}"
    databases = {name: postgres_server.create_database() for name in SERVICES}
    async with AsyncExitStack() as stack:
        apps: dict[str, FastAPI] = {}
        clients: dict[str, httpx.AsyncClient] = {}
        for name in SERVICES:
            apps[name] = build(name, databases[name], kafka)
            clients[name] = await stack.enter_async_context(serving(apps[name], name))
        seeders = [Seeder(apps, clients, tenant) for tenant in (foreign, home)]
        found = await asyncio.gather(*(s.run() for s in seeders))
        seeds = {s.tenant: ids for s, ids in zip(seeders, found, strict=True)}
        failed = [f for s in seeders for f in s.failed]
        await _until_insights_knows(apps["insights"], seeds, failed)
    return Seeded(databases, home, foreign, seeds, failed)


async def _until_insights_knows(
    app: FastAPI, seeds: dict[str, dict[str, str]], failed: list[str]
) -> None:
    """insights reads every topic: wait until it holds each organisation's facts."""
    engine = app.state.runtime.engine
    for tenant, ids in seeds.items():
        if "relationship" not in ids:
            continue

        async def known(tenant: str = tenant, rel: str = ids["relationship"]) -> bool:
            async with engine.connect() as conn:
                return bool(
                    (
                        await conn.execute(
                            text(
                                "SELECT count(*) FROM relationship_health "
                                "WHERE tenant = :t AND relationship_id = :r"
                            ),
                            {"t": tenant, "r": rel},
                        )
                    ).scalar_one()
                )

        try:
            await until(known, "insights to assess the relationship", 60)
        except AssertionError as exc:
            failed.append(f"{tenant}: insights: {exc}")


def today() -> date:
    return datetime.now(UTC).date()

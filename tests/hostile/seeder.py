"""One organisation's resources, created through the services' HTTP APIs.

People, competency, cohort and import job in profiles; a matching round whose pairing
is approved and accepted by both parties (so matching publishes ``PairingConfirmed``
and sessions starts the relationship); then the relationship's resources
(``seed_relationship``) and the advisors' (``seed_advisors``). A step that fails is
noted in ``failed`` and the rest goes on.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.hostile.seed_advisors import CHECKS, AdvisorSeeds
from tests.hostile.seed_relationship import RelationshipSeeds
from tests.profiles.conftest import person, token
from tests.support.waiting import until

CALLER_ROLES = ("admin", "coordinator")


class Seeder(RelationshipSeeds, AdvisorSeeds):
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

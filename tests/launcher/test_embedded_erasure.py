"""The embedded mode forgets bytes too: after an erasure, no file of the data folder
holds the person's name, email, employee id or the free text they wrote."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from sqlalchemy import text

from chassis.auth.tokens import mint_token
from chassis.settings import DEFAULT_DEV_SECRET
from launcher.embedded import build_platform
from launcher.registry import SERVICES
from tests.support.waiting import until


def bearer(subject: str, *roles: str) -> dict[str, str]:
    token = mint_token(
        DEFAULT_DEV_SECRET, subject, "demo", list(roles), "tandem-dev", "tandem"
    )
    return {"Authorization": f"Bearer {token}"}


def files_holding(folder: Path, values: list[str]) -> dict[str, list[str]]:
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            hits = [v for v in values if v.encode() in data]
            if hits:
                found[str(path.relative_to(folder))] = hits
    return found


async def test_after_an_erasure_no_file_of_the_running_platform_holds_the_person(
    tmp_path,
):
    data = tmp_path / "data"
    app = build_platform(data)
    tag = uuid.uuid4().hex[:10]
    secrets = [f"Zebulon{tag}", f"zq{tag}@sweep.example", f"EMP{tag}", f"lacks{tag}"]
    admin = bearer("admin-1", "admin", "coordinator")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            made = await c.post(
                "/profiles/competencies",
                json={"competency_id": "strategy", "name": "Strategy"},
                headers=admin,
            )
            assert made.status_code == 201, made.text
            made = await c.post(
                "/profiles/people",
                json={
                    "given_name": secrets[0],
                    "family_name": "Quixote",
                    "email": secrets[1],
                    "employee_id": secrets[2],
                    "level": 4,
                    "business_unit": "Operations",
                    "function": "Supply chain",
                    "geography": "DE",
                    "time_zone": "Europe/Berlin",
                    "roles": ["mentee"],
                },
                headers=admin,
            )
            assert made.status_code == 201, made.text
            person = made.json()["person_id"]
            intake = await c.put(
                f"/profiles/people/{person}/intake",
                json={
                    "goals": [{"competency_id": "strategy", "current": 2, "target": 4}],
                    "hours_per_month": 4,
                    "experiences_lacking": [secrets[3]],
                },
                headers=bearer(person, "mentee"),
            )
            assert intake.status_code == 204, intake.text
            engines = {n: app.state.apps[n].state.runtime.engine for n in SERVICES}

            async def candidates() -> int:
                async with engines["matching"].connect() as conn:
                    return (
                        await conn.execute(
                            text(
                                "SELECT count(*) FROM candidates WHERE person_id = :p"
                            ),
                            {"p": person},
                        )
                    ).scalar_one()

            # The in-process bus delivers while this waits.
            learnt = await until(candidates, "matching to learn the intake", 30)
            assert learnt == 1, "matching learnt the intake more than once"

            # Profiles keeps it sealed; matching's copy reaches disk when it has
            # applied the intake (its candidate row exists from the registration).
            async def on_disk() -> dict[str, list[str]]:
                return files_holding(data, secrets[3:])

            await until(on_disk, "the intake on disk", 30)

            erased = await c.delete(f"/profiles/people/{person}", headers=admin)
            assert erased.status_code == 204, erased.text

            async def forgotten() -> bool:
                return await candidates() == 0

            await until(forgotten, "matching to forget the person", 30)
            for name in SERVICES:
                await app.state.apps[name].state.runtime.scrubber.wait()
            # While the platform still runs: the databases and their logs.
            assert files_holding(data, secrets) == {}

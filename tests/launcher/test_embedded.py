"""The one-process platform (README's first command) serves every registered service."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from chassis.auth.tokens import mint_token
from chassis.settings import DEFAULT_DEV_SECRET
from launcher.embedded import build_platform
from launcher.registry import SERVICES
from tests.profiles.test_scim import user
from tests.support.waiting import until


async def test_embedded_platform_serves_the_services(tmp_path):
    app = build_platform(tmp_path / "data")
    jwt = mint_token(
        DEFAULT_DEV_SECRET, "c-1", "demo", ["coordinator"], "tandem-dev", "tandem"
    )
    headers = {"Authorization": f"Bearer {jwt}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://tandem"
        ) as c:
            index = (await c.get("/")).json()
            assert set(index["services"]) == set(SERVICES)
            for name in SERVICES:
                ready = await c.get(f"/{name}/readyz")
                assert ready.status_code == 200, ready.text
            created = await c.post(
                "/profiles/people",
                json={
                    "given_name": "Demo",
                    "family_name": "Person",
                    "email": "demo@example.org",
                    "level": 4,
                    "business_unit": "Operations",
                    "function": "Supply chain",
                    "geography": "DE",
                    "time_zone": "Europe/Berlin",
                    "roles": ["mentee"],
                },
                headers=headers,
            )
            assert created.status_code == 201, created.text
            pid = created.json()["person_id"]
            got = await c.get(f"/profiles/people/{pid}", headers=headers)
            assert got.json()["given_name"] == "Demo"
            # The gateway answers GraphQL over the same services.
            query = {"query": "{ people(first: 5) { edges { node { givenName } } } }"}
            answer = (await c.post("/graphql", json=query, headers=headers)).json()
            names = [e["node"]["givenName"] for e in answer["data"]["people"]["edges"]]
            assert names == ["Demo"]
            # The in-process bus carries profiles' events to matching's candidate view.
            matching = app.state.apps["matching"].state.runtime.engine

            async def candidates() -> int:
                async with matching.connect() as conn:
                    return (
                        await conn.execute(
                            text(
                                "SELECT count(*) FROM candidates WHERE person_id = :p"
                            ),
                            {"p": pid},
                        )
                    ).scalar_one()

            seen = await until(candidates, "matching's candidate", 10, interval_s=0.05)
            assert seen == 1
    assert (tmp_path / "data" / "profiles.db").exists()


async def test_links_the_platform_returns_resolve_on_its_own_host(tmp_path):
    """The calendar feed GraphQL hands out and SCIM's ``meta.location`` are absolute
    addresses that answer on the one-process platform, mount prefix included."""
    app = build_platform(tmp_path / "data")
    person = "p-links"
    jwt = mint_token(
        DEFAULT_DEV_SECRET, person, "demo", ["mentor"], "tandem-dev", "tandem"
    )
    admin = mint_token(
        DEFAULT_DEV_SECRET,
        "a-1",
        "demo",
        ["admin", "integration"],
        "tandem-dev",
        "tandem",
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://tandem.example"
        ) as c:
            minted = (
                await c.post(
                    "/graphql",
                    json={
                        "query": "mutation { createCalendarFeed { "
                        "... on CalendarFeedSuccess { url token } } }"
                    },
                    headers={"Authorization": f"Bearer {jwt}"},
                )
            ).json()
            url = minted["data"]["createCalendarFeed"]["url"]
            assert url.startswith("https://tandem.example/sessions/calendar/"), url
            feed = await c.get(url)
            assert feed.status_code == 200, feed.text
            assert feed.headers["content-type"].startswith("text/calendar")

            created = await c.post(
                "/profiles/scim/v2/Users",
                json=user(1),
                headers={
                    "Authorization": f"Bearer {admin}",
                    "Content-Type": "application/scim+json",
                },
            )
            assert created.status_code == 201, created.text
            location = created.json()["meta"]["location"]
            assert location.startswith(
                "https://tandem.example/profiles/scim/v2/Users/"
            ), location
            assert created.headers["location"] == location
            again = await c.get(location, headers={"Authorization": f"Bearer {admin}"})
            assert again.status_code == 200, again.text

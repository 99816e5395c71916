"""Every list and batch read of the advisors service sends as many SQL statements for
a list of 50 as for a list of 1, and still leaves out what the caller may not see
(another advisor's agreements, another owner's risks, a council the caller does not
sit on, another organisation's advisor)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import pytest

from chassis.service import mounted
from services.advisors.application.agreements import Agreements
from services.advisors.application.councils import Councils
from tests.advisors.conftest import COORDINATOR, OTHER_TENANT, SPONSOR
from tests.advisors.test_lifecycle_api import proposal
from tests.profiles.conftest import token
from tests.sessions.test_statement_counts import Reads, every_constant

pytestmark = pytest.mark.kafka


async def approved_anyone(_tenant: str, _advisor_id: str) -> str:
    """The lifecycle's answer for every advisor id (the lifecycle is not under test)."""
    return "approved"


async def post(client, url: str, body: dict | None, headers) -> dict:
    resp = await client.post(url, json=body, headers=headers)
    assert resp.status_code == 201, f"{url}: {resp.text}"
    return resp.json()


async def in_chunks(n: int, make: Callable[[int], Awaitable[Any]]) -> list[Any]:
    """``make(i)`` for i in 0..n-1, a few at a time (each writes its own stream)."""
    made: list[Any] = []
    for at in range(0, n, 7):
        made += await asyncio.gather(*(make(i) for i in range(at, min(n, at + 7))))
    return made


def items(answer: Any) -> list[dict]:
    if isinstance(answer, list):
        return answer
    for key in ("items", "risks"):
        if key in answer:
            return answer[key]
    raise AssertionError(answer)


async def test_advisor_lists_and_batches(advisors):
    app, c = advisors
    theirs = (await post(c, "/advisors", proposal(), OTHER_TENANT))["advisor_id"]
    mine = [(await post(c, "/advisors", proposal(), SPONSOR))["advisor_id"]]

    async def measure(reads: Reads) -> None:
        himself = token("acme", "advisor", sub=mine[0])
        body = {"ids": [*mine, theirs]}
        await reads.read("GET /advisors", "GET", "/advisors", COORDINATOR)
        await reads.read("GET /advisors (advisor)", "GET", "/advisors", himself)
        await reads.read(
            "POST /advisors/batch", "POST", "/advisors/batch", SPONSOR, body
        )
        await reads.read(
            "POST /advisors/batch (advisor)", "POST", "/advisors/batch", himself, body
        )
        for name, answer in reads.answers.items():
            shown = items(answer)
            assert len(shown) == len(mine), name
            assert theirs not in {a["advisor_id"] for a in shown}, name
        alone = items(reads.answers["POST /advisors/batch (advisor)"])
        assert [a["advisor_id"] for a in alone if "name" in a] == [mine[0]]

    small = Reads(app, c)
    await measure(small)
    mine += [
        a["advisor_id"]
        for a in await in_chunks(
            49, lambda i: post(c, "/advisors", proposal(), SPONSOR)
        )
    ]
    large = Reads(app, c)
    await measure(large)
    every_constant(small.statements, large.statements)


TERMS = {
    "starts_on": "2030-01-01",
    "ends_on": "2030-12-31",
    "scope": "mentoring",
    "scope_text": "Coach the CFO cohort through the carve-out.",
    "hours_per_month": 6,
    "compensation": {
        "rate_minor_units": 25_000,
        "currency": "EUR",
        "cap_minor_units": 150_000,
    },
}


async def test_agreement_and_engagement_lists_and_batches(advisors):
    app, c = advisors
    mounted(app).provide(Agreements).advisor_status = approved_anyone
    adv = token("acme", "advisor", sub="adv-1")

    async def agreement(advisor_id: str) -> str:
        made = await post(
            c, "/agreements", TERMS | {"advisor_id": advisor_id}, COORDINATOR
        )
        url = f"/agreements/{made['agreement_id']}/hours"
        logged = await post(c, url, {"hours": "1.5", "on": "2030-02-03"}, COORDINATOR)
        assert logged["agreement_id"] == made["agreement_id"]
        return made["agreement_id"]

    async def engagement(advisor_id: str) -> str:
        body = {
            "advisor_id": advisor_id,
            "topic": "governance",
            "on": "2030-03-01",
            "audience_size": 40,
        }
        return (await post(c, "/engagements", body, COORDINATOR))["engagement_id"]

    other = await agreement("adv-2")
    await engagement("adv-2")
    mine = [await agreement("adv-1")]
    await engagement("adv-1")

    async def measure(reads: Reads) -> None:
        body = {"ids": [*mine, other]}
        for name, method, url, who, sent in [
            ("GET /agreements", "GET", "/agreements", COORDINATOR, None),
            ("GET /agreements (advisor)", "GET", "/agreements", adv, None),
            ("POST /agreements/batch", "POST", "/agreements/batch", SPONSOR, body),
            (
                "POST /agreements/batch (advisor)",
                "POST",
                "/agreements/batch",
                adv,
                body,
            ),
            ("GET /engagements", "GET", "/engagements", COORDINATOR, None),
            ("GET /engagements (advisor)", "GET", "/engagements", adv, None),
        ]:
            await reads.read(name, method, url, who, sent)
        for name, answer in reads.answers.items():
            ids = [
                i.get("agreement_id") or i.get("engagement_id") for i in items(answer)
            ]
            expected = len(mine) if "advisor" in name else len(mine) + 1
            assert len(ids) == expected, name
            if "advisor" in name and "agreements" in name:
                assert other not in ids, name

    small = Reads(app, c)
    await measure(small)
    mine += await in_chunks(49, lambda i: agreement("adv-1"))
    await in_chunks(49, lambda i: engagement("adv-1"))
    large = Reads(app, c)
    await measure(large)
    every_constant(small.statements, large.statements)


async def test_council_lists_and_batches(advisors):
    app, c = advisors
    mounted(app).provide(Councils).advisor_status = approved_anyone
    member = token("acme", "advisor", sub="adv-m")

    async def council(*, seated: str, publish: bool) -> str:
        body = {
            "name": "Transformation council",
            "purpose": "Advise the programme on its transformation track",
            "cadence_weeks": 6,
            "publish_decisions": publish,
        }
        council_id = (await post(c, "/councils", body, COORDINATOR))["council_id"]
        await post(
            c,
            f"/councils/{council_id}/members",
            {"member_id": seated, "kind": "advisor"},
            COORDINATOR,
        )
        return council_id

    async def decided(council_id: str, n: int, by: str = "adv-m") -> None:
        """A meeting of its own, a recommendation made in it, accepted."""
        meeting = await post(
            c,
            f"/councils/{council_id}/meetings",
            {
                "held_on": (date.today() - timedelta(days=n + 1)).isoformat(),
                "attendees": 4,
                "agenda": [f"Retention {n}"],
            },
            COORDINATOR,
        )
        rec = await post(
            c,
            f"/councils/{council_id}/recommendations",
            {
                "meeting_id": meeting["meeting_id"],
                "title": "Pair VPs",
                "made_by": by,
            },
            token("acme", "advisor", sub=by),
        )
        resp = await c.post(
            f"/recommendations/{rec['recommendation_id']}/accept",
            json={"rationale": "Worth a pilot"},
            headers=COORDINATOR,
        )
        assert resp.status_code == 200, resp.text

    closed = await council(seated="adv-x", publish=False)  # adv-m may not read it
    await decided(closed, 0, by="adv-x")
    first = await council(seated="adv-m", publish=True)
    await decided(first, 0)
    mine = [first]

    async def measure(reads: Reads) -> None:
        body = {"ids": [*mine, closed]}
        f = f"/councils/{first}"
        for name, method, url, who, sent in [
            ("GET /councils", "GET", "/councils", COORDINATOR, None),
            ("GET /councils (member)", "GET", "/councils", member, None),
            ("POST /councils/batch", "POST", "/councils/batch", SPONSOR, body),
            ("POST /councils/batch (member)", "POST", "/councils/batch", member, body),
            (
                "GET /councils/{id}/recommendations",
                "GET",
                f"{f}/recommendations",
                member,
                None,
            ),
            ("GET /councils/{id}/decisions", "GET", f"{f}/decisions", member, None),
        ]:
            await reads.read(name, method, url, who, sent)
        for name in ("GET /councils (member)", "POST /councils/batch (member)"):
            shown = [i["council_id"] for i in items(reads.answers[name])]
            assert closed not in shown and len(shown) == len(mine), name
        for name in ("GET /councils", "POST /councils/batch"):
            assert len(items(reads.answers[name])) == len(mine) + 1, name
        for name in (
            "GET /councils/{id}/recommendations",
            "GET /councils/{id}/decisions",
        ):
            assert len(items(reads.answers[name])) == len(mine), name

    small = Reads(app, c)
    await measure(small)

    async def another(i: int) -> str:
        council_id = await council(seated="adv-m", publish=True)
        await decided(council_id, i)
        return council_id

    mine += await in_chunks(49, another)
    for n in range(1, 50):
        await decided(first, n)
    large = Reads(app, c)
    await measure(large)
    every_constant(small.statements, large.statements)


async def test_risk_register_and_batch(advisors):
    app, c = advisors
    owner = token("acme", "mentor", sub="owner-1")

    async def risk(owner_id: str) -> str:
        body = {
            "title": "Attrition",
            "category": "people",
            "likelihood": 3,
            "impact": 4,
            "owner_id": owner_id,
        }
        return (await post(c, "/risks", body, COORDINATOR))["risk_id"]

    other = await risk("owner-2")
    mine = [await risk("owner-1")]

    async def measure(reads: Reads) -> None:
        body = {"ids": [*mine, other]}
        await reads.read("GET /risks", "GET", "/risks", SPONSOR)
        await reads.read("POST /risks/batch", "POST", "/risks/batch", SPONSOR, body)
        await reads.read(
            "POST /risks/batch (owner)", "POST", "/risks/batch", owner, body
        )
        shown = [
            r["risk_id"] for r in items(reads.answers["POST /risks/batch (owner)"])
        ]
        assert other not in shown and len(shown) == len(mine)
        assert len(items(reads.answers["POST /risks/batch"])) == len(mine) + 1
        assert len(items(reads.answers["GET /risks"])) == len(mine) + 1

    small = Reads(app, c)
    await measure(small)
    mine += await in_chunks(49, lambda i: risk("owner-1"))
    large = Reads(app, c)
    await measure(large)
    every_constant(small.statements, large.statements)

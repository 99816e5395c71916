"""Scorecards over HTTP on real PostgreSQL and Kafka, fed the synthetic organisation.

Each test uses tenants of its own, so events other tests left on the shared topics
never reach its figures.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from sqlalchemy import text

from tests.insights.conftest import publish
from tests.insights.synthetic import END, generate, pick, shuffled_twice
from tests.insights.test_scorecard_domain import card
from tests.profiles.conftest import token
from tests.support.waiting import until

pytestmark = pytest.mark.kafka
# Tables that are not read models: facts themselves and the chassis' bookkeeping.
NOT_READ_MODELS = {
    "facts",
    "fact_people",
    "processed_events",
    "dead_letters",
    "events",
    "log_checkpoints",
}
WALL_CLOCK = {"assessed_at", "computed_at", "updated_at", "refreshed_at"}
PATHS = {
    "mentee": "/scorecards/mentees/{}",
    "relationship": "/scorecards/relationships/{}",
    "cohort": "/scorecards/cohorts/{}",
    "programme": "/scorecards/programme",
}


def path(scope: str, ident: str | None) -> str:
    return PATHS[scope].format(ident)


async def until_tenant_facts(app, tenant: str, count: int, timeout_s=90) -> None:
    held = 0

    async def arrived() -> bool:
        nonlocal held
        async with app.state.runtime.engine.connect() as conn:
            held = (
                await conn.execute(
                    text("SELECT count(*) FROM facts WHERE tenant = :t"), {"t": tenant}
                )
            ).scalar_one()
        return bool(held >= count)

    await until(
        arrived,
        f"{count} facts of {tenant}",
        timeout_s,
        detail=lambda: f"{tenant}: {held} of {count} facts arrived",
    )


def canonical(value):
    """JSON held as text compares as JSON, its lists as multisets: key order and the
    arrival order a part stored a list in are storage details (health, for one, keeps
    ratings as they arrived and sorts them by time when it reads them)."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [canonical(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    return value


async def read_models(app) -> dict[str, list[str]]:
    """Every row of every other part's table, in a stable order; the wall-clock
    moment a row was computed at is not part of the model."""
    async with app.state.runtime.engine.connect() as conn:
        tables = [
            r[0]
            for r in await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "ORDER BY tablename"
                )
            )
        ]
        models = {}
        for t in tables:
            if t in NOT_READ_MODELS:
                continue
            rows = (await conn.execute(text(f'SELECT * FROM "{t}"'))).mappings()
            models[t] = sorted(
                json.dumps(
                    {k: canonical(v) for k, v in row.items() if k not in WALL_CLOCK},
                    sort_keys=True,
                    default=str,
                )
                for row in rows
            )
        return models


async def rebuilt(client, headers, **params) -> dict:
    """Start a rebuild and wait for its end; returns its last progress report."""
    started = await client.post("/admin/rebuild", headers=headers, params=params)
    assert started.status_code == 202, started.text
    last: dict = {}

    async def ended() -> dict | None:
        nonlocal last
        last = (
            await client.get("/admin/rebuild", headers=headers, params=params)
        ).json()
        return last if last["status"] not in ("queued", "running") else None

    return dict(
        await until(
            ended,
            "the rebuild to end",
            60,
            interval_s=0.05,
            detail=lambda: f"rebuild still running: {last}",
        )
    )


async def scorecards(client, org, headers) -> dict:
    cards = {}
    for scope, ident, day in org.expected:
        r = await client.get(path(scope, ident), params={"as_of": day}, headers=headers)
        assert r.status_code == 200, r.text
        cards[(scope, ident, day)] = r.json()
    return cards


async def test_scorecards_equal_hand_computed_figures_and_survive_a_rebuild(
    insights, kafka_bootstrap
):
    app, client = insights
    ordered = generate(seed=7, tenant=f"syn-{uuid.uuid4().hex[:8]}")
    await publish(kafka_bootstrap, ordered.messages())
    await until_tenant_facts(app, ordered.tenant, len(ordered.envelopes))

    coordinator = token(ordered.tenant, "coordinator")
    cards = await scorecards(client, ordered, coordinator)
    for key, figures in ordered.expected.items():
        for dotted, want in figures.items():
            assert pick(cards[key], dotted) == want, (key, dotted)

    # Rebuild: every read model and every scorecard equal what live delivery built.
    admin = token(ordered.tenant, "admin", sub="admin-1")
    before = await read_models(app)
    assert (await client.post("/admin/rebuild", headers=coordinator)).status_code == 403
    # The organisation's admin rebuilds its read models from its own facts...
    progress = await rebuilt(client, admin)
    assert progress["status"] == "done", progress
    async with app.state.runtime.engine.connect() as conn:
        own = (
            await conn.execute(
                text("SELECT count(*) FROM facts WHERE tenant = :t"),
                {"t": ordered.tenant},
            )
        ).scalar_one()
    assert progress["processed"] == progress["total"] == own
    assert await read_models(app) == before
    assert await scorecards(client, ordered, coordinator) == cards
    # ...the platform's operator every organisation's, from every fact.
    operator = token(ordered.tenant, "operator", sub="platform-operator")
    progress = await rebuilt(client, operator, all_tenants="true")
    assert progress["status"] == "done", progress
    async with app.state.runtime.engine.connect() as conn:
        total = (await conn.execute(text("SELECT count(*) FROM facts"))).scalar_one()
    assert progress["processed"] == progress["total"] == total >= own
    assert await read_models(app) == before
    assert await scorecards(client, ordered, coordinator) == cards


async def test_who_reads_what_as_of_when_and_csv(insights, kafka_bootstrap):
    app, client = insights
    org = generate(seed=11, tenant=f"syn-{uuid.uuid4().hex[:8]}")
    await publish(kafka_bootstrap, org.messages())
    await until_tenant_facts(app, org.tenant, len(org.envelopes))
    mentee = token(org.tenant, "mentee", sub="mentee-promoted")
    coordinator = token(org.tenant, "coordinator")

    own = await client.get("/scorecards/mentees/mentee-promoted", headers=mentee)
    assert own.status_code == 200
    assert own.json()["impact"]["promoted"] == 1  # "now" is after the whole plan
    assert (
        await client.get("/scorecards/relationships/rel-promoted", headers=mentee)
    ).status_code == 200
    for other in (
        "/scorecards/mentees/mentee-stalled",
        "/scorecards/relationships/rel-stalled",
        "/scorecards/cohorts/cohort-alpha",
        "/scorecards/programme",
    ):
        assert (await client.get(other, headers=mentee)).status_code == 403, other
    # Before the promotion and the re-assessment.
    past = await client.get(
        "/scorecards/mentees/mentee-promoted",
        params={"as_of": "2025-06-30"},
        headers=mentee,
    )
    assert past.json()["impact"]["promoted"] == 0
    assert past.json()["skill_growth"]["reassessed"] is False

    missing = await client.get("/scorecards/cohorts/nope", headers=coordinator)
    assert missing.status_code == 404
    bad = await client.get(
        "/scorecards/programme", params={"as_of": "last week"}, headers=coordinator
    )
    assert bad.status_code == 422
    # Another organisation's token sees nothing of this one.
    stranger = token("elsewhere", "coordinator")
    assert (
        await client.get("/scorecards/cohorts/cohort-alpha", headers=stranger)
    ).status_code == 404

    as_csv = await client.get(
        "/scorecards/cohorts/cohort-alpha.csv",
        params={"as_of": END},
        headers=coordinator,
    )
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[0] == (
        "scope,scope_id,as_of,member,perspective,measure,value"
    )
    assert "cohort,cohort-alpha," in as_csv.text
    assert ",behaviour,milestones.completion_rate,0.4" in as_csv.text
    by_query = await client.get(
        "/scorecards/cohorts/cohort-alpha",
        params={"as_of": END, "format": "csv"},
        headers=coordinator,
    )
    assert by_query.text == as_csv.text
    as_xml = await client.get(
        "/scorecards/programme", params={"format": "xml"}, headers=coordinator
    )
    assert as_xml.status_code == 422 and as_xml.json()["code"] == "ValidationError"
    for url in ("/scorecards/programme.csv", "/scorecards/mentees/mentee-stalled.csv"):
        r = await client.get(url, headers=coordinator)
        assert r.status_code == 200 and r.text.count("\n") > 10, url


async def test_duplicate_and_reordered_delivery_changes_no_scorecard(
    insights, kafka_bootstrap
):
    """Every event twice, shuffled across streams: the same cards as in-order facts."""
    app, client = insights
    org = generate(seed=7, tenant=f"syn-{uuid.uuid4().hex[:8]}")
    await publish(kafka_bootstrap, shuffled_twice(org.messages(), seed=3))
    await until_tenant_facts(app, org.tenant, len(org.envelopes))
    cards = await scorecards(client, org, token(org.tenant, "sponsor"))
    for (scope, ident, day), got in cards.items():
        assert got == card(org.envelopes, scope, ident, day)


async def test_events_arriving_during_a_rebuild_are_neither_lost_nor_doubled(
    insights, kafka_bootstrap
):
    app, client = insights
    org = generate(seed=5, tenant=f"syn-{uuid.uuid4().hex[:8]}")
    messages = org.messages()
    half = len(messages) // 2
    await publish(kafka_bootstrap, messages[:half])
    await until_tenant_facts(app, org.tenant, half)
    admin = token(org.tenant, "admin", sub="admin-1")
    await publish(kafka_bootstrap, messages[half:])  # consumed while rebuilding
    serving = client.get("/scorecards/programme", headers=token(org.tenant, "sponsor"))
    progress, during = await asyncio.gather(rebuilt(client, admin), serving)
    assert progress["status"] == "done" and during.status_code == 200
    await until_tenant_facts(app, org.tenant, len(messages))
    live = await read_models(app)
    assert (await rebuilt(client, admin))["status"] == "done"
    assert await read_models(app) == live
    cards = await scorecards(client, org, token(org.tenant, "coordinator"))
    for (scope, ident, day), got in cards.items():
        assert got == card(org.envelopes, scope, ident, day)

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
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.apps import serving
from tests.hostile.seeder import CALLER_ROLES, Seeder
from tests.profiles.conftest import token
from tests.support.waiting import until

SERVICES = ("profiles", "matching", "sessions", "advisors", "insights", "notifications")


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
    if "sweep_s" in settings_type.model_fields:  # notifications' rules
        extra["sweep_s"] = 3600
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

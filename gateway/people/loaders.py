"""Batched reads from the profiles service, one upstream call per tick."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from gateway.context import ctx


def people(info: Info) -> DataLoader:
    """Person (as the caller may see them) by id; ``None`` when not visible."""
    c = ctx(info)

    async def batch(ids: Sequence[str]) -> list[Any]:
        body = await c.caller.post("profiles", "/people/batch", {"ids": list(ids)})
        found = {p["person_id"]: p for p in body.get("items", [])}
        return [found.get(i) for i in ids]

    return c.loader("profiles.people", batch)


def cohorts(info: Info) -> DataLoader:
    """Cohort (with participants and waiting list) by id; ``None`` when not found."""
    c = ctx(info)

    async def batch(ids: Sequence[str]) -> list[Any]:
        body = await c.caller.post("profiles", "/cohorts/batch", {"ids": list(ids)})
        found = {x["cohort_id"]: x for x in body.get("items", [])}
        return [found.get(i) for i in ids]

    return c.loader("profiles.cohorts", batch)


def memberships(info: Info) -> DataLoader:
    """A person's cohort memberships (admitted or waiting), by person id."""
    c = ctx(info)

    async def batch(ids: Sequence[str]) -> list[Any]:
        body = await c.caller.post(
            "profiles", "/cohorts/memberships", {"ids": list(ids)}
        )
        found: dict[str, list[dict]] = {i: [] for i in ids}
        for m in body.get("items", []):
            found.setdefault(m["person_id"], []).append(m)
        return [found[i] for i in ids]

    return c.loader("profiles.memberships", batch)


def import_jobs(info: Info) -> DataLoader:
    """Import job report by job id; ``None`` when not found."""
    c = ctx(info)

    async def batch(ids: Sequence[str]) -> list[Any]:
        body = await c.caller.post("profiles", "/imports/batch", {"ids": list(ids)})
        found = {x["job_id"]: x for x in body.get("items", [])}
        return [found.get(i) for i in ids]

    return c.loader("profiles.imports", batch)


def competencies(info: Info) -> DataLoader:
    """The tenant's whole competency framework (one call, whatever is asked)."""
    c = ctx(info)

    async def batch(keys: Sequence[str]) -> list[Any]:
        rows = await c.caller.get("profiles", "/competencies")
        return [rows for _ in keys]

    return c.loader("profiles.competencies", batch)

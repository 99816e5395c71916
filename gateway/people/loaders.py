"""Batched reads from the profiles service, one upstream call per tick."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.types import Info

from gateway.context import ById, Grouped, ctx


def people(info: Info) -> ById:
    """Person (as the caller may see them) by id; ``None`` when not visible."""
    return ctx(info).by_id("profiles", "/people/batch", "person_id")


def cohorts(info: Info) -> ById:
    """Cohort (with participants and waiting list) by id; ``None`` when not found."""
    return ctx(info).by_id("profiles", "/cohorts/batch", "cohort_id")


def memberships(info: Info) -> Grouped:
    """A person's cohort memberships (admitted or waiting), by person id."""
    c = ctx(info)

    async def batch(ids: Sequence[str]) -> list[list[dict[str, Any]]]:
        body = await c.caller.post(
            "profiles", "/cohorts/memberships", {"ids": list(ids)}
        )
        found: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        for m in body.get("items", []):
            found.setdefault(m["person_id"], []).append(m)
        return [found[i] for i in ids]

    return c.loader("profiles.memberships", batch)


def import_jobs(info: Info) -> ById:
    """Import job report by job id; ``None`` when not found."""
    return ctx(info).by_id("profiles", "/imports/batch", "job_id")


def competencies(info: Info) -> Grouped:
    """The tenant's whole competency framework (one call, whatever is asked)."""
    c = ctx(info)

    async def batch(keys: Sequence[str]) -> list[list[dict[str, Any]]]:
        rows: list[dict[str, Any]] = await c.caller.get("profiles", "/competencies")
        return [rows for _ in keys]

    return c.loader("profiles.competencies", batch)

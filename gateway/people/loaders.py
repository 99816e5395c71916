"""Batched reads from the profiles service, one upstream call per tick.

Each loader reads the service's answer through its response model
(``contracts.api.profiles``) where it is received and hands out models: a
malformed answer is an upstream ``InternalError`` for every key of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from contracts.api import profiles as api
from gateway.answers import read, read_list
from gateway.context import ctx

SERVICE = "profiles"


def people(info: Info) -> DataLoader[str, api.Person | None]:
    """Person (as the caller may see them) by id; ``None`` when not visible."""
    return ctx(info).by_id(
        SERVICE, "/people/batch", api.People, lambda b: b.items, lambda p: p.person_id
    )


def cohorts(info: Info) -> DataLoader[str, api.CohortWithDates | None]:
    """Cohort (with participants and waiting list) by id; ``None`` when not found."""
    return ctx(info).by_id(
        SERVICE, "/cohorts/batch", api.Cohorts, lambda b: b.items, lambda k: k.cohort_id
    )


def memberships(info: Info) -> DataLoader[str, list[api.Membership]]:
    """A person's cohort memberships (admitted or waiting), by person id."""
    c = ctx(info)

    async def batch(ids: Sequence[str]) -> list[list[api.Membership]]:
        answer = await c.caller.read_batch(
            SERVICE, "/cohorts/memberships", {"ids": list(ids)}
        )
        found: dict[str, list[api.Membership]] = {i: [] for i in ids}
        for m in read(api.Memberships, answer, SERVICE).items:
            found.setdefault(m.person_id, []).append(m)
        return [found[i] for i in ids]

    return c.loader("profiles.memberships", batch)


def import_jobs(info: Info) -> DataLoader[str, api.ImportReport | None]:
    """Import job report by job id; ``None`` when not found."""
    return ctx(info).by_id(
        SERVICE,
        "/imports/batch",
        api.ImportReports,
        lambda b: b.items,
        lambda j: j.job_id,
    )


def competencies(info: Info) -> DataLoader[str, list[api.Competency]]:
    """The tenant's whole competency framework (one call, whatever is asked)."""
    c = ctx(info)

    async def batch(keys: Sequence[str]) -> list[list[api.Competency]]:
        answer = await c.caller.get(SERVICE, "/competencies")
        rows = read_list(api.Competency, answer, SERVICE)
        return [rows for _ in keys]

    return c.loader("profiles.competencies", batch)

"""Subscriptions of the people part, fed from the profiles topic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from chassis.envelope import Envelope
from gateway.context import ctx
from gateway.errors import query_error
from gateway.ids import global_id, local_id
from gateway.people.types import ImportCounts, ImportProgress, ImportStatus
from gateway.upstream import UpstreamError, upstream_path

PROGRESS_EVENTS = ("ImportProgressed", "ImportFinished")
RECHECK_S = 10.0  # without news for this long, ask the service (a lost event)


def _progress(job_id: str, data: dict[str, Any], status: str) -> ImportProgress:
    return ImportProgress(
        job_id=global_id("ImportJob", job_id),
        status=ImportStatus(status),
        processed=int(data.get("processed", 0)),
        total=int(data.get("total", 0)),
        counts=ImportCounts.from_data(data.get("counts")),
        error=data.get("error"),
    )


def _from_report(report: dict[str, Any]) -> ImportProgress:
    return _progress(
        report["job_id"],
        {**report.get("progress", {}), **report},
        report["status"],
    )


def _from_event(env: Envelope) -> ImportProgress:
    status = env.data.get("status", "running")
    return _progress(env.data["job_id"], env.data, status)


@strawberry.type
class PeopleSubscription:
    @strawberry.subscription(
        description="Live progress of an HRIS import: its state now, then one "
        "message per chunk applied, until the message with `finished: true`."
    )
    async def import_progress(
        self,
        info: Info,
        job_id: Annotated[
            strawberry.ID, strawberry.argument(description="The ImportJob to follow.")
        ],
    ) -> AsyncGenerator[ImportProgress, None]:
        c = ctx(info)
        principal = c.principal
        jid = local_id(job_id, "ImportJob", "jobId")

        def accepts(env: Envelope) -> bool:
            return env.type in PROGRESS_EVENTS and env.data.get("job_id") == jid

        async def report() -> ImportProgress:
            # The service authorises (tenant, provisioner roles) on every read.
            try:
                body = await c.caller.get(
                    "profiles", upstream_path("/imports/{jid}", jid=jid), error_limit=1
                )
            except UpstreamError as exc:
                raise query_error(exc) from None
            return _from_report(body)

        async with c.hub.listen(principal.tenant, accepts) as queue:
            last = await report()  # listening first: nothing falls in between
            yield last
            while not last.finished():
                try:
                    env = await asyncio.wait_for(queue.get(), RECHECK_S)
                    news = _from_event(env)
                except TimeoutError:
                    news = await report()
                if news.processed < last.processed and not news.finished():
                    continue  # older than what was already said
                if (news.status, news.processed) == (last.status, last.processed):
                    continue
                last = news
                yield news

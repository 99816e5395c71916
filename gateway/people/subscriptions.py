"""Subscriptions of the people part, fed from the profiles topic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from pydantic import ValidationError
from strawberry.types import Info

from chassis.envelope import Envelope
from chassis.errors import TandemError
from contracts import profiles as events
from contracts.api import profiles as api
from gateway.answers import read
from gateway.context import ctx
from gateway.errors import query_error
from gateway.ids import global_id, local_id
from gateway.people.types import ImportCounts, ImportProgress, ImportStatus
from gateway.upstream import UpstreamError, upstream_path

PROGRESS_EVENTS = ("ImportProgressed", "ImportFinished")
RECHECK_S = 10.0  # without news for this long, ask the service (a lost event)
SERVICE = "profiles"
log = logging.getLogger(__name__)

Progressed = events.ImportProgressed | events.ImportFinished


def _payload(env: Envelope) -> Progressed | None:
    """An import event's data as its contract (lifted to the current version);
    ``None`` (logged, skipped) when it is no progress event or does not fit."""
    if env.type not in PROGRESS_EVENTS:
        return None
    try:
        payload = events.registry.decode(env.type, env.schema_version, env.data)
    except (ValidationError, TandemError) as exc:
        log.error(
            "profiles event %s %s does not fit its contract: %s", env.type, env.id, exc
        )
        return None
    if isinstance(payload, events.ImportProgressed | events.ImportFinished):
        return payload
    return None


def _from_report(report: api.ImportState) -> ImportProgress:
    return ImportProgress(
        job_id=global_id("ImportJob", report.job_id),
        status=ImportStatus(report.status),
        processed=report.progress.processed,
        total=report.progress.total,
        counts=ImportCounts.from_model(report.counts),
        error=report.error,
    )


def _from_event(payload: Progressed) -> ImportProgress:
    finished = payload if isinstance(payload, events.ImportFinished) else None
    return ImportProgress(
        job_id=global_id("ImportJob", payload.job_id),
        status=ImportStatus(finished.status) if finished else ImportStatus.RUNNING,
        processed=payload.processed,
        total=payload.total,
        counts=ImportCounts.from_model(payload.counts),
        error=finished.error if finished else None,
    )


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
            payload = _payload(env)
            return payload is not None and payload.job_id == jid

        async def report() -> ImportProgress:
            # The service authorises (tenant, provisioner roles) on every read.
            try:
                answer = await c.caller.get(
                    SERVICE, upstream_path("/imports/{jid}", jid=jid), error_limit=1
                )
                return _from_report(read(api.ImportReport, answer, SERVICE))
            except UpstreamError as exc:
                raise query_error(exc) from None

        async with c.hub.listen(principal.tenant, accepts) as queue:
            last = await report()  # listening first: nothing falls in between
            yield last
            while not last.finished():
                try:
                    env = await asyncio.wait_for(queue.get(), RECHECK_S)
                except TimeoutError:
                    news = await report()
                else:
                    payload = _payload(env)
                    if payload is None:
                        continue
                    news = _from_event(payload)
                if news.processed < last.processed and not news.finished():
                    continue  # older than what was already said
                if (news.status, news.processed) == (last.status, last.processed):
                    continue
                last = news
                yield news

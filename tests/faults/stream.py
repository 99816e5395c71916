"""A steady stream of commands, and the figures that say whether a fault lost or
doubled anything.

Each command registers a person in profiles with a unique marker in the published
``function`` attribute (``<tenant>-<n>``), so every command can be followed through
profiles' event store, the topic and insights' facts:

- sent: commands the stream sent; accepted: answered 201 (with the person's id).
- projected: accepted commands whose PersonRegistered insights has recorded.
- duplicates: facts beyond one per command in insights (a doubled effect), plus
  events beyond one per command in profiles' store (a doubled write).
- lost: accepted commands that insights never recorded.
- half applied: commands answered with an error that were written all the same.
- in doubt: commands that got no answer (the server died under them) but were
  written anyway; legitimate after a crash, counted apart, never lost nor doubled.
- republished: messages the relay sent again after a crash (at-least-once on the
  wire); the consumer's exactly-once is what keeps them from counting twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.auth import Role, mint_token
from chassis.settings import DEFAULT_DEV_SECRET
from tests.support.waiting import TimedOut, until


def bearer(tenant: str, *roles: Role, subject: str = "faults-1") -> dict[str, str]:
    token = mint_token(
        DEFAULT_DEV_SECRET, subject, tenant, list(roles), "tandem-dev", "tandem"
    )
    return {"authorization": f"Bearer {token}"}


def person(marker: str) -> dict[str, object]:
    return {
        "given_name": "Ada",
        "family_name": f"Fault {marker}",
        "email": f"{marker}@example.test",
        "level": 7,
        "business_unit": "Resilience",
        "function": marker,
        "geography": "FR",
        "time_zone": "Europe/Paris",
    }


@dataclass
class Outcome:
    marker: str
    status: int | None = None  # None: no HTTP answer at all (refused, reset)
    person_id: str | None = None
    problem: dict[str, object] | None = None
    content_type: str = ""
    retry_after: str | None = None
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == 201


@dataclass
class Stream:
    """Registers people in profiles, a few at a time, until told to stop."""

    client: httpx.AsyncClient
    profiles_url: str
    tenant: str
    outcomes: list[Outcome] = field(default_factory=list)
    workers: int = 3
    pace_s: float = 0.1
    cap: int = 1500
    _next: int = 0
    _stop: bool = False

    @property
    def sent(self) -> int:
        return self._next

    async def send(self, marker: str) -> Outcome:
        outcome = Outcome(marker)
        try:
            response = await self.client.post(
                f"{self.profiles_url}/people",
                json=person(marker),
                headers=bearer(self.tenant, Role.COORDINATOR),
            )
        except httpx.HTTPError as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
            return outcome
        outcome.status = response.status_code
        outcome.content_type = response.headers.get("content-type", "")
        outcome.retry_after = response.headers.get("retry-after")
        body = response.json() if response.content else {}
        if outcome.accepted:
            outcome.person_id = body["person_id"]
        else:
            outcome.problem = body
        return outcome

    async def _worker(self) -> None:
        while not self._stop and self._next < self.cap:
            marker = f"{self.tenant}-{self._next:04d}"
            self._next += 1
            self.outcomes.append(await self.send(marker))
            await asyncio.sleep(self.pace_s)

    async def until(
        self, condition: Callable[[], bool], timeout_s: float = 120
    ) -> None:
        """Wait for ``condition`` while the stream sends; give up at its cap."""

        def capped() -> str | None:
            return "it reached its cap" if self._next >= self.cap else None

        await until(
            condition,
            "the stream to get there",
            timeout_s,
            interval_s=0.02,
            give_up=capped,
            detail=lambda: f"{self._next} commands sent",
        )

    async def around(
        self,
        fault: Callable[[], Awaitable[None]],
        *,
        before: int = 40,
        after: int = 40,
    ) -> None:
        """Send ``before`` commands, keep sending through ``fault``, then ``after``."""
        workers = [asyncio.create_task(self._worker()) for _ in range(self.workers)]
        try:
            await self.until(lambda: self._next >= before)
            await fault()
            target = self._next + after
            await self.until(lambda: self._next >= target)
        finally:
            self._stop = True
            await asyncio.gather(*workers)

    @property
    def accepted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.accepted]


async def counts(engine: AsyncEngine, sql: str, tenant: str) -> Counter[str]:
    """Rows per marker (``sql`` selects the marker of each row of ``tenant``)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(sql), {"t": tenant})).scalars().all()
    return Counter(str(r) for r in rows)


INSIGHTS_FACTS = (
    "SELECT data::json->>'function' FROM facts "
    "WHERE tenant = :t AND type = 'PersonRegistered'"
)
PROFILES_EVENTS = (
    "SELECT payload->>'function' FROM events "
    "WHERE tenant = :t AND event_type = 'PersonRegistered'"
)


async def published(
    bootstrap: str, topic: str, tenant: str, timeout_s: float = 60
) -> Counter[str]:
    """Messages of ``tenant`` on ``topic`` per event id (everything up to now)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: Counter[str] = Counter()

    async def read() -> None:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            for record in records:
                headers = dict(record.headers or ())
                if headers.get("ce_tenant", b"").decode() == tenant:
                    seen[headers["ce_id"].decode()] += 1

    async def assigned() -> set[TopicPartition]:
        await read()
        return consumer.assignment()

    async def at_the_end() -> bool:
        await read()
        return all([await consumer.position(tp) >= ends[tp] for tp in parts])

    try:
        # Each read waits up to 200 ms for records: no pause needed in between.
        parts = list(
            await until(assigned, f"partitions of {topic}", timeout_s, interval_s=0)
        )
        ends = await consumer.end_offsets(parts)
        if any([await consumer.position(tp) < ends[tp] for tp in parts]):
            await until(at_the_end, f"{topic} read to its end", timeout_s, interval_s=0)
        return seen
    finally:
        await consumer.stop()


@dataclass
class Figures:
    sent: int
    accepted: int
    projected: int
    duplicates: int
    lost: int
    half_applied: int
    in_doubt: int
    failed: int
    republished: int

    def line(self, scenario: str) -> str:
        return (
            f"[{scenario}] sent={self.sent} accepted={self.accepted} "
            f"projected={self.projected} duplicates={self.duplicates} "
            f"lost={self.lost} half_applied={self.half_applied} "
            f"in_doubt={self.in_doubt} failed={self.failed} "
            f"republished={self.republished}"
        )


async def figures(
    stream: Stream,
    *,
    insights_db: AsyncEngine,
    profiles_db: AsyncEngine,
    kafka_bootstrap: str,
    timeout_s: float = 120,
) -> Figures:
    """Wait until insights has every accepted command (or the deadline), then count.

    The wait is best effort: what has not arrived by then is counted as lost."""
    accepted = {o.marker for o in stream.accepted}
    facts: Counter[str] = Counter()

    async def insights_holds(markers: set[str]) -> bool:
        nonlocal facts
        facts = await counts(insights_db, INSIGHTS_FACTS, stream.tenant)
        return markers <= facts.keys()

    with contextlib.suppress(TimedOut):
        await until(
            lambda: insights_holds(accepted),
            "insights to record every accepted command",
            timeout_s,
            interval_s=0.2,
        )
    stored = await counts(profiles_db, PROFILES_EVENTS, stream.tenant)
    # Whatever profiles stored must reach insights too, answered or not.
    with contextlib.suppress(TimedOut):
        await until(
            lambda: insights_holds(set(stored)),
            "insights to record every stored command",
            timeout_s,
            interval_s=0.2,
        )
    on_topic = await published(kafka_bootstrap, "tandem.profiles.v1", stream.tenant)
    unanswered = {o.marker for o in stream.outcomes if o.status is None}
    refused = {o.marker for o in stream.outcomes if o.status not in (None, 201)}
    return Figures(
        sent=stream.sent,
        accepted=len(accepted),
        projected=len(accepted & facts.keys()),
        duplicates=sum(n - 1 for n in facts.values() if n > 1)
        + sum(n - 1 for n in stored.values() if n > 1),
        lost=len(accepted - facts.keys()) + len(set(stored) - set(facts)),
        half_applied=len(refused & stored.keys()),
        in_doubt=len(unanswered & stored.keys()),
        failed=stream.sent - len(accepted),
        republished=sum(n - 1 for n in on_topic.values() if n > 1),
    )

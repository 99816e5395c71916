"""Every list and batch read of the sessions service sends as many SQL statements for
a list of 50 as for a list of 1 (texts, relationships and items in one statement per
kind), and still leaves out what the caller may not see.

One mentor's relationships are the lists: first one relationship with one item of
each kind, then 50 relationships with one each, the first of them with 50 of each.
Another pair's relationship (``foreign``) is asked for in every batch and never
comes back.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis.messaging.kafka import KafkaTransport
from chassis.service import mounted
from tests.profiles.conftest import token
from tests.sessions.conftest import COORDINATOR, confirmation, signed
from tests.support.statements import assert_constant, counted
from tests.support.waiting import until

pytestmark = pytest.mark.kafka

# The request being measured: statements sent from any other task (the relay's
# polls, a consumer) are not the request's and are left out of its count.
_MEASURED = contextvars.ContextVar("measured", default=False)


@asynccontextmanager
async def request_statements(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """``counted(engine)``, without what other tasks send meanwhile."""
    others: list[str] = []

    def other(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        if not _MEASURED.get():
            others.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", other)
    mark = _MEASURED.set(True)
    try:
        async with counted(engine) as statements:
            yield statements
            for statement in others:
                if statement in statements:
                    statements.remove(statement)
    finally:
        _MEASURED.reset(mark)
        event.remove(engine.sync_engine, "before_cursor_execute", other)


class Reads:
    """Sends each read, keeps its statements and answer (per stage)."""

    def __init__(self, app, client, *, counting: bool = True) -> None:
        self.engine = mounted(app).runtime.engine
        self.client = client
        self.counting = counting
        self.statements: dict[str, list[str]] = {}
        self.answers: dict[str, Any] = {}

    async def read(self, name: str, method: str, url: str, headers, body=None):
        if not self.counting:  # nothing listens: reads take the driver's path
            resp = await self.client.request(method, url, headers=headers, json=body)
            assert resp.status_code == 200, f"{name}: {resp.text}"
            self.answers[name] = resp.json()
            return resp.json()
        async with request_statements(self.engine) as statements:
            resp = await self.client.request(method, url, headers=headers, json=body)
        assert resp.status_code == 200, f"{name}: {resp.text}"
        self.statements[name] = list(statements)
        self.answers[name] = resp.json()
        return resp.json()


def in_days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


async def start(app, bootstrap: str, pairs: list[tuple[str, str, str]]) -> None:
    """Publish every PairingConfirmed at once; wait until each relationship started."""
    transport = KafkaTransport(bootstrap)
    try:
        await transport.publish(
            [confirmation(pid, mentor, mentee) for pid, mentor, mentee in pairs]
        )
    finally:
        await transport.stop()
    ids = [pid for pid, _m, _e in pairs]

    async def started() -> bool:
        async with mounted(app).runtime.engine.connect() as conn:
            found = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM relationships WHERE relationship_id IN ("
                        + ", ".join(f"'{i}'" for i in ids)
                        + ")"
                    )
                )
            ).scalar_one()
        return found == len(ids)

    await until(started, "sessions to start the relationships", 60, interval_s=0.05)


class Seeder:
    """Writes items through the API; each session at a time of its own."""

    def __init__(self, client) -> None:
        self.c = client
        self.slot = 0
        self.base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)

    async def post(self, url: str, body: dict, headers) -> dict:
        resp = await self.c.post(url, json=body, headers=headers)
        assert resp.status_code == 201, f"{url}: {resp.text}"
        return resp.json()

    async def items(self, pair: dict, *, escalate: bool = True) -> dict[str, str]:
        """One item of each kind in the pair's relationship: their ids."""
        rid, mentor, mentee = pair["id"], pair["as_mentor"], pair["as_mentee"]
        self.slot += 1
        session = await self.post(
            f"/relationships/{rid}/sessions",
            {
                "starts_at": (self.base + timedelta(hours=2 * self.slot)).isoformat(),
                "minutes": 60,
                "outside_availability": True,
                "agenda": "Pricing",
            },
            mentee,
        )
        milestone = await self.post(
            f"/relationships/{rid}/milestones",
            {
                "objective_index": 0,
                "label": "Present the plan",
                "due_on": in_days(30),
                "criteria": ["Plan presented", "Board agreed"],
            },
            mentee,
        )
        await self.post(
            f"/relationships/{rid}/check-ins",
            {"kind": "monthly", "alignment": 4, "correction": "Refocus on pricing"},
            mentor,
        )
        await self.post(
            f"/relationships/{rid}/notes",
            {"kind": "session_note", "visibility": "shared", "body": "We met"},
            mentee,
        )
        await self.post(
            f"/relationships/{rid}/feedback",
            {
                "about": "milestone",
                "subject_id": milestone["id"],
                "rating": 4,
                "comment": "A clear plan",
            },
            mentee,
        )
        await self.post(
            "/rotations",
            {
                "relationship_id": rid,
                "function": "supply-chain",
                "host_id": "host-7",
                "starts_on": in_days(7),
                "ends_on": in_days(28),
                "project_kind": "cost_to_serve_analysis",
                "project": "Cost-to-serve of the north",
            },
            COORDINATOR,
        )
        if escalate:  # the escalations list grows with the relationships
            await self.post(
                f"/relationships/{rid}/escalations",
                {"category": "availability", "detail": "Hard to find time"},
                mentor,
            )
        return {"session": session["session_id"], "milestone": milestone["id"]}


def pair_of(pid: str, mentor: str, mentee: str) -> dict:
    return {
        "id": pid,
        "as_mentor": token("acme", "mentor", sub=mentor),
        "as_mentee": token("acme", "mentee", sub=mentee),
    }


async def measure(
    reads: Reads,
    mentor,
    first: str,
    rels: list[str],
    sessions: list[str],
    milestones: list[str],
) -> None:
    """Every list and batch read, as the mentor (and as a coordinator where an
    overseer's view differs)."""
    r = f"/relationships/{first}"
    for name, url, who in [
        ("GET /relationships", "/relationships", mentor),
        ("GET /relationships/{id}/sessions", f"{r}/sessions", mentor),
        ("GET /relationships/{id}/milestones", f"{r}/milestones", mentor),
        ("GET /relationships/{id}/check-ins", f"{r}/check-ins", mentor),
        ("GET /relationships/{id}/notes", f"{r}/notes", mentor),
        ("GET /relationships/{id}/notes (coordinator)", f"{r}/notes", COORDINATOR),
        ("GET /relationships/{id}/feedback", f"{r}/feedback", mentor),
        (
            "GET /relationships/{id}/feedback (coordinator)",
            f"{r}/feedback",
            COORDINATOR,
        ),
        ("GET /relationships/{id}/rotations", f"{r}/rotations", mentor),
        ("GET /escalations", "/escalations", mentor),
        ("GET /escalations (coordinator)", "/escalations", COORDINATOR),
    ]:
        await reads.read(name, "GET", url, who)
    by_rel = {"relationship_ids": rels}
    for name, url, body, who in [
        ("POST /relationships/batch", "/relationships/batch", {"ids": rels}, mentor),
        (
            "POST /relationships/batch (coordinator)",
            "/relationships/batch",
            {"ids": rels},
            COORDINATOR,
        ),
        ("POST /sessions/batch", "/sessions/batch", {"ids": sessions}, mentor),
        (
            "POST /sessions/batch-by-relationship",
            "/sessions/batch-by-relationship",
            by_rel,
            mentor,
        ),
        ("POST /milestones/batch", "/milestones/batch", {"ids": milestones}, mentor),
        *[
            (
                f"POST /development-items/batch-by-relationship ({kind})",
                "/development-items/batch-by-relationship",
                by_rel | {"kind": kind},
                mentor,
            )
            for kind in ("milestone", "check_in", "rotation")
        ],
        (
            "POST /notes/batch-by-relationship",
            "/notes/batch-by-relationship",
            by_rel,
            mentor,
        ),
        (
            "POST /feedback/batch-by-relationship",
            "/feedback/batch-by-relationship",
            by_rel,
            mentor,
        ),
    ]:
        await reads.read(name, "POST", url, who, body)


def ids_in(answer: Any) -> set[str]:
    items = answer["items"] if isinstance(answer, dict) else answer
    keys = ("relationship_id", "session_id", "id", "note_id", "feedback_id")
    found = set()
    for item in items:
        found |= {item[k] for k in keys if k in item and k != "relationship_id"}
        found.add(item.get("relationship_id"))
    return found


def lengths(answers: dict[str, Any]) -> dict[str, int]:
    return {
        name: len(a["items"] if isinstance(a, dict) else a)
        for name, a in answers.items()
    }


def never_shown(answers: dict[str, Any], hidden: Iterable[str]) -> None:
    for name, answer in answers.items():
        if "coordinator" not in name:
            assert not ids_in(answer) & set(hidden), name


async def test_list_and_batch_reads_send_as_many_statements_for_50_as_for_1(
    sessions, kafka_bootstrap
):
    app, c = sessions
    mentor_id = str(uuid.uuid4())
    mentor = token("acme", "mentor", sub=mentor_id)
    first = (str(uuid.uuid4()), mentor_id, str(uuid.uuid4()))
    foreign = (str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
    await start(app, kafka_bootstrap, [first, foreign])
    seed = Seeder(c)
    pairs = [pair_of(*first)]
    other = pair_of(*foreign)
    for pair in (*pairs, other):
        await signed(c, pair)
    theirs = await seed.items(other)
    mine = [await seed.items(pairs[0])]
    hidden = [foreign[0], *theirs.values()]

    def asked(kind: str) -> list[str]:
        return [m[kind] for m in mine] + [theirs[kind]]

    small = Reads(app, c)
    rels = [p["id"] for p in pairs] + [foreign[0]]
    await measure(small, mentor, first[0], rels, asked("session"), asked("milestone"))
    never_shown(small.answers, hidden)
    assert set(lengths(small.answers).values()) <= {1, 2}

    # 49 more relationships of the same mentor, one item of each kind in each; and
    # 49 more of each kind in the first.
    more = [(str(uuid.uuid4()), mentor_id, str(uuid.uuid4())) for _ in range(49)]
    await start(app, kafka_bootstrap, more)
    more_pairs = [pair_of(*triple) for triple in more]

    async def seeded(pair: dict) -> dict[str, str]:
        await signed(c, pair)
        return await seed.items(pair)

    for at in range(0, len(more_pairs), 7):  # a few at a time: separate streams
        chunk = more_pairs[at : at + 7]
        mine += await asyncio.gather(*(seeded(pair) for pair in chunk))
        pairs += chunk
    for _ in range(49):
        await seed.items(pairs[0], escalate=False)

    large = Reads(app, c)
    rels = [p["id"] for p in pairs] + [foreign[0]]
    await measure(large, mentor, first[0], rels, asked("session"), asked("milestone"))
    never_shown(large.answers, hidden)
    grown = lengths(large.answers)
    assert min(grown.values()) >= 50, grown
    every_constant(small.statements, large.statements)
    read_from_rows(large.statements)
    # The same reads while nothing listens to the engine (``chassis.db.read`` on the
    # driver directly): the same answers as through SQLAlchemy.
    unwatched = Reads(app, c, counting=False)
    await measure(
        unwatched, mentor, first[0], rels, asked("session"), asked("milestone")
    )
    assert unwatched.answers == large.answers


# A relationship's own lists: the revocation view, then the relationship's pair read
# from its row together with the items (no event replayed), then (items with words)
# their texts.
FROM_ROWS = {
    "GET /relationships/{id}/sessions": 2,
    "GET /relationships/{id}/milestones": 3,
    "GET /relationships/{id}/check-ins": 3,
    "GET /relationships/{id}/rotations": 3,
}


def read_from_rows(statements: dict[str, list[str]]) -> None:
    for name, count in FROM_ROWS.items():
        sent = statements[name]
        assert not [s for s in sent if " FROM events " in f"{s} "], (name, sent)
        assert len(sent) == count, (name, sent)


def every_constant(small: dict[str, list[str]], large: dict[str, list[str]]) -> None:
    """``assert_constant`` for each read; every read's counts printed, and every
    read that grew named in one failure."""
    print("\n".join(f"{n}: {len(s)} -> {len(large[n])}" for n, s in small.items()))
    grew = []
    for name, statements in small.items():
        try:
            assert_constant(name, statements, large[name])
        except AssertionError as failure:
            grew.append(str(failure))
    assert not grew, "\n\n".join(grew)

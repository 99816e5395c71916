"""Programme history import (issue 20): ``POST /sessions/history-imports`` records an
organisation's past contracts, sessions, milestones, feedback and check-ins through
the same aggregates and events as live writes, dated when they happened; re-imports
are no-ops, conflicting ones per-record errors; a dry run writes nothing; every
refusal is a typed per-record error naming its field; coordinators only."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.kafka import KafkaTransport
from chassis.service import mounted
from services.sessions.application.history import HistoryImports
from tests.profiles.conftest import token
from tests.sessions.conftest import COORDINATOR, confirm_pairing, confirmation
from tests.sessions.test_publication import published_for
from tests.support.statements import counted
from tests.support.waiting import until

pytestmark = pytest.mark.kafka

TODAY = datetime.now(UTC).date()
URL = "/sessions/history-imports"


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def at(offset_days: int, hour: int = 9) -> datetime:
    d = day(offset_days)
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def history(rid: str) -> dict:
    """A relationship's year: its contract, three sessions (held, cancelled,
    missed), two milestones (one achieved), two ratings and two check-ins."""
    return {
        "format": "tandem.programme-history/1",
        "contracts": [
            {
                "key": f"C-{rid}",
                "relationship_id": rid,
                "every_days": 14,
                "minutes": 60,
                "objectives": ["Lead the board review", "Build the successor bench"],
                "signed_on": day(-195).isoformat(),
            }
        ],
        "sessions": [
            {
                "key": f"S1-{rid}",
                "relationship_id": rid,
                "starts_at": at(-190).isoformat(),
                "minutes": 60,
                "status": "held",
            },
            {
                "key": f"S2-{rid}",
                "relationship_id": rid,
                "starts_at": at(-176).isoformat(),
                "minutes": 45,
                "status": "cancelled",
            },
            {
                "key": f"S3-{rid}",
                "relationship_id": rid,
                "starts_at": at(-162).isoformat(),
                "minutes": 60,
                "status": "missed",
                "absent": "mentee",
            },
        ],
        "milestones": [
            {
                "key": f"M1-{rid}",
                "relationship_id": rid,
                "objective_index": 0,
                "label": "Board review led",
                "set_on": day(-185).isoformat(),
                "due_on": day(-100).isoformat(),
                "achieved_on": day(-110).isoformat(),
            },
            {
                "key": f"M2-{rid}",
                "relationship_id": rid,
                "objective_index": 1,
                "label": "Two successors named",
                "set_on": day(-150).isoformat(),
                "due_on": day(-20).isoformat(),
            },
        ],
        "feedback": [
            {
                "key": f"F1-{rid}",
                "relationship_id": rid,
                "from": "mentee",
                "about": "session",
                "session": f"S1-{rid}",
                "rating": 4,
                "given_at": at(-189, 10).isoformat(),
            },
            {
                "key": f"F2-{rid}",
                "relationship_id": rid,
                "from": "mentor",
                "about": "milestone",
                "milestone": f"M1-{rid}",
                "rating": 5,
                "given_at": at(-105).isoformat(),
            },
        ],
        "check_ins": [
            {
                "key": f"K1-{rid}",
                "relationship_id": rid,
                "kind": "monthly",
                "held_on": day(-160).isoformat(),
                "alignment": 4,
            },
            {
                "key": f"K2-{rid}",
                "relationship_id": rid,
                "kind": "quarterly",
                "sponsor_id": "sponsor-1",
                "held_on": day(-100).isoformat(),
                "alignment": 3,
            },
        ],
    }


async def run(c, body, *, dry_run=False, key=None, headers=COORDINATOR):
    """Import and wait for the end: the job and its records by (section, key)."""
    extra = {"Idempotency-Key": key} if key else {}
    resp = await c.post(
        URL,
        params={"wait": "true", "dry_run": str(dry_run).lower()},
        json=body,
        headers={**headers, **extra},
    )
    assert resp.status_code == 200, resp.text
    job = resp.json()
    assert job["status"] == "succeeded", job
    assert resp.headers["Location"] == f"{URL}/{job['job_id']}"
    return job, await records_of(c, job["job_id"])


async def records_of(c, job_id: str, headers=COORDINATOR) -> dict:
    page = await c.get(f"{URL}/{job_id}/records", params={"limit": 7}, headers=headers)
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    while page.json()["next"] is not None:  # paging: every record once, in order
        page = await c.get(
            f"{URL}/{job_id}/records",
            params={"limit": 7, "after": page.json()["next"]},
            headers=headers,
        )
        items += page.json()["items"]
    return {(r["section"], r["key"]): r for r in items}


async def event_count(app, relationship_id: str) -> int:
    """The events about one relationship (its streams', and any that names it):
    the broker is shared by the whole test session, so a consumer may still be
    applying another test's messages to other relationships meanwhile."""
    async with mounted(app).runtime.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM events WHERE stream_id LIKE :like "
                        "OR CAST(payload AS text) LIKE :like"
                    ),
                    {"like": f"%{relationship_id}%"},
                )
            ).scalar_one()
        )


async def started_relationship(app, kafka_bootstrap, *, tenant="acme", starts_on):
    """A relationship of ``tenant`` started by matching's confirmation."""
    pid = str(uuid.uuid4())
    message = confirmation(
        pid, str(uuid.uuid4()), str(uuid.uuid4()), tenant=tenant, starts_on=starts_on
    )
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish([message])
    finally:
        await transport.stop()

    async def started() -> bool:
        async with mounted(app).runtime.engine.connect() as conn:
            found = await conn.execute(
                text("SELECT 1 FROM relationships WHERE relationship_id = :r"),
                {"r": pid},
            )
            return found.first() is not None

    await until(started, "sessions to start the relationship", 60, interval_s=0.05)
    return pid


def outcomes(records: dict) -> dict:
    return {k: r["outcome"] for k, r in records.items()}


async def test_a_history_is_imported_and_reimporting_it_changes_nothing(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, starts_on=day(-200))
    rid = pair["id"]
    doc = history(rid)

    job, records = await run(c, doc)
    assert job["dry_run"] is False and job["total"] == 10
    assert {s: n["created"] for s, n in job["counts"].items()} == {
        "contracts": 1,
        "sessions": 3,
        "milestones": 2,
        "feedback": 2,
        "check_ins": 2,
    }
    assert set(outcomes(records).values()) == {"created"}
    assert all(r["id"] and r["error"] is None for r in records.values())
    assert records[("contracts", f"C-{rid}")]["id"] == rid

    # the relationship's own reads show the past, dated when it happened
    rel = (await c.get(f"/relationships/{rid}", headers=pair["as_mentor"])).json()
    assert rel["contract"]["in_force"] and rel["contract"]["cadence"] == {
        "every_days": 14,
        "minutes": 60,
    }
    listed = (
        await c.get(f"/relationships/{rid}/sessions", headers=pair["as_mentee"])
    ).json()
    by_id = {s["session_id"]: s for s in listed}
    held = by_id[records[("sessions", f"S1-{rid}")]["id"]]
    assert held["state"] == "held"
    assert datetime.fromisoformat(held["starts_at"]) == at(-190)
    assert datetime.fromisoformat(held["held_at"]) == at(-190)
    assert by_id[records[("sessions", f"S2-{rid}")]["id"]]["state"] == "cancelled"
    missed = by_id[records[("sessions", f"S3-{rid}")]["id"]]
    assert missed["state"] == "missed" and missed["absent_ids"] == [pair["mentee"]]
    milestones = (
        await c.get(f"/relationships/{rid}/milestones", headers=pair["as_mentor"])
    ).json()
    achieved = next(
        m for m in milestones if m["id"] == records[("milestones", f"M1-{rid}")]["id"]
    )
    assert achieved["set_on"] == day(-185).isoformat()
    assert achieved["achieved_on"] == day(-110).isoformat()
    assert achieved["label"] == "Board review led"
    ratings = (
        await c.get(f"/relationships/{rid}/feedback", headers=pair["as_mentee"])
    ).json()
    assert [(f["rating"], datetime.fromisoformat(f["given_at"])) for f in ratings] == [
        (4, at(-189, 10)),
        (5, at(-105)),
    ]
    check_ins = (
        await c.get(f"/relationships/{rid}/check-ins", headers=pair["as_mentor"])
    ).json()
    assert sorted(k["held_on"] for k in check_ins) == [
        day(-160).isoformat(),
        day(-100).isoformat(),
    ]

    # what insights consumes: the same events as live writes, with the past date
    published = await published_for(
        kafka_bootstrap, rid, {"SessionHeld", "ContractInForce", "CheckInRecorded"}
    )
    assert datetime.fromisoformat(
        json.loads(published["SessionHeld"])["held_at"]
    ) == at(-190)
    assert json.loads(published["ContractInForce"])["signed_on"] == (
        day(-195).isoformat()
    )

    # the same file again: every record unchanged, the same ids, no new event
    before = await event_count(app, rid)
    again, re_records = await run(c, doc)
    assert set(outcomes(re_records).values()) == {"unchanged"}
    assert {k: r["id"] for k, r in re_records.items()} == {
        k: r["id"] for k, r in records.items()
    }
    assert {s: n["unchanged"] for s, n in again["counts"].items()} == {
        s: n["created"] for s, n in job["counts"].items()
    }
    assert await event_count(app, rid) == before

    # other content under a key already imported: that record is a conflict
    changed = copy.deepcopy(doc)
    changed["sessions"][0]["minutes"] = 90
    changed["check_ins"][0]["alignment"] = 1
    _job, conflicted = await run(c, changed)
    for key in (("sessions", f"S1-{rid}"), ("check_ins", f"K1-{rid}")):
        assert conflicted[key]["outcome"] == "failed"
        assert conflicted[key]["error"]["code"] == "conflict"
        assert conflicted[key]["error"]["field"] == "key"
    assert outcomes(conflicted)[("sessions", f"S2-{rid}")] == "unchanged"
    assert await event_count(app, rid) == before


async def test_a_dry_run_validates_everything_and_writes_nothing(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, starts_on=day(-200))
    rid = pair["id"]
    doc = history(rid)
    doc["check_ins"][1]["held_on"] = day(-250).isoformat()  # before the start
    before = await event_count(app, rid)

    job, records = await run(c, doc, dry_run=True)
    assert job["dry_run"] is True
    # sessions, milestones and feedback rest on the contract and sessions the same
    # dry run would create: all would be created
    failed = {k for k, r in records.items() if r["outcome"] == "failed"}
    assert failed == {("check_ins", f"K2-{rid}")}
    assert all(
        r["outcome"] == "would_create" and r["id"] is None
        for k, r in records.items()
        if k not in failed
    )
    assert job["counts"]["sessions"] == {
        "created": 0,
        "unchanged": 0,
        "failed": 0,
        "would_create": 3,
    }
    assert records[("check_ins", f"K2-{rid}")]["error"]["code"] == (
        "BeforeRelationshipStarted"
    )
    assert await event_count(app, rid) == before
    listed = await c.get(f"/relationships/{rid}/sessions", headers=pair["as_mentee"])
    assert listed.json() == []
    rel = (await c.get(f"/relationships/{rid}", headers=pair["as_mentor"])).json()
    assert rel["contract"]["version"] is None

    # nothing was remembered either: the real import creates every valid record
    _job, real = await run(c, doc)
    assert {k for k, r in real.items() if r["outcome"] == "created"} == set(
        records
    ) - failed


async def test_each_refusal_is_a_typed_error_naming_its_field(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, starts_on=day(-200))
    rid = pair["id"]
    bare = await started_relationship(app, kafka_bootstrap, starts_on=day(-100))
    theirs = await started_relationship(
        app, kafka_bootstrap, tenant="globex", starts_on=day(-100)
    )
    good = history(rid)
    contract = good["contracts"][0]
    session = good["sessions"][0]
    milestone = good["milestones"][0]
    feedback = good["feedback"][0]
    check_in = good["check_ins"][0]

    def like(record: dict, key: str, **changes) -> dict:
        return {**record, "key": key, **changes}

    doc = {
        "contracts": [
            contract,
            like(contract, "c-again", signed_on=day(-150).isoformat()),
            like(
                contract, "c-future", relationship_id=bare, signed_on=day(3).isoformat()
            ),
            like(contract, "c-unknown", relationship_id="no-such-relationship"),
            like(contract, "c-theirs", relationship_id=theirs),
        ],
        "sessions": [
            session,
            like(session, "s-early", starts_at=at(-201).isoformat()),
            like(session, "s-future", starts_at=at(2).isoformat()),
            like(
                session,
                "s-no-contract",
                relationship_id=bare,
                starts_at=at(-50).isoformat(),
            ),
            like(
                session,
                "s-cancelled",
                status="cancelled",
                starts_at=at(-60).isoformat(),
            ),
        ],
        "milestones": [
            like(milestone, "m-before-set", achieved_on=day(-186).isoformat()),
            like(
                milestone,
                "m-future",
                set_on=day(1).isoformat(),
                due_on=day(9).isoformat(),
            ),
            like(milestone, "m-due", due_on=day(-190).isoformat()),
            like(milestone, "m-objective", objective_index=5),
        ],
        "feedback": [
            like(feedback, "f-before", given_at=at(-191).isoformat()),
            like(feedback, "f-future", given_at=at(1).isoformat()),
            like(feedback, "f-unknown", session="S-none"),
            like(
                feedback,
                "f-not-held",
                session="s-cancelled",
                given_at=at(-50).isoformat(),
            ),
            feedback,
            like(feedback, "f-twice"),
        ],
        "check_ins": [
            like(check_in, "k-future", held_on=day(1).isoformat()),
            like(check_in, "k-early", held_on=day(-201).isoformat()),
            like(check_in, "k-sponsor", kind="quarterly"),
        ],
    }
    before = await event_count(app, rid)
    _job, records = await run(c, doc)
    expected = {
        ("contracts", "c-again"): ("InvalidTransition", "relationship_id"),
        ("contracts", "c-future"): ("DateInFuture", "signed_on"),
        ("contracts", "c-unknown"): ("unknown_relationship", "relationship_id"),
        ("contracts", "c-theirs"): ("unknown_relationship", "relationship_id"),
        ("sessions", "s-early"): ("BeforeRelationshipStarted", "starts_at"),
        ("sessions", "s-future"): ("NotYetDue", "starts_at"),
        ("sessions", "s-no-contract"): ("ContractNotInForce", "relationship_id"),
        ("milestones", "m-before-set"): ("BeforeMilestoneSet", "achieved_on"),
        ("milestones", "m-future"): ("DateInFuture", "set_on"),
        ("milestones", "m-due"): ("DueDateInPast", "due_on"),
        ("milestones", "m-objective"): ("UnknownObjective", "objective_index"),
        ("feedback", "f-before"): ("BeforeSubject", "given_at"),
        ("feedback", "f-future"): ("DateInFuture", "given_at"),
        ("feedback", "f-unknown"): ("UnknownSubject", "session"),
        ("feedback", "f-not-held"): ("SessionNotHeld", "session"),
        ("feedback", "f-twice"): ("FeedbackAlreadyGiven", "key"),
        ("check_ins", "k-future"): ("NotHeldYet", "held_on"),
        ("check_ins", "k-early"): ("BeforeRelationshipStarted", "held_on"),
        ("check_ins", "k-sponsor"): ("SponsorRequired", "sponsor_id"),
    }
    found = {
        k: (r["error"]["code"], r["error"]["field"])
        for k, r in records.items()
        if r["outcome"] == "failed"
    }
    assert found == expected
    assert all(records[k]["error"]["message"] for k in expected)
    # the good records went ahead all the same
    created = {k for k, r in records.items() if r["outcome"] == "created"}
    assert created == {
        ("contracts", f"C-{rid}"),
        ("sessions", f"S1-{rid}"),
        ("sessions", "s-cancelled"),
        ("feedback", f"F1-{rid}"),
    }
    assert await event_count(app, rid) > before
    # another tenant's relationship is untouched
    async with mounted(app).runtime.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT contract_version FROM relationships WHERE relationship_id = :r"
                ),
                {"r": theirs},
            )
        ).one()
    assert row.contract_version is None


async def test_only_the_tenants_coordinators_import_and_read_jobs(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, starts_on=day(-200))
    doc = history(pair["id"])
    before = await event_count(app, pair["id"])
    for who in ("as_mentee", "as_mentor"):
        refused = await c.post(
            URL, params={"wait": "true"}, json=doc, headers=pair[who]
        )
        assert refused.status_code == 403, refused.text
    started = await c.post(URL, json=doc, headers=COORDINATOR)
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    assert started.json()["status"] in ("queued", "running", "succeeded")
    for who in ("as_mentee", "as_mentor"):
        assert (await c.get(f"{URL}/{job_id}", headers=pair[who])).status_code == 403
    other = token("globex", "coordinator")
    assert (await c.get(f"{URL}/{job_id}", headers=other)).status_code == 404
    assert (await c.get(f"{URL}/{job_id}/records", headers=other)).status_code == 404
    admin = token("acme", "admin", sub="admin-1")

    async def done() -> bool:
        job = (await c.get(f"{URL}/{job_id}", headers=admin)).json()
        return job["status"] == "succeeded"

    await until(done, "the import to finish", 60)
    assert await event_count(app, pair["id"]) > before


async def test_a_malformed_body_is_refused_and_nothing_is_done(
    sessions, kafka_bootstrap
):
    app, c = sessions
    session = {
        "key": "S-1",
        "relationship_id": "r-1",
        "starts_at": "2025-01-20T09:00:00Z",
        "minutes": 60,
        "status": "held",
    }
    for body, field in (
        ({"sessions": {"key": "S-1"}}, "sessions"),
        ({"pairings": []}, "pairings"),
        ({"format": "tandem.programme-history/9"}, "format"),
        # a record not of its section's shape refuses the whole document
        ({"sessions": [{**session, "status": "postponed"}]}, "sessions.0.status"),
        (
            {"sessions": [{k: v for k, v in session.items() if k != "minutes"}]},
            "sessions.0.minutes",
        ),
        ({"sessions": [{**session, "key": "S\x00"}]}, "sessions.0.key"),
        ({"sessions": [session] * 5_001}, "sessions"),
    ):
        resp = await c.post(URL, json=body, headers=COORDINATOR)
        assert resp.status_code == 422, resp.text
        assert resp.json()["code"] == "ValidationError"
        assert [e["path"] for e in resp.json()["errors"]] == [field]
    not_json = await c.post(
        URL,
        content=b"{not json",
        headers={**COORDINATOR, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422
    async with mounted(app).runtime.engine.connect() as conn:
        jobs = await conn.execute(text("SELECT count(*) FROM history_import_jobs"))
        assert jobs.scalar_one() == 0


async def test_an_idempotency_key_replays_its_job(sessions, kafka_bootstrap):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, starts_on=day(-200))
    doc = history(pair["id"])
    first, _ = await run(c, doc, key="year-2025")
    again = await c.post(
        URL, json=doc, headers={**COORDINATOR, "Idempotency-Key": "year-2025"}
    )
    assert again.status_code == 202
    assert again.json()["job_id"] == first["job_id"] and again.json()["replayed"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await c.post(
        URL,
        json={"sessions": doc["sessions"]},
        headers={**COORDINATOR, "Idempotency-Key": "year-2025"},
    )
    assert other.status_code == 422
    assert other.json()["code"] == "IdempotencyKeyReused"


async def end_pairing(app, kafka_bootstrap: str, pairing_id: str) -> None:
    """Matching's PairingEnded; wait until sessions concluded the relationship."""
    message = OutboundMessage.of(
        "tandem.matching.v1",
        Envelope(
            id=str(uuid.uuid4()),
            source="tandem/matching",
            type="PairingEnded",
            subject=pairing_id,
            time=utcnow(),
            data={"pairing_id": pairing_id, "reason": "concluded"},
            tenant="acme",
        ),
    )
    transport = KafkaTransport(kafka_bootstrap)
    try:
        await transport.publish([message])
    finally:
        await transport.stop()

    async def concluded() -> bool:
        async with mounted(app).runtime.engine.connect() as conn:
            state = await conn.execute(
                text("SELECT state FROM relationships WHERE relationship_id = :r"),
                {"r": pairing_id},
            )
            return state.scalar_one() == "concluded"

    await until(concluded, "sessions to conclude the relationship", 60)


async def test_a_concluded_relationships_past_is_imported_chunk_by_chunk(
    sessions, kafka_bootstrap
):
    """The usual case: matching's history ended the pairing before sessions'
    import arrives. Small chunks: feedback finds sessions of earlier chunks."""
    app, c = sessions
    mounted(app).provide(HistoryImports).chunk_size = 2
    pair = await confirm_pairing(app, kafka_bootstrap, starts_on=day(-200))
    rid = pair["id"]
    await end_pairing(app, kafka_bootstrap, rid)
    job, records = await run(c, history(rid))
    assert set(outcomes(records).values()) == {"created"}, records
    assert job["counts"]["feedback"]["created"] == 2
    rel = (await c.get(f"/relationships/{rid}", headers=pair["as_mentor"])).json()
    assert rel["state"] == "concluded" and rel["contract"]["in_force"]
    listed = (
        await c.get(f"/relationships/{rid}/sessions", headers=pair["as_mentor"])
    ).json()
    assert sorted(s["state"] for s in listed) == ["cancelled", "held", "missed"]


async def test_a_chunks_records_are_appended_together(sessions, kafka_bootstrap):
    """A year of sessions is not appended one statement per session."""
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, starts_on=day(-400))
    rid = pair["id"]
    doc = history(rid)
    doc["sessions"] = [
        {
            "key": f"S{n}-{rid}",
            "relationship_id": rid,
            "starts_at": at(-380 + 7 * n).isoformat(),
            "minutes": 60,
            "status": "held",
        }
        for n in range(52)
    ]
    doc["feedback"] = doc["milestones"] = doc["check_ins"] = []
    async with counted(mounted(app).runtime.engine) as statements:
        job, _records = await run(c, doc)
    assert job["counts"]["sessions"]["created"] == 52
    appends = [s for s in statements if "INSERT INTO events" in s]
    # the contract's chunk, then the sessions' chunk: at most two statements each
    # (the first stream as ``append`` writes it, the others in one)
    assert 2 <= len(appends) <= 3, appends
    listed = (
        await c.get(f"/relationships/{rid}/sessions", headers=pair["as_mentor"])
    ).json()
    assert len(listed) == 52 and {s["state"] for s in listed} == {"held"}


async def test_two_coordinators_importing_the_same_file_at_once_create_it_once(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap, starts_on=day(-200))
    rid = pair["id"]
    doc = history(rid)
    other = token("acme", "coordinator", sub="coordinator-2")
    (_a, first), (_b, second) = await asyncio.gather(
        run(c, doc), run(c, doc, headers=other)
    )
    assert set(first) == set(second)
    for key in first:  # each record created by one job, found by the other
        pair_of = sorted([first[key]["outcome"], second[key]["outcome"]])
        assert pair_of == ["created", "unchanged"], (key, pair_of)
        assert first[key]["id"] == second[key]["id"]
    listed = (
        await c.get(f"/relationships/{rid}/sessions", headers=pair["as_mentor"])
    ).json()
    assert len(listed) == 3
    rel = (await c.get(f"/relationships/{rid}", headers=pair["as_mentor"])).json()
    assert rel["contract"]["version"] == 1

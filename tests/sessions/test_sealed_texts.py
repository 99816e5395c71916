"""Private texts against a database reader: sealed with the author's key at rest,
shredded with the key on the author's erasure, and gone from the embedded files."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import event, text

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.messaging import OutboundMessage
from chassis.messaging.inprocess import InProcessBus
from chassis.service import mounted
from services.sessions.application.relationships import Relationships
from services.sessions.main import build_app
from services.sessions.settings import Settings
from tests.apps import serving
from tests.profiles.conftest import token
from tests.sessions.conftest import (
    COORDINATOR,
    confirm_pairing,
    confirmation,
    milestone,
    signed,
)
from tests.sessions.test_notes_api import erase
from tests.support.waiting import until

# What the mentee writes: every kind of private text sessions keeps.
WORDS = {
    "note": "Private-note: I doubt the CFO numbers 4f1c",
    "shared": "Shared-note: we agreed to rehearse the board pitch 9a2e",
    "journal": "Journal: my bias towards speed over consensus 77d3",
    "comment": "Feedback-comment: the mentor keeps postponing 0b5a",
    "escalation": "Escalation: the chemistry is not there 3c8e",
}


async def write_everything(c, pair: dict) -> dict[str, str]:
    """The mentee writes each kind of text; returns the ids a reader would use."""
    as_mentee = pair["as_mentee"]
    ids = {}
    for key, kind, visibility in (
        ("note", "session_note", "private"),
        ("shared", "after_action_review", "shared"),
        ("journal", "journal", "private"),
    ):
        made = await c.post(
            f"/relationships/{pair['id']}/notes",
            json={"kind": kind, "visibility": visibility, "body": WORDS[key]},
            headers=as_mentee,
        )
        assert made.status_code == 201, made.text
        ids[key] = made.json()["note_id"]
    await signed(c, pair)
    given = await c.post(
        f"/relationships/{pair['id']}/feedback",
        json={
            "about": "milestone",
            "subject_id": await milestone(c, pair),
            "rating": 2,
            "comment": WORDS["comment"],
        },
        headers=as_mentee,
    )
    assert given.status_code == 201, given.text
    raised = await c.post(
        f"/relationships/{pair['id']}/escalations",
        json={"category": "chemistry", "detail": WORDS["escalation"]},
        headers=as_mentee,
    )
    assert raised.status_code == 201, raised.text
    ids["escalation"] = raised.json()["id"]
    return ids


async def dump(engine) -> str:
    """Every row of every table of the sessions database, as text."""
    async with engine.connect() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables "
                    "WHERE schemaname = current_schema() ORDER BY tablename"
                )
            )
        ).scalars()
        rows = []
        for table in list(tables):
            found = await conn.execute(text(f'SELECT t::text FROM "{table}" t'))
            rows.extend(f"{table}: {row}" for row in found.scalars())
    return "\n".join(rows)


async def key_row(engine, person_id: str):
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT wrapped_key, destroyed_at FROM person_keys "
                    "WHERE person_id = :p"
                ),
                {"p": person_id},
            )
        ).first()


async def until_shredded(engine, person_id: str, timeout_s: float = 60) -> None:
    async def shredded() -> bool:
        row = await key_row(engine, person_id)
        return row is not None and row.wrapped_key is None

    await until(
        shredded, f"the key of {person_id} to be destroyed", timeout_s, interval_s=0.05
    )


@pytest.mark.kafka
async def test_a_database_reader_finds_no_private_text_and_erasure_shreds_them(
    sessions, kafka_bootstrap
):
    app, c = sessions
    engine = mounted(app).runtime.engine
    pair = await confirm_pairing(app, kafka_bootstrap)
    ids = await write_everything(c, pair)

    # The pair and the coordinator read what they may, decrypted.
    shared = await c.get(f"/notes/{ids['shared']}", headers=pair["as_mentor"])
    assert shared.json()["body"] == WORDS["shared"]
    mine = await c.get(f"/relationships/{pair['id']}/notes", headers=pair["as_mentee"])
    assert {n["body"] for n in mine.json()} == {
        WORDS["note"],
        WORDS["shared"],
        WORDS["journal"],
    }
    seen = (await c.get("/escalations", headers=COORDINATOR)).json()
    assert [e["detail"] for e in seen if e["id"] == ids["escalation"]] == [
        WORDS["escalation"]
    ]
    feedback = await c.get(
        f"/relationships/{pair['id']}/feedback", headers=pair["as_mentor"]
    )
    assert feedback.json()[0]["comment"] == WORDS["comment"]

    # A reader of every table sees none of it in clear.
    everything = await dump(engine)
    assert "private_texts:" in everything and "person_keys:" in everything
    for words in WORDS.values():
        assert words not in everything
        assert words.split(": ")[1] not in everything

    # A copy of the sealed rows (what a backup or a dead row version keeps) ...
    async with engine.connect() as conn:
        copy = (
            await conn.execute(
                text("SELECT * FROM private_texts WHERE author_id = :p"),
                {"p": pair["mentee"]},
            )
        ).all()
    # note, shared note, journal, comment, escalation; contract terms, milestone
    assert len(copy) == 8

    await erase(kafka_bootstrap, pair["mentee"])
    await until_shredded(engine, pair["mentee"])

    destroyed = await key_row(engine, pair["mentee"])
    assert destroyed.wrapped_key is None and destroyed.destroyed_at is not None
    # ... no longer opens: put back, every text reads as erased.
    async with engine.begin() as conn:
        for row in copy:
            await conn.execute(
                text(
                    "INSERT INTO private_texts (text_id, tenant, author_id, body) "
                    "VALUES (:i, :t, :a, :b)"
                ),
                {"i": row.text_id, "t": row.tenant, "a": row.author_id, "b": row.body},
            )
        texts = mounted(app).provide(Relationships).texts
        opened = await texts.get_many(conn, [row.text_id for row in copy])
    assert opened == {row.text_id: None for row in copy}

    # The other party sees the shared note as erased; the escalation lost its words.
    note = (await c.get(f"/notes/{ids['shared']}", headers=pair["as_mentor"])).json()
    assert note["erased"] is True and note["body"] is None
    seen = (await c.get("/escalations", headers=COORDINATOR)).json()
    assert [e.get("detail") for e in seen if e["id"] == ids["escalation"]] == [None]
    # The erased author's still-valid token cannot seal anything new: it is refused
    # outright (the revocation view), before any key would be looked for.
    late = await c.post(
        f"/relationships/{pair['id']}/notes",
        json={"kind": "journal", "visibility": "private", "body": "after"},
        headers=pair["as_mentee"],
    )
    assert late.status_code == 401, late.text
    assert "erased" in late.json()["detail"]


@pytest.mark.kafka
async def test_one_query_reads_a_page_of_notes_whatever_its_length(
    sessions, kafka_bootstrap
):
    app, c = sessions
    pair = await confirm_pairing(app, kafka_bootstrap)
    engine = mounted(app).runtime.engine
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "private_texts" in statement or "person_keys" in statement:
            statements.append(statement)

    for _ in range(2):
        for who in ("as_mentee", "as_mentor", "as_mentee"):
            made = await c.post(
                f"/relationships/{pair['id']}/notes",
                json={"kind": "session_note", "visibility": "shared", "body": "x"},
                headers=pair[who],
            )
            assert made.status_code == 201
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            listed = await c.get(
                f"/relationships/{pair['id']}/notes", headers=pair["as_mentor"]
            )
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        assert listed.status_code == 200 and len(listed.json()) in (3, 6)
        assert {n["body"] for n in listed.json()} == {"x"}
        # 3 notes or 6, by two authors: texts and keys come in one query.
        assert len(statements) == 1, statements


async def test_embedded_files_keep_no_erased_text_nor_key(tmp_path: Path):
    bus = InProcessBus()
    app = build_app(
        Settings(
            environment="test",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}",
        ),
        transport=bus,
    )
    pid, mentor, mentee = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    pair = {
        "id": pid,
        "mentor": mentor,
        "mentee": mentee,
        "as_mentor": token("acme", "mentor", sub=mentor),
        "as_mentee": token("acme", "mentee", sub=mentee),
    }
    async with serving(app, "sessions") as c:
        engine = mounted(app).runtime.engine
        await bus.publish([confirmation(pid, mentor, mentee)])

        async def started() -> bool:
            got = await c.get(f"/relationships/{pid}", headers=pair["as_mentee"])
            return got.status_code == 200

        await until(started, "the relationship to start", 30, interval_s=0.05)
        await write_everything(c, pair)
        wrapped = (await key_row(engine, mentee)).wrapped_key.encode()
        assert files_holding(tmp_path, wrapped), "the search must see the key"
        for words in WORDS.values():
            assert files_holding(tmp_path, words.encode()) == []

        await bus.publish([person_erased(mentee)])
        await until_shredded(engine, mentee)
        await mounted(app).runtime.scrubber.wait()

        assert files_holding(tmp_path, wrapped) == []
        for words in WORDS.values():
            assert files_holding(tmp_path, words.encode()) == []
        note = (
            await c.get(f"/relationships/{pid}/notes", headers=pair["as_mentor"])
        ).json()
        assert [n["body"] for n in note if n["visibility"] == "shared"] == [None]


def files_holding(folder: Path, needle: bytes) -> list[str]:
    return sorted(
        str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()
    )


def person_erased(person_id: str) -> OutboundMessage:
    return OutboundMessage.of(
        "tandem.profiles.v1",
        Envelope(
            id=str(uuid.uuid4()),
            source="tandem/profiles",
            type="PersonErased",
            subject=person_id,
            time=utcnow(),
            data={"person_id": person_id, "erased_at": utcnow().isoformat()},
            tenant="acme",
        ),
    )


@pytest.mark.unit
def test_production_refuses_the_development_master_key_and_a_short_one():
    base = {
        "environment": "production",
        "jwt_secret": "a-real-secret-" + "s" * 34,
        "sessions_pulse_key": "p" * 44,
        "kafka_bootstrap_servers": None,
    }
    with pytest.raises(ValidationError, match="SESSIONS_MASTER_KEY must be set"):
        Settings(**base)
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(**base, sessions_master_key=base64.b64encode(b"k" * 16).decode())
    real = base64.b64encode(b"k" * 32).decode()
    assert Settings(**base, sessions_master_key=real).master_key == b"k" * 32

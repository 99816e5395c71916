"""Logs, traces, dead letters and access logs name no one's values (``chassis.redaction``).

Seen from the side of an operator who reads them: a person's email refused by a
unique constraint, a row that broke a check, an event whose data failed validation,
a calendar feed's token and a SCIM filter in a request's query string.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel, EmailStr, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.db import create_engine
from chassis.envelope import Envelope
from chassis.events import NewEvent
from chassis.http import create_app
from chassis.messaging import ConsumerRunner, OutboundMessage
from chassis.messaging.consumer import create_consumer_schema
from chassis.messaging.inprocess import InProcessBus
from chassis.messaging.transport import InboundMessage
from chassis.redaction import (
    AccessLogRedaction,
    RedactedRecords,
    described,
    redacted_target,
    redacted_traceback,
)
from chassis.settings import ServiceSettings

EMAIL = "alice.secret@example.com"
NAME = "Alice Secretname"


class Person(BaseModel):
    email: EmailStr
    age: int


def _validation_error() -> ValidationError:
    try:
        Person.model_validate({"email": NAME, "age": EMAIL})
    except ValidationError as exc:
        return exc
    raise AssertionError("expected a validation error")


@pytest.mark.unit
def test_a_validation_error_is_described_by_its_fields_not_its_input() -> None:
    error = _validation_error()
    assert NAME in str(error)  # what pydantic writes
    text_ = described(error)
    assert NAME not in text_ and EMAIL not in text_
    assert "ValidationError: 2 validation error(s) for Person" in text_
    assert "email:" in text_ and "age:" in text_


@pytest.mark.unit
@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("/calendar/p-1.ics?token=s3cr3t-t0ken", "/calendar/p-1.ics?token=…"),
        (
            "/scim/v2/Users?filter=userName%20eq%20%22alice%40x.com%22&count=5",
            "/scim/v2/Users?filter=…&count=…",
        ),
        ("/graphql?query={me{id}}&variables={}", "/graphql?query=…&variables=…"),
        ("/people?alice@x.com", "/people?…"),
        ("/people?flag&&limit=5", "/people?flag&limit=…"),
        ("/people/p-1", "/people/p-1"),
    ],
)
def test_an_access_log_target_keeps_the_query_names_not_the_values(
    target: str, shown: str
) -> None:
    assert redacted_target(target) == shown


def _raise_chained() -> None:
    try:
        raise KeyError("lookup")
    except KeyError as inner:
        raise _validation_error() from inner


@pytest.mark.unit
def test_a_logged_exception_keeps_its_frames_and_loses_its_values() -> None:
    record_holder: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record_holder.append(record)

    logger = logging.getLogger(f"test.redaction.{uuid.uuid4().hex}")
    logger.propagate = False
    handler = Keep()
    handler.addFilter(RedactedRecords())
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    try:
        _raise_chained()
    except ValidationError as exc:
        logger.error("import failed: %s", exc, exc_info=True)
    written = handler.format(record_holder[0])
    assert NAME not in written and EMAIL not in written
    assert "import failed: ValidationError: 2 validation error(s)" in written
    assert "_raise_chained" in written  # the frames are kept
    assert "The above exception was the direct cause" in written
    assert "KeyError: 'lookup'" in written


async def _failing_statement(engine: AsyncEngine, statement: str) -> BaseException:
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement), {"e": EMAIL, "n": NAME})
    except Exception as exc:
        return exc
    raise AssertionError("expected the statement to fail")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE contacts (email TEXT UNIQUE, name TEXT, "
                "age INT CHECK (age > 0))"
            )
        )
        await conn.execute(
            text("INSERT INTO contacts (email, name, age) VALUES (:e, :n, 30)"),
            {"e": EMAIL, "n": NAME},
        )
    yield engine
    await engine.dispose()


async def test_database_errors_are_described_without_the_values_they_refused(
    engine: AsyncEngine,
) -> None:
    duplicate = await _failing_statement(
        engine, "INSERT INTO contacts (email, name, age) VALUES (:e, :n, 31)"
    )
    broken = await _failing_statement(
        engine, "INSERT INTO contacts (email, name, age) VALUES (:e || 'x', :n, -1)"
    )
    # The server quotes a value it cannot read; the driver, one it cannot send.
    unreadable = await _failing_statement(
        engine,
        "SELECT CAST(CAST(:e AS text) AS uuid) WHERE CAST(:n AS text) IS NOT NULL",
    )
    unsendable = await _failing_statement(
        engine, "SELECT CAST(:e AS int) WHERE CAST(:n AS text) IS NOT NULL"
    )
    assert EMAIL in str(unreadable) and EMAIL in str(unsendable)
    for error in (duplicate, broken, unreadable, unsendable):
        # SQLAlchemy no longer appends the statement's parameters...
        assert NAME not in str(error) and "[parameters:" not in str(error)
        # ...and the description hides the literals the messages quote.
        shown = described(error)
        assert EMAIL not in shown and NAME not in shown, shown
        assert EMAIL not in redacted_traceback(error)
    assert "contacts_email_key" in described(duplicate)  # what it is about stays
    assert "SQLSTATE 23505" in described(duplicate)
    assert "contacts_age_check" in described(broken)
    assert "SQLSTATE 22P02" in described(unreadable)


async def _insert_contact(envelope: Envelope, conn: AsyncConnection) -> None:
    await conn.execute(
        text("INSERT INTO contacts (email, name, age) VALUES (:e, :n, 1)"),
        {"e": envelope.data["email"], "n": envelope.data["name"]},
    )


async def _read_contact(envelope: Envelope, conn: AsyncConnection) -> None:
    Person.model_validate({"email": envelope.data["name"], "age": 1})


@pytest.mark.parametrize(
    ("handler", "named"),
    [
        (_insert_contact, "contacts_email_key"),  # the database refuses the email
        (_read_contact, "validation error(s) for Person"),  # pydantic, its input
    ],
)
async def test_a_dead_letter_names_the_error_not_the_persons_values(
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    exporter: InMemorySpanExporter,
    handler,
    named: str,
) -> None:
    """Its row, its header, the log and each attempt's span."""
    bus = InProcessBus()
    runner = ConsumerRunner(
        name="test-redaction",
        topics=["contacts"],
        engine=engine,
        transport=bus,
        handlers={"ContactAdded": handler},
        retry_backoff_s=0.0,
        max_attempts=2,
    )
    await create_consumer_schema(engine)
    envelope = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/test",
        type="ContactAdded",
        subject="c-1",
        time=NewEvent("x", {}).time,
        data={"email": EMAIL, "name": NAME},
        tenant="acme",
    )
    out = OutboundMessage.of("contacts", envelope)
    caplog.set_level(logging.WARNING)
    await runner.handle(
        InboundMessage("contacts", 0, 7, out.key, out.value, list(out.headers))
    )
    assert runner.dead_letters == 1
    events = [e for span in exporter.get_finished_spans() for e in span.events]
    assert events and all(e.name == "exception" for e in events)
    for e in events:  # each attempt's consume span, recorded as ``described``
        written = " ".join(str(v) for v in (e.attributes or {}).values())
        assert named in written and EMAIL not in written and NAME not in written
    async with engine.connect() as conn:
        error = (await conn.execute(text("SELECT error FROM dead_letters"))).scalar()
    assert named in error and EMAIL not in error and NAME not in error
    assert named in caplog.text
    assert EMAIL not in caplog.text and NAME not in caplog.text
    letters = bus.messages(runner.dead_letter_topic)
    headers = dict(letters[0].headers)
    assert EMAIL.encode() not in headers["x-tandem-error"]
    assert NAME.encode() not in headers["x-tandem-error"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_access_log_of_a_served_app_hides_query_values() -> None:
    """As deployed: uvicorn's own logging set up, then the factory builds the app."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    def build() -> object:
        return create_app(
            ServiceSettings(service_name="redaction-test"), title="t", version="1"
        )

    port = _free_port()
    config = uvicorn.Config(build, factory=True, host="127.0.0.1", port=port)
    access = logging.getLogger("uvicorn.access")
    keep = Keep()
    access.addHandler(keep)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await client.get("/healthz", params={"token": "s3cr3t-t0ken"})
            await client.get(
                "/healthz", params={"filter": f'userName eq "{EMAIL}"', "count": 5}
            )
    finally:
        server.should_exit = True
        await serving
        access.removeHandler(keep)
    assert any(AccessLogRedaction in map(type, access.filters) for _ in [0])
    assert any("/healthz?token=…" in line for line in lines), lines
    assert any("/healthz?filter=…&count=…" in line for line in lines), lines
    joined = "\n".join(lines)
    assert "s3cr3t" not in joined and "alice" not in joined

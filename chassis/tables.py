"""The chassis's own tables, declared once (SQLAlchemy Core): the one schema source.

Every service has the event store's ``events`` and ``log_checkpoints`` and the
consumer's ``processed_events`` and ``dead_letters``; a service holding personal data
has ``person_keys``; a service that forgets people on ``PersonErased`` has
``revoked_subjects`` and ``erasure_receipts``. Start-up creates them from these
declarations (``create``); the migrations that created them on PostgreSQL are frozen
history (``chassis.migrations.baseline``, ``privacy_tables``), and the drift check
proves the two agree.

The same declaration serves PostgreSQL and the embedded SQLite: where the two differ
(identity columns, JSONB, UUID, the transaction id and the recording time as
defaults) the type or default says so per dialect.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

from chassis.db import NOW, STAMP, is_sqlite

metadata = MetaData()


# -- column shapes every service's tables use ------------------------------------------


def key_column(name: str) -> Column[str]:
    """A text primary-key column (part of a composite key when given twice)."""
    return Column(name, Text, primary_key=True)


def text_column(
    name: str, *, nullable: bool = False, default: str | None = None
) -> Column[str]:
    return Column(
        name,
        Text,
        nullable=nullable,
        server_default=None if default is None else text(f"'{default}'"),
    )


def int_column(
    name: str, *, nullable: bool = False, default: int | None = None
) -> Column[int]:
    return Column(
        name,
        Integer,
        nullable=nullable,
        server_default=None if default is None else text(str(default)),
    )


def stamp_column(name: str, *, nullable: bool = False) -> Column[object]:
    return Column(name, STAMP, nullable=nullable)


BIG = BigInteger().with_variant(Integer(), "sqlite")
JSONB = Text().with_variant(postgresql.JSONB(), "postgresql")
UUID = Text().with_variant(postgresql.UUID(), "postgresql")


class current_transaction(FunctionElement[int]):
    """The id of the writing transaction (the log's commit order on PostgreSQL)."""

    inherit_cache = True


@compiles(current_transaction, "postgresql")
def _pg_transaction(
    _element: current_transaction, _compiler: SQLCompiler, **_: object
) -> str:
    return "(pg_current_xact_id()::text::bigint)"


@compiles(current_transaction)
def _other_transaction(
    _element: current_transaction, _compiler: SQLCompiler, **_: object
) -> str:
    return "0"  # one writer at a time: position order is commit order


class recorded_now(FunctionElement[str]):
    """The moment a row is written, at the database's precision."""

    inherit_cache = True


@compiles(recorded_now, "postgresql")
def _pg_now(_element: recorded_now, _compiler: SQLCompiler, **_: object) -> str:
    return "now()"


@compiles(recorded_now)
def _other_now(_element: recorded_now, _compiler: SQLCompiler, **_: object) -> str:
    return "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"


events = Table(
    "events",
    metadata,
    Column("position", BIG, Identity(always=True), primary_key=True),
    Column("tx_id", BIG, nullable=False, server_default=current_transaction()),
    Column("event_id", UUID, nullable=False),
    Column("stream_id", Text, nullable=False),
    Column("stream_type", Text, nullable=False),
    Column("version", Integer, CheckConstraint("version > 0"), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("schema_version", Integer, nullable=False, server_default=text("1")),
    Column("tenant", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("event_time", STAMP, nullable=False),
    Column("recorded_at", STAMP, nullable=False, server_default=recorded_now()),
    UniqueConstraint("stream_id", "version", name="events_stream_version"),
    UniqueConstraint("event_id", name="events_event_id"),
    Index("events_log_order", "tx_id", "position"),
    sqlite_autoincrement=True,
)

log_checkpoints = Table(
    "log_checkpoints",
    metadata,
    Column("name", Text, primary_key=True),
    Column("tx_id", BIG, nullable=False),
    Column("position", BIG, nullable=False),
    Column("updated_at", STAMP, nullable=False, server_default=recorded_now()),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("event_id", Text, primary_key=True),
    Column("processed_at", STAMP, nullable=False, server_default=NOW),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Text, primary_key=True),
    Column("consumer", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("partition_no", Integer, nullable=False),
    Column("offset_no", BigInteger, nullable=False),
    Column("event_id", Text),
    Column("event_type", Text),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("headers", Text, nullable=False),
    Column("value", Text),
    Column("created_at", STAMP, nullable=False, server_default=NOW),
    Column("replayed_at", STAMP),
)

person_keys = Table(
    "person_keys",
    metadata,
    Column("person_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("wrapped_key", Text),
    Column("created_at", STAMP, nullable=False, server_default=NOW),
    Column("destroyed_at", STAMP),
)

revoked_subjects = Table(
    "revoked_subjects",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("subject", Text, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("revoked_at", STAMP, nullable=False, server_default=NOW),
)

erasure_receipts = Table(
    "erasure_receipts",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("person_id", Text, primary_key=True),
    Column("confirmed_at", STAMP, nullable=False),
    Column("stores", Text, nullable=False),
)

# Serialises the creation of the chassis's tables by processes starting together.
SCHEMA_LOCK_ID = 7_264_001


async def create(engine: AsyncEngine, *tables: Table) -> None:
    """Create ``tables`` where missing (idempotent; one process at a time)."""
    async with engine.begin() as conn:
        if not is_sqlite(engine):
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_ID})"))
        await conn.run_sync(
            lambda sync: metadata.create_all(sync, tables=list(tables), checkfirst=True)
        )


def add_missing_columns(sync: Connection, schema: MetaData) -> list[str]:
    """SQLite only (the embedded demo, which has no migrations): add the columns of
    ``schema`` that an older data folder's tables lack, so a demo kept across an
    upgrade still opens. Only nullable columns or columns with a server default can
    be added this way (SQLite's ``ALTER TABLE ADD COLUMN``); a new column that needs
    a value computed from the events stays NULL until ``--reset`` (the read paths
    treat NULL as unknown). Returns ``table.column`` for each column added."""
    inspector = inspect(sync)
    present = set(inspector.get_table_names())
    added: list[str] = []
    for table in schema.sorted_tables:
        if table.name not in present:
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            if not column.nullable and column.server_default is None:
                raise RuntimeError(
                    f"{table.name}.{column.name} is new and required: this data "
                    "folder predates it; start over with --reset"
                )
            ddl = CreateColumn(column).compile(dialect=sync.dialect)
            sync.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN {ddl}')
            added.append(f"{table.name}.{column.name}")
    return added

"""Every current-state table of insights: the one schema source (SQLAlchemy Core).

The Alembic revisions in ``migrations/`` create exactly these on PostgreSQL (the drift
test compares them); the embedded demo on SQLite creates them from here at start.
The chassis keeps its own tables (events, the consumer's, ``revoked_subjects``).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, Table, Text, text

from chassis.db import STAMP

metadata = MetaData()

# Every event insights consumes, once per event id (``facts.py``).
facts = Table(
    "facts",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("occurred_at", STAMP, nullable=False),
    Column("data", Text, nullable=False),
)
Index("facts_type", facts.c.tenant, facts.c.type, facts.c.occurred_at)

# The people each fact mentions, and every id-shaped string it holds (an index of
# ``facts`` for erasure: ``facts.mentioned``; erased with them).
fact_people = Table(
    "fact_people",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("person_id", Text, primary_key=True),
)
Index("fact_people_person", fact_people.c.person_id)

# One row per relationship: its facts folded, and its health as last assessed.
relationship_health = Table(
    "relationship_health",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("relationship_id", Text, primary_key=True),
    Column("pairing_id", Text),
    Column("mentor_id", Text),
    Column("mentee_id", Text),
    Column("cohort_id", Text),
    Column("state", Text, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("idle", Integer, nullable=False, server_default=text("0")),
    Column("facts", Text, nullable=False),
    Column("assessed_at", Text, nullable=False),
)

# The people view of the equity reports: one JSON row per person.
equity_people = Table(
    "equity_people",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("person_id", Text, primary_key=True),
    Column("data", Text, nullable=False),
)

# The scorecard's organisation in parts, one per key (``domain/scorecard_parts.py``):
# the key's facts, the slice of the organisation they fold to, their latest moment.
scorecard_parts = Table(
    "scorecard_parts",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("part", Text, primary_key=True),
    Column("facts", Text, nullable=False),
    Column("slice", Text, nullable=False),
    Column("latest", Text, nullable=False),
)

# Tombstones and receipts of erasures: a keyed HMAC of (tenant, id), never the id.
erasure_receipts = Table(
    "erasure_receipts",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("person_key", Text, primary_key=True),
    Column("pseudonym", Text, nullable=False),
    Column("erased_at", Text, nullable=False),
    Column("confirmed_at", Text, nullable=False),
    Column("stores", Text, nullable=False),
)

"""Every current-state table of the sessions service: the one schema source.

The chassis creates them at start (``ServicePart.tables``); the Alembic revisions in
``migrations/`` create the same schema on PostgreSQL, which the drift test checks.
The person keys, revoked subjects and erasure receipts are the chassis's tables.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, Table, Text

from chassis.db import NOW, STAMP
from chassis.history_jobs import TableNames, history_tables
from chassis.tables import int_column as _number
from chassis.tables import key_column as _key
from chassis.tables import text_column as _text

metadata = MetaData()


# -- relationships (and the cohorts' development phase that bounds them) ---------------

relationships = Table(
    "relationships",
    metadata,
    _key("relationship_id"),
    _text("tenant"),
    _text("mentor_id"),
    _text("mentee_id"),
    _text("cohort_id", nullable=True),
    _text("kind"),
    _text("state"),
    _text("starts_on"),
    _text("planned_end_on"),
    _number("contract_version", nullable=True),
    _number("contract_in_force", nullable=False, default=0),
    _text("cadence", nullable=True),
    _number("hours_per_month", nullable=True),
    Column("signed_by", Text, nullable=False, server_default="[]"),
    # the current contract's terms (a ``private_texts`` id): a page of
    # relationships reads its terms in one statement
    _text("terms_text_id", nullable=True),
    Index("relationships_mentor_id", "mentor_id"),
    Index("relationships_mentee_id", "mentee_id"),
)

cohort_cycles = Table(
    "cohort_cycles",
    metadata,
    _key("cohort_id"),
    _text("tenant"),
    _text("starts_on"),
    _text("ends_on"),
)

# -- the free text people write, sealed with its author's key (application/texts.py) ---

private_texts = Table(
    "private_texts",
    metadata,
    _key("text_id"),
    _text("tenant"),
    _text("author_id"),
    _text("body"),
    Column("created_at", STAMP, nullable=False, server_default=NOW),
    _number("sealed", nullable=False, default=1),
    Index("private_texts_author", "author_id"),
)

# -- sessions, when people can meet, and their calendar feeds ---------------------------

sessions = Table(
    "sessions",
    metadata,
    _key("session_id"),
    _text("tenant"),
    _text("relationship_id"),
    _text("mentor_id"),
    _text("mentee_id"),
    Column("starts_at", STAMP, nullable=False),
    Column("ends_at", STAMP, nullable=False),
    _number("minutes", nullable=False),
    _text("format"),
    _text("state"),
    _number("sequence", nullable=False, default=0),
    _text("scheduled_by"),
    _text("agenda_text_id", nullable=True),
    _text("cancelled_by", nullable=True),
    _text("reason_code", nullable=True),
    _text("reason_text_id", nullable=True),
    Column("held_at", STAMP, nullable=True),
    _number("held_minutes", nullable=True),
    _text("absent_ids", nullable=True),
    Column("updated_at", STAMP, nullable=False),
    Index("sessions_mentor", "mentor_id", "starts_at"),
    Index("sessions_mentee", "mentee_id", "starts_at"),
    Index("sessions_relationship", "relationship_id", "starts_at"),
)

person_availability = Table(
    "person_availability",
    metadata,
    _key("tenant"),
    _key("person_id"),
    _text("time_zone", nullable=True),
    Column("windows", Text, nullable=False, server_default="[]"),
)

calendar_tokens = Table(
    "calendar_tokens",
    metadata,
    _key("tenant"),
    _key("person_id"),
    _text("token_hash"),
    Column("created_at", STAMP, nullable=False),
)

# -- notes, feedback and pulse surveys --------------------------------------------------

notes = Table(
    "notes",
    metadata,
    _key("note_id"),
    _text("tenant"),
    _text("relationship_id"),
    _text("author_id", nullable=True),
    _text("author_role"),
    _text("kind"),
    _text("visibility"),
    _text("prompt_id", nullable=True),
    _text("session_id", nullable=True),
    _text("body_text_id", nullable=True),
    _text("created_at"),
    _text("edited_at", nullable=True),
    _number("deleted", nullable=False, default=0),
    _number("erased", nullable=False, default=0),
    Index("notes_relationship_id", "relationship_id"),
    Index("notes_author_id", "author_id"),
)

feedback = Table(
    "feedback",
    metadata,
    _key("feedback_id"),
    _text("tenant"),
    _text("relationship_id"),
    _text("author_id", nullable=True),
    _text("from_role"),
    _text("about"),
    _text("subject_id"),
    _number("rating", nullable=False),
    _text("comment_text_id", nullable=True),
    _text("given_at"),
    Index("feedback_relationship", "relationship_id"),
)

pulse_surveys = Table(
    "pulse_surveys",
    metadata,
    _key("survey_id"),
    _text("tenant"),
    _text("cohort_id", nullable=True),
    _text("questions"),
    _text("closes_at"),
    _number("k", nullable=False),
    _number("closed", nullable=False, default=0),
)

# Who answered, as a keyed HMAC only (application/pulse.py says why).
pulse_respondents = Table(
    "pulse_respondents",
    metadata,
    _key("survey_id"),
    _key("respondent_key"),
)

pulse_tallies = Table(
    "pulse_tallies",
    metadata,
    _key("survey_id"),
    _text("tenant"),
    Column("question", Integer, primary_key=True, autoincrement=False),
    Column("rating", Integer, primary_key=True, autoincrement=False),
    _number("tally", nullable=False, default=0),
)

# -- milestones, check-ins, rotations and escalations ----------------------------------

development_items = Table(
    "development_items",
    metadata,
    _key("item_id"),
    _text("kind"),
    _text("tenant"),
    _text("relationship_id"),
    _text("owner_id", nullable=True),
    _text("state"),
    _text("recorded_at"),
    _text("view"),
    Index("development_items_relationship", "relationship_id", "kind"),
)

# -- programme history imports (``chassis.history_jobs``, the names of 0007; revision
# 0008 gave them the chassis's columns) ------------------------------------------------

HISTORY_TABLES = TableNames(
    jobs="history_import_jobs",
    records="history_import_records",
    ledger="history_imported",
)
history_import_jobs, history_import_records, history_imported = history_tables(
    metadata, HISTORY_TABLES
)

__all__ = [
    "HISTORY_TABLES",
    "calendar_tokens",
    "cohort_cycles",
    "development_items",
    "feedback",
    "history_import_jobs",
    "history_import_records",
    "history_imported",
    "metadata",
    "notes",
    "person_availability",
    "private_texts",
    "pulse_respondents",
    "pulse_surveys",
    "pulse_tallies",
    "relationships",
    "sessions",
]

"""Every current-state table of the matching service: the one schema source.

The Alembic revisions under ``migrations/`` create exactly these on PostgreSQL (the
drift test compares them); the embedded mode (SQLite) creates them from here. The
event store, the consumer's tables, revoked subjects and erasure receipts are the
chassis's.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)

from chassis.db import STAMP
from chassis.history_jobs import history_tables

metadata = MetaData()

# -- the candidate view (from profiles and advisors) -------------------------------------

candidates = Table(
    "candidates",
    metadata,
    Column("person_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("level", Integer),
    Column("business_unit", Text),
    Column("function", Text),
    Column("geography", Text),
    Column("time_zone", Text),
    Column("manager_id", Text),
    Column("tenure_start", Text),
    Column("languages", Text, nullable=False, server_default="[]"),
    Column("roles", Text, nullable=False, server_default="[]"),
    Column("active", Integer, nullable=False, server_default=text("1")),
    Column("mentor_profile", Text),
    Column("intake", Text),
    Column("demographics", Text),
    Index("candidates_tenant", "tenant"),
)

cohorts = Table(
    "cohorts",
    metadata,
    Column("cohort_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("programme_type", Text, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("definition", Text, nullable=False),
)

cohort_members = Table(
    "cohort_members",
    metadata,
    Column("cohort_id", Text, nullable=False),
    Column("person_id", Text, nullable=False),
    Column("tenant", Text, nullable=False),
    Column("role", Text, nullable=False),
    PrimaryKeyConstraint("cohort_id", "person_id"),
    Index("cohort_members_person", "person_id"),
)

competencies = Table(
    "competencies",
    metadata,
    Column("tenant", Text, nullable=False),
    Column("competency_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("retired", Integer, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("tenant", "competency_id"),
)

# -- pairings, overrides and dismissals --------------------------------------------------

pairings = Table(
    "pairings",
    metadata,
    Column("pairing_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("round_id", Text),
    Column("cohort_id", Text),
    Column("mentor_id", Text, nullable=False),
    Column("mentee_id", Text, nullable=False),
    Column("programme_type", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("score", Double, nullable=False),
    Column("parts", Text, nullable=False),
    Column("accepted_by", Text, nullable=False, server_default="[]"),
    Column("replaces", Text),
    Column("reason", Text),
    Column("expires_at", STAMP, nullable=False),
    Column("proposed_at", STAMP, nullable=False),
    Column("updated_at", STAMP, nullable=False),
    Column("starts_on", Text),  # ISO date set on approval; null: starts when confirmed
    Index("pairings_mentor", "mentor_id", "state"),
    Index("pairings_mentee", "mentee_id", "state"),
    Index("pairings_round", "round_id"),
)

forbidden_pairs = Table(
    "forbidden_pairs",
    metadata,
    Column("tenant", Text, nullable=False),
    Column("mentor_id", Text, nullable=False),
    Column("mentee_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    PrimaryKeyConstraint("tenant", "mentor_id", "mentee_id"),
)

dismissed_suggestions = Table(
    "dismissed_suggestions",
    metadata,
    Column("tenant", Text, nullable=False),
    Column("mentee_id", Text, nullable=False),
    Column("mentor_id", Text, nullable=False),
    PrimaryKeyConstraint("tenant", "mentee_id", "mentor_id"),
)

# -- the words about a pairing, kept out of its events (``pairing_texts``) ---------------

pairing_explanations = Table(
    "pairing_explanations",
    metadata,
    Column("pairing_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("mentor_id", Text, nullable=False),
    Column("mentee_id", Text, nullable=False),
    Column("reasons", Text, nullable=False),
)

pairing_notes = Table(
    "pairing_notes",
    metadata,
    Column("note_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("pairing_id", Text),
    Column("mentor_id", Text, nullable=False),
    Column("mentee_id", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("code", Text),
    Column("author_id", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("written_at", STAMP, nullable=False),
    Index("pairing_notes_pairing", "tenant", "pairing_id"),
)

# -- rotation plans ----------------------------------------------------------------------

rotation_plans = Table(
    "rotation_plans",
    metadata,
    Column("plan_id", Text, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("mentee_id", Text, nullable=False),
    Column("cohort_id", Text),
    Column("cycles", Text, nullable=False),
    Column("planned_at", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Index("rotation_plans_mentee", "tenant", "mentee_id", "seq"),
)

# The tables the candidate view alone needs (a runtime that keeps only that view).
CANDIDATE_VIEW = (candidates, cohorts, cohort_members, competencies)

# -- history imports (``chassis.history_jobs``; revision 0006) -------------------------

history_jobs, history_job_records, history_records = history_tables(metadata)

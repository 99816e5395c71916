"""Baseline: the PostgreSQL schema the sessions service created before migrations.

Revision ID: 0001
Revises: (none)

Written from the DDL the code ran at start (relationships, sessions, notes,
feedback, pulse surveys, development items, plus the chassis's event store, consumer
and dead-letter tables). A database created by an older start (tables present, no
version table) is stamped at this revision instead of running it. Do not edit:
change the schema in a new revision.
"""

from __future__ import annotations

from alembic import op

from chassis.migrations.baseline import create_chassis_tables, drop_chassis_tables

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_chassis_tables(person_keys=False)
    op.execute(
        """
        CREATE TABLE relationships (
            relationship_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            mentor_id TEXT NOT NULL,
            mentee_id TEXT NOT NULL,
            cohort_id TEXT,
            kind TEXT NOT NULL,
            state TEXT NOT NULL,
            starts_on TEXT NOT NULL,
            planned_end_on TEXT NOT NULL,
            contract_version INTEGER,
            contract_in_force INTEGER NOT NULL DEFAULT 0,
            cadence TEXT,
            hours_per_month INTEGER,
            signed_by TEXT NOT NULL DEFAULT '[]'
        )
        """
    )
    op.execute(
        "CREATE TABLE cohort_cycles (cohort_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, starts_on TEXT NOT NULL, ends_on TEXT NOT NULL)"
    )
    op.execute("CREATE INDEX relationships_mentor_id ON relationships (mentor_id)")
    op.execute("CREATE INDEX relationships_mentee_id ON relationships (mentee_id)")
    op.execute(
        """
        CREATE TABLE private_texts (
            text_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            author_id TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
        )
        """
    )
    op.execute("CREATE INDEX private_texts_author ON private_texts (author_id)")
    op.execute(
        """
        CREATE TABLE sessions (
            session_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, relationship_id TEXT NOT NULL,
            mentor_id TEXT NOT NULL, mentee_id TEXT NOT NULL, starts_at TIMESTAMPTZ NOT NULL,
            ends_at TIMESTAMPTZ NOT NULL, minutes INTEGER NOT NULL, format TEXT NOT NULL,
            state TEXT NOT NULL, sequence INTEGER NOT NULL DEFAULT 0, scheduled_by TEXT NOT NULL,
            agenda_text_id TEXT, cancelled_by TEXT, reason_code TEXT, reason_text_id TEXT,
            held_at TIMESTAMPTZ, held_minutes INTEGER, absent_ids TEXT, updated_at TIMESTAMPTZ NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX sessions_mentor ON sessions (mentor_id, starts_at)")
    op.execute("CREATE INDEX sessions_mentee ON sessions (mentee_id, starts_at)")
    op.execute(
        "CREATE INDEX sessions_relationship ON sessions (relationship_id, starts_at)"
    )
    op.execute(
        "CREATE TABLE person_availability (tenant TEXT NOT NULL, person_id TEXT NOT NULL, time_zone TEXT, windows TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (tenant, person_id))"
    )
    op.execute(
        "CREATE TABLE calendar_tokens (tenant TEXT NOT NULL, person_id TEXT NOT NULL, token_hash TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (tenant, person_id))"
    )
    op.execute(
        """
        CREATE TABLE notes (
            note_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            relationship_id TEXT NOT NULL,
            author_id TEXT,
            author_role TEXT NOT NULL,
            kind TEXT NOT NULL,
            visibility TEXT NOT NULL,
            prompt_id TEXT,
            session_id TEXT,
            body_text_id TEXT,
            created_at TEXT NOT NULL,
            edited_at TEXT,
            deleted INTEGER NOT NULL DEFAULT 0,
            erased INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    op.execute("CREATE INDEX notes_relationship_id ON notes (relationship_id)")
    op.execute("CREATE INDEX notes_author_id ON notes (author_id)")
    op.execute(
        """
        CREATE TABLE feedback (
                feedback_id TEXT PRIMARY KEY, tenant TEXT NOT NULL,
                relationship_id TEXT NOT NULL, author_id TEXT, from_role TEXT NOT NULL,
                about TEXT NOT NULL, subject_id TEXT NOT NULL, rating INTEGER NOT NULL,
                comment_text_id TEXT, given_at TEXT NOT NULL)
        """
    )
    op.execute("CREATE INDEX feedback_relationship ON feedback (relationship_id)")
    op.execute(
        """
        CREATE TABLE pulse_surveys (
                survey_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, cohort_id TEXT,
                questions TEXT NOT NULL, closes_at TEXT NOT NULL, k INTEGER NOT NULL,
                salt TEXT NOT NULL, closed INTEGER NOT NULL DEFAULT 0)
        """
    )
    op.execute(
        """
        CREATE TABLE pulse_respondents (
                survey_id TEXT NOT NULL, respondent_hash TEXT NOT NULL,
                PRIMARY KEY (survey_id, respondent_hash))
        """
    )
    op.execute(
        """
        CREATE TABLE pulse_answers (
                answer_id TEXT PRIMARY KEY, survey_id TEXT NOT NULL, answers TEXT NOT NULL)
        """
    )
    op.execute("CREATE INDEX pulse_answers_survey ON pulse_answers (survey_id)")
    op.execute(
        """
        CREATE TABLE development_items (
            item_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            tenant TEXT NOT NULL,
            relationship_id TEXT NOT NULL,
            owner_id TEXT,
            state TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            view TEXT NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX development_items_relationship ON development_items (relationship_id, kind)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE development_items")
    op.execute("DROP TABLE pulse_answers")
    op.execute("DROP TABLE pulse_respondents")
    op.execute("DROP TABLE pulse_surveys")
    op.execute("DROP TABLE feedback")
    op.execute("DROP TABLE notes")
    op.execute("DROP TABLE calendar_tokens")
    op.execute("DROP TABLE person_availability")
    op.execute("DROP TABLE sessions")
    op.execute("DROP TABLE private_texts")
    op.execute("DROP TABLE cohort_cycles")
    op.execute("DROP TABLE relationships")
    drop_chassis_tables(person_keys=False)

"""Pulse answers become counters; the respondent ledger is keyed by a secret HMAC.

Revision ID: 0002
Revises: 0001

``pulse_answers`` (one row per response) is folded into ``pulse_tallies`` (per
survey, question and rating: how many gave it) and dropped; the per-survey ``salt``
leaves the database (the ledger is keyed with ``SESSIONS_PULSE_KEY`` instead), and
the ledger's column is renamed ``respondent_key``. Ledger rows written before this
revision cannot be re-keyed (their persons are, by design, unknown): they still
count nothing and block nobody, so a person who answered a survey that is open
across the upgrade could answer it once more. Downgrading loses the counts.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE pulse_tallies (
                survey_id TEXT NOT NULL, tenant TEXT NOT NULL,
                question INTEGER NOT NULL, rating INTEGER NOT NULL,
                tally INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (survey_id, question, rating))
        """
    )
    op.execute(
        """
        INSERT INTO pulse_tallies (survey_id, tenant, question, rating, tally)
        SELECT s.survey_id, s.tenant, q, r, 0
        FROM pulse_surveys s,
             generate_series(0, json_array_length(s.questions::json) - 1) AS q,
             generate_series(1, 5) AS r
        """
    )
    op.execute(
        """
        UPDATE pulse_tallies t SET tally = c.n
        FROM (
            SELECT a.survey_id, (e.ord - 1)::int AS question, e.value::int AS rating,
                   count(*) AS n
            FROM pulse_answers a,
                 json_array_elements_text(a.answers::json) WITH ORDINALITY AS e(value, ord)
            GROUP BY 1, 2, 3
        ) AS c
        WHERE t.survey_id = c.survey_id AND t.question = c.question
          AND t.rating = c.rating
        """
    )
    op.execute("DROP TABLE pulse_answers")
    op.execute("ALTER TABLE pulse_surveys DROP COLUMN salt")
    op.execute(
        "ALTER TABLE pulse_respondents RENAME COLUMN respondent_hash TO respondent_key"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE pulse_respondents RENAME COLUMN respondent_key TO respondent_hash"
    )
    op.execute("ALTER TABLE pulse_surveys ADD COLUMN salt TEXT NOT NULL DEFAULT ''")
    op.execute("ALTER TABLE pulse_surveys ALTER COLUMN salt DROP DEFAULT")
    op.execute(
        """
        CREATE TABLE pulse_answers (
                answer_id TEXT PRIMARY KEY, survey_id TEXT NOT NULL, answers TEXT NOT NULL)
        """
    )
    op.execute("CREATE INDEX pulse_answers_survey ON pulse_answers (survey_id)")
    op.execute("DROP TABLE pulse_tallies")

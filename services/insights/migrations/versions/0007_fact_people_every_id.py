"""``fact_people`` indexes every id a fact names, so an erasure reads only those facts.

Revision ID: 0007
Revises: 0006

An erasure finds the facts naming the person wherever they name them: as a mentor or
a mentee, as whoever scheduled or cancelled a session, in a list, as a key, as the
fact's subject. It read every fact of the organisation to find them (``data LIKE``),
holding the facts table against every other write meanwhile (``LOCK TABLE facts IN
SHARE MODE``): the whole history, growing with every event consumed. The code now
indexes, beside the person ids of a fact's top-level fields, every string of the fact
shaped as the ids Tandem issues (``facts.mentioned``), and an erasure of such an id
reads the facts through ``fact_people_person`` alone (``erasure.erase_facts``).

The facts kept before this revision gain their rows here, in SQL, with the same two
patterns (``facts.ID_TOKENS_SQL`` on the data's text, ``facts.ID_SHAPED_SQL`` on the
subject). Downgrading deletes no rows: the older code ignores the ones it did not
write (its erasure reads every fact anyway).
"""

from __future__ import annotations

from alembic import op

# As ``services.insights.projections.facts`` defines them (written here as they were
# when this revision was made).
_ID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ID_TOKENS_SQL = f'"({_ID})"'
ID_SHAPED_SQL = f"^{_ID}$"

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO fact_people (event_id, person_id) "
        "SELECT DISTINCT f.event_id, m[1] FROM facts f, "
        f"regexp_matches(f.data, '{ID_TOKENS_SQL}', 'g') AS m "
        "ON CONFLICT DO NOTHING"
    )
    op.execute(
        "INSERT INTO fact_people (event_id, person_id) "
        f"SELECT event_id, subject FROM facts WHERE subject ~ '{ID_SHAPED_SQL}' "
        "ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    pass

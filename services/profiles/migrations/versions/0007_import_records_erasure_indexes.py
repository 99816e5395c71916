"""Erasure finds a person's import records by index, not by reading every record.

Revision ID: 0007
Revises: 0006

Erasing a person clears the import records about them: those they own (whose
employee id is sealed with their key, a failed record about them included) and those
naming one of their employee ids (by its blind index). Without an index that was a
sequential scan of every record of every import of every organisation, in the
erasure's transaction: 100,000 rows a nightly import of a large organisation, tens
of millions within a year. ``import_records_owner`` and ``import_records_employee``
make it two index look-ups.

A record written before revision 0004 names its person in ``person_id`` only: its
``owner_id`` is set to it here (pure SQL, nothing sealed changes), so ``owner_id``
alone names the person of every record, as the code has written it since.

Every start of the service looks for records still in clear from before revision
0004, to seal them (``sealed.seal_legacy``): ``import_records_legacy`` holds those
only (none, once sealed), so the look finds them without reading every record.
"""

from __future__ import annotations

from alembic import op

# As ``services.profiles.projections.sealed`` defines a record still in clear
# (written here as it was when this revision was made).
LEGACY_RECORD = (
    "(employee_id IS NOT NULL AND employee_id NOT LIKE 'sealed:v1:%') "
    "AND (employee_index IS NULL OR person_id IS NOT NULL)"
)

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE import_records SET owner_id = person_id "
        "WHERE owner_id IS NULL AND person_id IS NOT NULL"
    )
    op.execute("CREATE INDEX import_records_owner ON import_records (tenant, owner_id)")
    op.execute(
        "CREATE INDEX import_records_employee ON import_records "
        "(tenant, employee_index)"
    )
    op.execute(
        "CREATE INDEX import_records_legacy ON import_records (job_id) "
        f"WHERE {LEGACY_RECORD}"
    )


def downgrade() -> None:
    op.execute("DROP INDEX import_records_legacy")
    op.execute("DROP INDEX import_records_employee")
    op.execute("DROP INDEX import_records_owner")

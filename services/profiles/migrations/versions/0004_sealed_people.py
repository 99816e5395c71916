"""Sealed current state: a person's personal columns are sealed with their key.

Revision ID: 0004
Revises: 0003

The personal columns of ``people`` (names, email, employee id, title, hire date,
mentor profile, intake, demographics), ``scim_users.external_id`` and an import
record's employee id are stored sealed with the person's key, so destroying it at
erasure shreds every copy, dead row versions and backups included. What is looked up
or unique moves to blind indexes (keyed hashes): ``people.email_index`` and
``people.employee_index`` carry the unique indexes that ``lower(email)`` and
``employee_id`` did, ``scim_users.external_index`` the look-up index of
``external_id``, ``import_records.employee_index`` erasure's match;
``import_records.owner_id`` names whose key seals a record's employee id (a failed
record's person included, never shown).

A migration does not hold the master key: rows written before this revision stay in
clear, with no index, until the service starts and seals them once, before it serves
(``services.profiles.projections.sealed.seal_legacy``). PostgreSQL keeps the old row versions
until (auto)vacuum reclaims them.

Downgrade restores the former columns' indexes; values sealed meanwhile stay sealed
(the former code cannot read them: restore a backup taken before the upgrade instead).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE people ADD COLUMN email_index TEXT")
    op.execute("ALTER TABLE people ADD COLUMN employee_index TEXT")
    op.execute("DROP INDEX people_employee")
    op.execute("DROP INDEX people_email_unique")
    op.execute(
        "CREATE UNIQUE INDEX people_employee_index ON people (tenant, employee_index)"
    )
    op.execute("CREATE UNIQUE INDEX people_email_index ON people (tenant, email_index)")
    op.execute("ALTER TABLE scim_users ADD COLUMN external_index TEXT")
    op.execute("DROP INDEX scim_users_external")
    op.execute(
        "CREATE INDEX scim_users_external_index ON scim_users (tenant, external_index)"
    )
    op.execute("ALTER TABLE import_records ADD COLUMN employee_index TEXT")
    op.execute("ALTER TABLE import_records ADD COLUMN owner_id TEXT")


def downgrade() -> None:
    op.execute("ALTER TABLE import_records DROP COLUMN owner_id")
    op.execute("ALTER TABLE import_records DROP COLUMN employee_index")
    op.execute("DROP INDEX scim_users_external_index")
    op.execute("ALTER TABLE scim_users DROP COLUMN external_index")
    op.execute("CREATE INDEX scim_users_external ON scim_users (tenant, external_id)")
    op.execute("DROP INDEX people_email_index")
    op.execute("DROP INDEX people_employee_index")
    op.execute("ALTER TABLE people DROP COLUMN employee_index")
    op.execute("ALTER TABLE people DROP COLUMN email_index")
    op.execute("CREATE UNIQUE INDEX people_employee ON people (tenant, employee_id)")
    op.execute(
        "CREATE UNIQUE INDEX people_email_unique ON people (tenant, lower(email))"
    )

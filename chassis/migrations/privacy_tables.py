"""The chassis's privacy tables, as the services' revisions that added them create them:
``revoked_subjects`` (``chassis.auth.revocation``: tokens of erased or deactivated
people) and ``erasure_receipts`` (``chassis.erasure_receipts``: a service's
confirmation that it forgot someone).

Frozen with the revisions that call them, like ``baseline.py``: change these tables in
a new revision of each service, never here. ``IF NOT EXISTS``: a database the code's
own DDL created before it was first migrated has the table already.
"""

from __future__ import annotations

from alembic import op


def create_revoked_subjects() -> None:
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS revoked_subjects (
            tenant TEXT NOT NULL,
            subject TEXT NOT NULL,
            reason TEXT NOT NULL,
            revoked_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
            PRIMARY KEY (tenant, subject)
        )
        """
    )


def drop_revoked_subjects() -> None:
    op.execute("DROP TABLE revoked_subjects")


def create_erasure_receipts() -> None:
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS erasure_receipts (
            tenant TEXT NOT NULL,
            person_id TEXT NOT NULL,
            confirmed_at TIMESTAMPTZ NOT NULL,
            stores TEXT NOT NULL,
            PRIMARY KEY (tenant, person_id)
        )
        """
    )


def drop_erasure_receipts() -> None:
    op.execute("DROP TABLE erasure_receipts")

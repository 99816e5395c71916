"""History imports run on the chassis's jobs (``chassis.history_jobs``): the three
tables of 0007 keep their names and take the chassis's columns.

Revision ID: 0008
Revises: 0007

- ``history_import_jobs``: the number of records of a job's document (``total``) is
  kept beside its counts (``_records``, as the chassis keeps it), the column dropped;
  the Idempotency-Key index is named as the chassis names it. A key given before was
  hashed another way: sending the same document with it again starts a new job (whose
  records are all ``unchanged``);
- ``history_import_records``: ``record_no`` is ``seq``, ``record_key`` is ``key`` (a
  record without a usable key under the empty key, which no record has);
- ``history_imported``: ``record_key`` is ``key``, ``digest`` is ``fingerprint``
  (marked ``legacy:``: the chassis keys its content hashes, and the writer still
  recognises a plain one, so re-importing the same record stays ``unchanged``), with
  ``recorded_at`` (the job's last progress) and the index by entity.

Downgrading gives the columns back (keys taken after the upgrade keep a content hash
the older code does not recognise: re-importing one of them reads as a conflict).
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE history_import_jobs SET counts = (counts::jsonb || "
        "jsonb_build_object('_records', jsonb_build_object('records', total)))::text"
    )
    op.execute("ALTER TABLE history_import_jobs DROP COLUMN total")
    op.execute(
        "ALTER INDEX history_import_jobs_key RENAME TO history_import_jobs_idempotency"
    )
    op.execute("ALTER TABLE history_import_records RENAME COLUMN record_no TO seq")
    op.execute("ALTER TABLE history_import_records RENAME COLUMN record_key TO key")
    op.execute("UPDATE history_import_records SET key = '' WHERE key IS NULL")
    op.execute("ALTER TABLE history_import_records ALTER COLUMN key SET NOT NULL")
    op.execute("ALTER TABLE history_imported RENAME COLUMN record_key TO key")
    op.execute("ALTER TABLE history_imported RENAME COLUMN digest TO fingerprint")
    op.execute("UPDATE history_imported SET fingerprint = 'legacy:' || fingerprint")
    op.execute("ALTER TABLE history_imported ADD COLUMN recorded_at TIMESTAMPTZ")
    op.execute(
        """
        UPDATE history_imported i SET recorded_at = COALESCE(
            (SELECT j.updated_at FROM history_import_jobs j WHERE j.job_id = i.job_id),
            now())
        """
    )
    op.execute("ALTER TABLE history_imported ALTER COLUMN recorded_at SET NOT NULL")
    op.execute(
        "CREATE INDEX history_imported_entity ON history_imported (tenant, entity_id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX history_imported_entity")
    op.execute("ALTER TABLE history_imported DROP COLUMN recorded_at")
    op.execute(
        "UPDATE history_imported SET fingerprint = substr(fingerprint, 8) "
        "WHERE fingerprint LIKE 'legacy:%'"
    )
    op.execute("ALTER TABLE history_imported RENAME COLUMN fingerprint TO digest")
    op.execute("ALTER TABLE history_imported RENAME COLUMN key TO record_key")
    op.execute("ALTER TABLE history_import_records ALTER COLUMN key DROP NOT NULL")
    op.execute("UPDATE history_import_records SET key = NULL WHERE key = ''")
    op.execute("ALTER TABLE history_import_records RENAME COLUMN key TO record_key")
    op.execute("ALTER TABLE history_import_records RENAME COLUMN seq TO record_no")
    op.execute(
        "ALTER INDEX history_import_jobs_idempotency RENAME TO history_import_jobs_key"
    )
    op.execute("ALTER TABLE history_import_jobs ADD COLUMN total INTEGER")
    op.execute(
        "UPDATE history_import_jobs SET "
        "total = COALESCE((counts::jsonb -> '_records' ->> 'records')::int, 0), "
        "counts = (counts::jsonb - '_records')::text"
    )
    op.execute("ALTER TABLE history_import_jobs ALTER COLUMN total SET NOT NULL")

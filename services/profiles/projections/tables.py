"""Every current-state table of the profiles service: the one schema source.

The chassis creates them at start (``ServicePart.tables``); the Alembic revisions in
``migrations/`` create the same schema on PostgreSQL, which the drift test checks.
The person keys, revoked subjects, events and consumer tables are the chassis's.

A person's personal columns are sealed with their key (``projections.sealed``); what
is looked up or unique is a blind index (``email_index``, ``employee_index``,
``external_index``): an erased row holds NULL there.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)

from chassis.history_jobs import history_tables
from chassis.personal_data import SEALED
from chassis.tables import int_column as _number
from chassis.tables import key_column as _key
from chassis.tables import stamp_column as _stamp
from chassis.tables import text_column as _text

metadata = MetaData()


# -- people (sealed personal columns; revision 0004's blind indexes) ------------------

people = Table(
    "people",
    metadata,
    _key("person_id"),
    _text("tenant"),
    *(
        _text(name, nullable=True)
        for name in ("employee_id", "given_name", "family_name", "email", "title")
    ),
    _number("level", nullable=True),
    *(
        _text(name, nullable=True)
        for name in (
            "business_unit",
            "function",
            "geography",
            "time_zone",
            "manager_id",
            "hire_date",
        )
    ),
    _text("languages", default="[]"),
    _text("roles", default="[]"),
    _text("status", default="active"),
    _text("mentor_profile", nullable=True),
    _text("intake", nullable=True),
    _text("consents", default="[]"),
    _text("demographics", nullable=True),
    _number("version", default=0),
    _stamp("created_at"),
    _stamp("updated_at"),
    _text("email_index", nullable=True),
    _text("employee_index", nullable=True),
    # Revision 0005: the HRIS import's digest of the person's last imported record.
    _text("import_digest", nullable=True),
    # One person per employee id, and per email (SCIM userName), in a tenant: on the
    # blind indexes, as the values are sealed.
    Index("people_employee_index", "tenant", "employee_index", unique=True),
    Index("people_email_index", "tenant", "email_index", unique=True),
    Index("people_tenant", "tenant", "person_id"),
)

competencies = Table(
    "competencies",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("competency_id", Text, primary_key=True),
    _text("name"),
    _text("category", nullable=True),
    _number("retired", default=0),
)

cohorts = Table(
    "cohorts",
    metadata,
    _key("cohort_id"),
    _text("tenant"),
    _text("name"),
    _text("definition"),
    _number("capacity"),
    _text("stage"),
)

cohort_members = Table(
    "cohort_members",
    metadata,
    Column("cohort_id", Text, primary_key=True),
    Column("person_id", Text, primary_key=True),
    _text("tenant"),
    _text("role"),
    _text("status"),
    Column("arrival", BigInteger, nullable=False),
    _stamp("since"),
    Index("cohort_members_person", "person_id"),
)

# A mentor's current pairings (from matching's events).
mentor_load = Table(
    "mentor_load",
    metadata,
    _key("pairing_id"),
    _text("tenant"),
    _text("mentor_id"),
    Index("mentor_load_mentor", "mentor_id"),
)

# -- SCIM: the identity provider's external id, deprovisioning, the ETag revision ------

scim_users = Table(
    "scim_users",
    metadata,
    _key("person_id"),
    _text("tenant"),
    _text("external_id", nullable=True),
    _number("deprovisioned", default=0),
    _number("revision", default=0),
    _text("external_index", nullable=True),
    Index("scim_users_external_index", "tenant", "external_index"),
)

# -- HRIS import jobs and their per-record outcomes -----------------------------------

import_jobs = Table(
    "import_jobs",
    metadata,
    _key("job_id"),
    _text("tenant"),
    _text("idempotency_key", nullable=True),
    _text("fingerprint"),
    _text("actor"),
    _number("dry_run"),
    _text("source_format"),
    _text("status"),
    _number("total"),
    _number("processed", default=0),
    _text("counts"),
    _text("error", nullable=True),
    _stamp("created_at"),
    _stamp("updated_at"),
    _stamp("finished_at", nullable=True),
    Index("import_jobs_key", "tenant", "idempotency_key", unique=True),
)

# An import record still in clear, from before revision 0004 (``sealed.seal_legacy``
# seals them at start): the predicate of the partial index that finds them.
LEGACY_RECORD = (
    f"(employee_id IS NOT NULL AND employee_id NOT LIKE '{SEALED}%') "
    "AND (employee_index IS NULL OR person_id IS NOT NULL)"
)

import_records = Table(
    "import_records",
    metadata,
    Column("job_id", Text, primary_key=True),
    Column("record_no", Integer, primary_key=True),
    _text("tenant"),
    _text("employee_id", nullable=True),
    _text("outcome"),
    _text("person_id", nullable=True),
    _text("changes", default="[]"),
    _text("error", nullable=True),
    _text("employee_index", nullable=True),
    _text("owner_id", nullable=True),
    # Erasure's look-ups (revision 0007): the records a person owns, and those
    # naming one of their employee ids.
    Index("import_records_owner", "tenant", "owner_id"),
    Index("import_records_employee", "tenant", "employee_index"),
    Index(
        "import_records_legacy",
        "job_id",
        postgresql_where=text(LEGACY_RECORD),
        sqlite_where=text(LEGACY_RECORD),
    ),
)

# -- what erasing a person did to each store (profiles' own receipts) -----------------

erasure_receipts = Table(
    "erasure_receipts",
    metadata,
    Column("person_id", Text, primary_key=True),
    Column("store", Text, primary_key=True),
    _text("tenant"),
    _text("action"),
    _stamp("erased_at"),
    _stamp("confirmed_at"),
)

# -- history imports (``chassis.history_jobs``; revision 0005) ------------------------

history_jobs, history_job_records, history_records = history_tables(metadata)

"""Every current-state table of the advisors service: the one schema source.

The chassis creates them at start (``ServicePart.tables``); the Alembic revisions in
``migrations/`` create the same schema on PostgreSQL, which the drift test checks.
Dates and moments are ISO text here, as the migrations made them. The event store,
the person keys, revoked subjects and erasure receipts are the chassis's tables.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    MetaData,
    Table,
    Text,
    false,
)

from chassis.tables import int_column as _number
from chassis.tables import key_column as _key
from chassis.tables import text_column as _text

metadata = MetaData()


# -- the advisor lifecycle (personal columns sealed: projections/advisors.py) ---------

advisors = Table(
    "advisors",
    metadata,
    _key("advisor_id"),
    _text("tenant"),
    _text("status"),
    _text("expertise", default="[]"),
    _text("person_id", nullable=True),
    _text("name", nullable=True),
    _text("email", nullable=True),
    _text("organisation", nullable=True),
    _text("bio", nullable=True),
    _text("checks", default="{}"),
    _text("evidence", default="{}"),
    _text("conflicts", default="{}"),
    _text("profile", nullable=True),
    _text("reason_code", nullable=True),
    _text("next_expiry", nullable=True),
    _number("version"),
    _text("updated_at"),
    Index("advisors_tenant", "tenant", "advisor_id"),
    Index("advisors_person", "tenant", "person_id"),
    Index("advisors_expiry", "next_expiry"),
)

# -- agreements and one-off engagements ------------------------------------------------

advisor_agreements = Table(
    "advisor_agreements",
    metadata,
    _key("agreement_id"),
    _text("tenant"),
    _text("advisor_id"),
    _text("status"),
    _text("starts_on"),
    _text("ends_on"),
    _text("scope"),
    _number("hours_per_month"),
    Column("ending_soon", Boolean, nullable=False, server_default=false()),
    Index("advisor_agreements_advisor", "tenant", "advisor_id"),
)

advisor_engagements = Table(
    "advisor_engagements",
    metadata,
    _key("engagement_id"),
    _text("tenant"),
    _text("advisor_id"),
    _text("topic"),
    _text("on_date"),
    _number("audience_size"),
    _text("status"),
    _text("agreement_id", nullable=True),
    _number("minutes", nullable=True),
)

# -- councils (their column order is the projection's ``INSERT ... VALUES`` order) ------

councils = Table(
    "councils",
    metadata,
    _key("council_id"),
    _text("tenant"),
    _text("name"),
    _text("purpose"),
    _number("cadence_weeks"),
    Column("publish_decisions", Boolean, nullable=False),
    _text("chartered_at"),
)

council_members = Table(
    "council_members",
    metadata,
    Column("council_id", Text, primary_key=True),
    Column("member_id", Text, primary_key=True),
    _text("tenant"),
    _text("kind"),
)

council_recommendations = Table(
    "council_recommendations",
    metadata,
    _key("recommendation_id"),
    _text("council_id"),
    _text("tenant"),
)

# -- the programme's risk register -----------------------------------------------------

risks = Table(
    "risks",
    metadata,
    _key("risk_id"),
    _text("tenant"),
    _text("title"),
    _text("category"),
    _number("likelihood"),
    _number("impact"),
    _text("owner_id"),
    _text("mitigation"),
    _text("status"),
    _text("raised_at"),
    _text("updated_at"),
    Index("risks_tenant", "tenant"),
)

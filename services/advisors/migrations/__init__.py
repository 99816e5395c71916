"""Alembic revisions of the advisors service's database (see chassis.migrations)."""

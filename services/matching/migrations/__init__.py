"""Alembic revisions of the matching service's database (see chassis.migrations)."""

"""Alembic revisions of the profiles service's database (see chassis.migrations)."""

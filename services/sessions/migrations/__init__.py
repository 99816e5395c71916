"""Alembic revisions of the sessions service's database (see chassis.migrations)."""

"""Alembic revisions of the notifications service's database (see chassis.migrations)."""

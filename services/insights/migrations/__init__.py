"""Alembic revisions of the insights service's database (see chassis.migrations)."""

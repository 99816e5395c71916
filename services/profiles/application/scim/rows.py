"""A SCIM user as the database holds it: a ``people`` row joined with ``scim_users``
(``users.USERS``), its sealed columns opened (``projections.sealed.open_rows``)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from types import SimpleNamespace


@dataclass(frozen=True)
class UserRow:
    """The columns SCIM reads of an opened user row. Times are ``datetime`` on
    PostgreSQL and ISO 8601 text on SQLite; ``roles`` and ``languages`` JSON text."""

    person_id: str
    email: str | None
    given_name: str | None
    family_name: str | None
    title: str | None
    status: str
    time_zone: str | None
    employee_id: str | None
    business_unit: str | None
    function: str | None
    geography: str | None
    manager_id: str | None
    level: int | None
    roles: str
    hire_date: str | None
    languages: str
    version: int
    created_at: datetime | str
    updated_at: datetime | str
    scim_external_id: str | None
    scim_deprovisioned: int
    scim_revision: int

    @classmethod
    def of(cls, opened: SimpleNamespace) -> UserRow:
        """The row's SCIM columns (the others, such as the blind indexes, left)."""
        values = vars(opened)
        return cls(**{name: values[name] for name in _COLUMNS})


_COLUMNS = tuple(f.name for f in fields(UserRow))

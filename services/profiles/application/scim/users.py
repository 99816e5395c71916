"""The SCIM Users service: reads from the ``people`` table, writes through
``Profiles``, and the ``scim_users`` side table for what SCIM keeps beside a person.

Rows are opened as they are read (their personal columns are sealed, the keys of a
page fetched in one query); a ``userName`` or ``employeeNumber`` is looked up through
its blind index, and ``externalId`` is kept sealed with the person's key beside its
own. A filter SQL cannot decide (``userName co "x"``, a name) is evaluated in Python
over the rows its SQL part lets through (``scim.filters``).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext

from sqlalchemy import text

from chassis.auth.principal import Principal
from chassis.db import is_sqlite
from chassis.errors import NotFound
from services.profiles.application import Profiles
from services.profiles.application.scim.errors import ScimError, invalid_value
from services.profiles.application.scim.filters import (
    Indexer,
    Predicate,
    SqlParams,
    parse_filter,
)
from services.profiles.application.scim.mapping import (
    FIELDS,
    IDP_OWNED,
    UserRecord,
    details_of,
    new_record,
    read_user,
    record_of,
    require_complete,
    unassigned,
)
from services.profiles.application.scim.patch import apply_patch
from services.profiles.application.scim.protocol import JsonObject
from services.profiles.application.scim.rows import UserRow
from services.profiles.domain.person import PersonDetails, check_roles
from services.profiles.projections.sealed import (
    SCIM_USERS,
    email_index,
    employee_index,
    external_index,
    open_rows,
)

DEACTIVATED = "inactive"
DEPROVISIONED = "deprovisioned"

USERS = (
    "SELECT p.*, s.external_id AS scim_external_id, "
    "COALESCE(s.deprovisioned, 0) AS scim_deprovisioned, "
    "COALESCE(s.revision, 0) AS scim_revision "
    "FROM people p LEFT JOIN scim_users s "
    "ON s.person_id = p.person_id AND s.tenant = p.tenant "
    "WHERE p.tenant = :t AND p.status <> 'erased'"
)
VISIBLE = " AND COALESCE(s.deprovisioned, 0) = 0"


def etag(row: UserRow) -> str:
    """The person's stream version, and the revision of what SCIM keeps beside it."""
    return f'W/"{row.version}.{row.scim_revision}"'


class ScimUsers:
    """SCIM User operations for one profiles service."""

    def __init__(self, profiles: Profiles) -> None:
        self.profiles = profiles
        self.engine = profiles.engine
        self.cipher = profiles.cipher

    # -- reads -------------------------------------------------------------------------

    async def _rows(
        self, where: str, params: SqlParams, tail: str = ""
    ) -> list[UserRow]:
        """The users of a condition, opened (their keys read in one query)."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(USERS + where + tail), params)).all()
            return [UserRow.of(r) for r in await open_rows(self.cipher, conn, rows)]

    def _indexer(self, tenant: str) -> Indexer:
        def index(column: str, value: str) -> str:
            of = email_index if column == "p.email" else external_index
            return str(of(self.cipher, tenant, value))

        return index

    async def get(self, principal: Principal, user_id: str) -> UserRow:
        rows = await self._rows(
            VISIBLE + " AND p.person_id = :id", {"t": principal.tenant, "id": user_id}
        )
        if not rows:
            raise NotFound(f"User {user_id} not found")
        return rows[0]

    async def search(
        self, principal: Principal, filter: str | None, start: int, count: int
    ) -> tuple[int, list[UserRow]]:
        """(totalResults, the page) of the tenant's users matching ``filter``.

        A filter with a term SQL cannot decide reads every user the rest lets
        through, opens them and counts and pages in Python."""
        plan: tuple[str, SqlParams, Predicate | None] = (
            parse_filter(filter).plan(self._indexer(principal.tenant))
            if filter
            else ("TRUE", {}, None)
        )
        where, params, left = plan
        params["t"] = principal.tenant
        condition = f"{VISIBLE} AND ({where})"
        order = " ORDER BY p.created_at, p.person_id"
        if left is not None:
            matches = [r for r in await self._rows(condition, params, order) if left(r)]
            return len(matches), matches[start - 1 : start - 1 + count]
        async with self.engine.connect() as conn:
            counted = text(
                "SELECT count(*) FROM people p LEFT JOIN scim_users s "
                "ON s.person_id = p.person_id AND s.tenant = p.tenant WHERE p.tenant = :t "
                f"AND p.status <> 'erased'{condition}"
            )
            total = (await conn.execute(counted, params)).scalar_one()
        if count == 0:
            return total, []
        page = {**params, "limit": count, "offset": start - 1}
        tail = f"{order} LIMIT :limit OFFSET :offset"
        return total, await self._rows(condition, page, tail)

    async def _holder(self, tenant: str, where: str, value: str) -> UserRow | None:
        rows = await self._rows(f" AND {where}", {"t": tenant, "v": value})
        return rows[0] if rows else None

    # -- writes ------------------------------------------------------------------------

    async def create(self, principal: Principal, body: JsonObject) -> UserRow:
        """Provision a user (or bring back a deprovisioned one with the same keys)."""
        record = read_user(body, new_record())
        details = await self._checked(principal, record, None)
        tenant, number = principal.tenant, record["employeeNumber"]
        async with self._claim(tenant, record["userName"] or ""):
            by_name = await self._holder(
                tenant,
                "p.email_index = :v",
                email_index(self.cipher, tenant, details.email),
            )
            by_number = (
                await self._holder(
                    tenant,
                    "p.employee_index = :v",
                    employee_index(self.cipher, tenant, number),
                )
                if number
                else None
            )
            for holder, what in ((by_name, "userName"), (by_number, "employeeNumber")):
                if holder and not holder.scim_deprovisioned:
                    raise ScimError(409, "uniqueness", f"{what} is already provisioned")
            if by_name and by_number and by_name.person_id != by_number.person_id:
                raise ScimError(
                    409, "uniqueness", "employeeNumber belongs to another user"
                )
            returning = by_name or by_number
            if returning:
                await self._apply(principal, returning, record, details)
                person_id = returning.person_id
            else:
                person_id = await self.profiles.register(
                    principal, details, record["roles"]
                )
                await self._mark(tenant, person_id, record["externalId"], False)
                if not record["active"]:
                    await self.profiles.deactivate(principal, person_id, DEACTIVATED)
        return await self.get(principal, person_id)

    async def replace(
        self,
        principal: Principal,
        user_id: str,
        body: JsonObject,
        if_match: str | None,
    ) -> UserRow:
        """PUT: the IdP-owned attributes are replaced, Tandem's kept when omitted."""
        row = await self._current(principal, user_id, if_match)
        base = unassigned(record_of(row), IDP_OWNED)
        return await self._save(principal, row, read_user(body, base))

    async def patch(
        self,
        principal: Principal,
        user_id: str,
        body: JsonObject,
        if_match: str | None,
    ) -> UserRow:
        row = await self._current(principal, user_id, if_match)
        return await self._save(principal, row, apply_patch(record_of(row), body))

    async def deprovision(
        self, principal: Principal, user_id: str, if_match: str | None
    ) -> None:
        """DELETE: deactivate (reason ``deprovisioned``) and hide; never erase."""
        row = await self._current(principal, user_id, if_match)
        await self.profiles.deactivate(principal, row.person_id, DEPROVISIONED)
        await self._mark(principal.tenant, row.person_id, row.scim_external_id, True)

    async def _current(
        self, principal: Principal, user_id: str, if_match: str | None
    ) -> UserRow:
        row = await self.get(principal, user_id)
        wanted = {tag.strip() for tag in (if_match or "").split(",") if tag.strip()}
        if wanted and "*" not in wanted and etag(row) not in wanted:
            raise ScimError(412, None, f"User {user_id} has changed (now {etag(row)})")
        return row

    async def _checked(
        self, principal: Principal, record: UserRecord, user_id: str | None
    ) -> PersonDetails:
        require_complete(record)
        details = details_of(record).validated()
        check_roles(record["roles"])
        manager, path = record["manager"], FIELDS["manager"].path
        if manager and manager == user_id:
            raise invalid_value(f"{path}: a user cannot be their own manager")
        if manager and not await self._rows(
            " AND p.person_id = :m", {"t": principal.tenant, "m": manager}
        ):
            raise invalid_value(f"{path}: no user {manager} in this organisation")
        return details

    async def _save(
        self, principal: Principal, row: UserRow, record: UserRecord
    ) -> UserRow:
        details = await self._checked(principal, record, row.person_id)
        renamed = details.email.lower() != (row.email or "").lower()
        claim = (
            self._claim(principal.tenant, details.email) if renamed else nullcontext()
        )
        async with claim:
            if renamed:
                holder = await self._holder(
                    principal.tenant,
                    "p.email_index = :v",
                    email_index(self.cipher, principal.tenant, details.email),
                )
                if holder and holder.person_id != row.person_id:
                    raise ScimError(
                        409, "uniqueness", "userName is already provisioned"
                    )
            await self._apply(principal, row, record, details)
        return await self.get(principal, row.person_id)

    async def _apply(
        self,
        principal: Principal,
        row: UserRow,
        record: UserRecord,
        details: PersonDetails,
    ) -> None:
        """Turn the difference between ``row`` and ``record`` into Profiles commands."""
        before, person_id = record_of(row), row.person_id
        if record["active"] and not before["active"]:
            await self.profiles.reactivate(principal, person_id)
        if details != details_of(before):
            # A level or title change records a career outcome with source "scim".
            await self.profiles.update_details(
                principal, person_id, details, source="scim"
            )
        if sorted(record["roles"]) != sorted(before["roles"]):
            await self.profiles.change_roles(principal, person_id, record["roles"])
        if record["externalId"] != before["externalId"] or row.scim_deprovisioned:
            await self._mark(principal.tenant, person_id, record["externalId"], False)
        if before["active"] and not record["active"]:
            await self.profiles.deactivate(principal, person_id, DEACTIVATED)

    async def _mark(
        self, tenant: str, person_id: str, external_id: str | None, deprovisioned: bool
    ) -> None:
        async with self.engine.begin() as conn:
            sealed = await self.cipher.seal(
                conn, tenant, person_id, SCIM_USERS, {"external_id": external_id}
            )
            await conn.execute(
                text(
                    "INSERT INTO scim_users (person_id, tenant, external_id, "
                    "external_index, deprovisioned) VALUES (:p, :t, :x, :i, :d) "
                    "ON CONFLICT (person_id) DO UPDATE SET "
                    "external_id = excluded.external_id, "
                    "external_index = excluded.external_index, "
                    "deprovisioned = excluded.deprovisioned, "
                    "revision = scim_users.revision + 1"
                ),
                {
                    "p": person_id,
                    "t": tenant,
                    "x": sealed["external_id"],
                    "i": external_index(self.cipher, tenant, external_id),
                    "d": int(deprovisioned),
                },
            )

    @asynccontextmanager
    async def _claim(self, tenant: str, user_name: str) -> AsyncIterator[None]:
        """Serialise provisioning of one userName (the people table does not index it
        uniquely); the lock ends with the transaction when the block is left."""
        if is_sqlite(self.engine):  # one writer at a time anyway
            yield
            return
        digest = hashlib.blake2b(
            f"scim|{tenant}|{user_name.lower()}".encode(), digest_size=8
        )
        key = int.from_bytes(digest.digest(), "big", signed=True)
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            yield

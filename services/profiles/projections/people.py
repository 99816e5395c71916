"""Current-state tables of the profiles service, kept in step with its events.

They are written in the same transaction as the append (so reads see writes) and can
be rebuilt from the event store at any time: ``rebuild`` replays every event inside
one transaction, so readers see either the old tables or the new ones, never a mix.

A person's personal columns are sealed with their key as they are written
(``services.profiles.projections.sealed``); an email and an employee id are unique through their
blind indexes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.revocation import DEACTIVATED, ERASED, reinstate, revoke
from chassis.db import is_sqlite
from chassis.events import EventPayload, LogPosition, RecordedEvent
from chassis.eventstore.base import SELECT_COLUMNS, row_to_event
from chassis.personal_data import PersonalDataCipher
from contracts import profiles as c
from services.profiles.domain import events as ev
from services.profiles.projections.bulk import insert_rows
from services.profiles.projections.sealed import PEOPLE, seal_person

PERSON_COLUMNS = (
    "employee_id", "given_name", "family_name", "email", "title", "level",
    "business_unit", "function", "geography", "time_zone", "manager_id", "hire_date",
)  # fmt: skip


_JSON = json.JSONEncoder(separators=(",", ":"), default=str)


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, EventPayload):
        value = value.model_dump(mode="json")
    return _JSON.encode(value)


def _person_values(
    payload: ev.PersonRegistered | ev.PersonDetailsUpdated,
) -> dict[str, Any]:
    values = {c: getattr(payload, c) for c in PERSON_COLUMNS}
    values["hire_date"] = (
        values["hire_date"].isoformat() if values["hire_date"] else None
    )
    values["languages"] = _dump(list(payload.languages))
    return values


async def blank_person(conn: AsyncConnection, person_id: str) -> None:
    """An erased person's row keeps their id, tenant, status and times, nothing else."""
    blank: dict[str, Any] = {c: None for c in PERSON_COLUMNS}
    blank.update(
        email_index=None,
        employee_index=None,
        import_digest=None,
        languages="[]",
        roles="[]",
        status="erased",
        mentor_profile=None,
        intake=None,
        consents="[]",
        demographics=None,
    )
    sets = ", ".join(f"{c} = :{c}" for c in blank)
    await conn.execute(
        text(f"UPDATE people SET {sets} WHERE person_id = :person_id"),
        {**blank, "person_id": person_id},
    )


class ProfilesProjection:
    """People, competencies and cohorts as tables (one projection, one transaction).

    ``keys``: the data keys of the people a bulk write touches, fetched once for the
    batch (an HRIS import), so sealing a row costs no look-up; without them each row's
    key is read as it is sealed. Consecutive registrations are inserted in one
    statement.
    """

    def __init__(
        self, cipher: PersonalDataCipher, keys: Mapping[str, Any] | None = None
    ) -> None:
        self.cipher = cipher
        self.keys = keys

    async def _sealed(
        self, r: RecordedEvent, conn: AsyncConnection, **values: Any
    ) -> dict[str, Any]:
        return await seal_person(
            self.cipher, conn, r.tenant, r.stream_id, values, self.keys
        )

    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        registered: list[dict[str, Any]] = []
        for recorded, payload in events:
            if isinstance(payload, ev.PersonRegistered):
                registered.append(await self._registration(recorded, payload, conn))
                continue
            if registered:  # in log order: the rows before the next event's change
                await self._insert_people(conn, registered)
                registered = []
            handler = getattr(self, f"on_{recorded.event_type}", None)
            if handler is not None:
                await handler(recorded, payload, conn)
        if registered:
            await self._insert_people(conn, registered)

    # -- people -------------------------------------------------------------------------

    async def on_PersonRegistered(
        self, r: RecordedEvent, p: ev.PersonRegistered, conn: AsyncConnection
    ) -> None:
        await self._insert_people(conn, [await self._registration(r, p, conn)])

    async def _registration(
        self, r: RecordedEvent, p: ev.PersonRegistered, conn: AsyncConnection
    ) -> dict[str, Any]:
        values = await self._sealed(r, conn, **_person_values(p))
        return {
            **values,
            "person_id": r.stream_id,
            "tenant": r.tenant,
            "roles": _dump(list(p.roles)),
            "version": r.version,
            "at": r.time,
        }

    @staticmethod
    async def _insert_people(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        columns = [c if c != "at" else "created_at" for c in rows[0]] + ["updated_at"]
        await insert_rows(
            conn, "people", columns, [(*row.values(), row["at"]) for row in rows]
        )

    async def _update(
        self, r: RecordedEvent, conn: AsyncConnection, **values: Any
    ) -> None:
        sets = "".join(f"{c} = :{c}, " for c in values)  # may be none: version only
        await conn.execute(
            text(
                f"UPDATE people SET {sets}version = :version, updated_at = :at "
                "WHERE person_id = :person_id"
            ),
            {**values, "version": r.version, "at": r.time, "person_id": r.stream_id},
        )

    async def on_PersonDetailsUpdated(
        self, r: RecordedEvent, p: ev.PersonDetailsUpdated, conn: AsyncConnection
    ) -> None:
        await self._update(r, conn, **await self._sealed(r, conn, **_person_values(p)))

    async def on_ProgrammeRolesChanged(
        self, r: RecordedEvent, p: c.ProgrammeRolesChanged, conn: AsyncConnection
    ) -> None:
        await self._update(r, conn, roles=_dump(list(p.roles)))

    async def on_MentorProfileSet(
        self, r: RecordedEvent, p: ev.MentorProfileSet, conn: AsyncConnection
    ) -> None:
        await self._update(
            r, conn, **await self._sealed(r, conn, mentor_profile=_dump(p))
        )

    async def on_MentorCapacityChanged(
        self, r: RecordedEvent, p: c.MentorCapacityChanged, conn: AsyncConnection
    ) -> None:
        row = (
            await conn.execute(
                text("SELECT mentor_profile FROM people WHERE person_id = :p"),
                {"p": r.stream_id},
            )
        ).first()
        stored = None
        if row is not None and row.mentor_profile is not None:
            keys = await self.cipher.keys_for(conn, [r.stream_id])
            stored = PersonalDataCipher.open(
                keys[r.stream_id],
                r.stream_id,
                PEOPLE,
                "mentor_profile",
                row.mentor_profile,
            )
        profile = json.loads(stored) if stored else {}
        profile.update(max_mentees=p.max_mentees, hours_per_month=p.hours_per_month)
        await self._update(
            r, conn, **await self._sealed(r, conn, mentor_profile=_dump(profile))
        )

    async def on_IntakeSubmitted(
        self, r: RecordedEvent, p: ev.IntakeSubmitted, conn: AsyncConnection
    ) -> None:
        await self._update(r, conn, **await self._sealed(r, conn, intake=_dump(p)))

    async def _consents(self, r: RecordedEvent, conn: AsyncConnection) -> set[str]:
        row = (
            await conn.execute(
                text("SELECT consents FROM people WHERE person_id = :p"),
                {"p": r.stream_id},
            )
        ).first()
        return set(json.loads(row.consents)) if row else set()

    async def on_ConsentGiven(
        self, r: RecordedEvent, p: ev.ConsentGiven, conn: AsyncConnection
    ) -> None:
        consents = await self._consents(r, conn) | {p.purpose}
        await self._update(r, conn, consents=_dump(sorted(consents)))

    async def on_ConsentWithdrawn(
        self, r: RecordedEvent, p: ev.ConsentWithdrawn, conn: AsyncConnection
    ) -> None:
        consents = await self._consents(r, conn) - {p.purpose}
        await self._update(r, conn, consents=_dump(sorted(consents)))

    async def on_DemographicsShared(
        self, r: RecordedEvent, p: ev.DemographicsShared, conn: AsyncConnection
    ) -> None:
        await self._update(
            r, conn, **await self._sealed(r, conn, demographics=_dump(p.attributes))
        )

    async def on_DemographicsWithdrawn(
        self, r: RecordedEvent, p: c.DemographicsWithdrawn, conn: AsyncConnection
    ) -> None:
        await self._update(r, conn, demographics=None)

    # The person's tokens are refused or accepted again from the transaction that
    # appends the event (the chassis revocation view, like every other service's).
    async def on_PersonDeactivated(
        self, r: RecordedEvent, p: c.PersonDeactivated, conn: AsyncConnection
    ) -> None:
        await self._update(r, conn, status="inactive")
        await revoke(conn, r.tenant, r.stream_id, DEACTIVATED)

    async def on_PersonReactivated(
        self, r: RecordedEvent, p: c.PersonReactivated, conn: AsyncConnection
    ) -> None:
        await self._update(r, conn, status="active")
        await reinstate(conn, r.tenant, r.stream_id)

    async def on_CareerOutcomeRecorded(
        self, r: RecordedEvent, p: ev.CareerOutcomeRecorded, conn: AsyncConnection
    ) -> None:
        await self._update(r, conn)

    async def on_PersonErased(
        self, r: RecordedEvent, p: c.PersonErased, conn: AsyncConnection
    ) -> None:
        await self._update(r, conn)
        await revoke(conn, r.tenant, r.stream_id, ERASED)
        await blank_person(conn, r.stream_id)
        await conn.execute(
            text("DELETE FROM cohort_members WHERE person_id = :p"), {"p": r.stream_id}
        )

    # -- competencies -----------------------------------------------------------------

    async def on_CompetencyDefined(
        self, r: RecordedEvent, p: c.CompetencyDefined, conn: AsyncConnection
    ) -> None:
        await conn.execute(
            text(
                "INSERT INTO competencies (tenant, competency_id, name, category) "
                "VALUES (:t, :id, :name, :category)"
            ),
            {
                "t": r.tenant,
                "id": p.competency_id,
                "name": p.name,
                "category": p.category,
            },
        )

    async def on_CompetencyRetired(
        self, r: RecordedEvent, p: c.CompetencyRetired, conn: AsyncConnection
    ) -> None:
        await conn.execute(
            text(
                "UPDATE competencies SET retired = 1 WHERE tenant = :t AND competency_id = :id"
            ),
            {"t": r.tenant, "id": p.competency_id},
        )

    # -- cohorts -------------------------------------------------------------------------

    async def on_CohortCreated(
        self, r: RecordedEvent, p: c.CohortCreated, conn: AsyncConnection
    ) -> None:
        await conn.execute(
            text(
                "INSERT INTO cohorts (cohort_id, tenant, name, definition, capacity, stage) "
                "VALUES (:id, :t, :name, :definition, :capacity, 'intake')"
            ),
            {
                "id": p.cohort_id,
                "t": r.tenant,
                "name": p.name,
                "definition": _dump(p),
                "capacity": p.capacity,
            },
        )

    async def on_CohortCapacityChanged(
        self, r: RecordedEvent, p: c.CohortCapacityChanged, conn: AsyncConnection
    ) -> None:
        await conn.execute(
            text("UPDATE cohorts SET capacity = :c WHERE cohort_id = :id"),
            {"c": p.capacity, "id": p.cohort_id},
        )

    async def on_CohortStageAdvanced(
        self, r: RecordedEvent, p: c.CohortStageAdvanced, conn: AsyncConnection
    ) -> None:
        await conn.execute(
            text("UPDATE cohorts SET stage = :s WHERE cohort_id = :id"),
            {"s": p.stage, "id": p.cohort_id},
        )

    async def _member(
        self,
        r: RecordedEvent,
        p: c.ParticipantAdmitted | c.ParticipantWaitlisted,
        conn: AsyncConnection,
        status: str,
    ) -> None:
        await conn.execute(
            text("DELETE FROM cohort_members WHERE cohort_id = :c AND person_id = :p"),
            {"c": p.cohort_id, "p": p.person_id},
        )
        await conn.execute(
            text(
                "INSERT INTO cohort_members (cohort_id, person_id, tenant, role, status, "
                "arrival, since) VALUES (:c, :p, :t, :role, :status, :arrival, :at)"
            ),
            {
                "c": p.cohort_id,
                "p": p.person_id,
                "t": r.tenant,
                "role": p.role,
                "status": status,
                "arrival": r.position.sequence,
                "at": _since(r, p),
            },
        )

    async def on_ParticipantAdmitted(
        self, r: RecordedEvent, p: c.ParticipantAdmitted, conn: AsyncConnection
    ) -> None:
        await self._member(r, p, conn, "admitted")

    async def on_ParticipantWaitlisted(
        self, r: RecordedEvent, p: c.ParticipantWaitlisted, conn: AsyncConnection
    ) -> None:
        await self._member(r, p, conn, "waiting")

    async def on_ParticipantWithdrew(
        self, r: RecordedEvent, p: c.ParticipantWithdrew, conn: AsyncConnection
    ) -> None:
        await conn.execute(
            text("DELETE FROM cohort_members WHERE cohort_id = :c AND person_id = :p"),
            {"c": p.cohort_id, "p": p.person_id},
        )


def _since(
    r: RecordedEvent, p: c.ParticipantAdmitted | c.ParticipantWaitlisted
) -> datetime:
    """Since when a member holds their place: an admission from its ``admitted_on``
    (the day it happened, at 00:00 UTC; a programme's history may be recorded
    later), anything else from when it was recorded."""
    admitted_on = getattr(p, "admitted_on", None)
    if admitted_on is None:
        return r.time
    return datetime.combine(admitted_on, time.min, tzinfo=UTC)


REBUILT_TABLES = ("people", "competencies", "cohorts", "cohort_members")
READ_BATCH = 1000
# The log as the rebuild's own transaction sees it (SQLite, below).
_READ_LOG = (
    f"SELECT {SELECT_COLUMNS} FROM events WHERE position > :position{{tenant}} "
    "ORDER BY position LIMIT :limit"
)


async def _log_batches(
    conn: AsyncConnection, store: Any, tenant: str | None
) -> AsyncIterator[list[RecordedEvent]]:
    """The log in order, a batch at a time (only ``tenant``'s events if given).

    SQLite: read through the rebuild's own connection. It holds the only write lock
    (``BEGIN IMMEDIATE``) from its first ``DELETE``, so no event can commit meanwhile,
    and a second connection would wait for that very lock: the rebuild used to wait on
    itself for the 30 s busy timeout and fail with "database is locked".
    PostgreSQL: the store's gap-safe log reader (a transaction committing late is never
    skipped), on a connection of its own, which never waits on this one.
    """
    if is_sqlite(conn.engine):
        query = text(_READ_LOG.format(tenant=" AND tenant = :t" if tenant else ""))
        sequence = 0
        while True:
            params: dict[str, Any] = {"position": sequence, "limit": READ_BATCH}
            if tenant:
                params["t"] = tenant
            batch = [row_to_event(r) for r in await conn.execute(query, params)]
            if not batch:
                return
            yield batch
            sequence = batch[-1].position.sequence
    position = LogPosition.START
    while batch := await store.read_log(position, READ_BATCH):
        position = batch[-1].position
        mine = [e for e in batch if tenant is None or e.tenant == tenant]
        if mine:
            yield mine


async def rebuild(
    engine: AsyncEngine,
    store: Any,
    decode: Any,
    cipher: PersonalDataCipher,
    tenant: str | None = None,
) -> int:
    """Replay the log into fresh tables, atomically; returns the events replayed.

    ``tenant``: rebuild that organisation's rows only, from its own events (every
    table is keyed by tenant, and no event of one tenant touches another's rows);
    ``None``: every tenant's.
    """
    projection = ProfilesProjection(cipher)
    count = 0
    async with engine.begin() as conn:
        for table in REBUILT_TABLES:
            if tenant is None:
                await conn.execute(text(f"DELETE FROM {table}"))
            else:
                await conn.execute(
                    text(f"DELETE FROM {table} WHERE tenant = :t"), {"t": tenant}
                )
        async for batch in _log_batches(conn, store, tenant):
            pairs = [(e, await decode(e, conn)) for e in batch]
            await projection.apply(pairs, conn)
            count += len(batch)
    return count

"""One chunk of an import applied in one transaction, in a number of statements that
does not grow with the chunk.

The chunk's people are read at once (by blind index, with their keys), every record is
decided in Python through the ``Person`` aggregate - registered, its details updated,
its roles changed, deactivated - and what they recorded is saved together: the keys of
new people created in one statement, every event sealed with its person's key in
Python, appended to all the streams in one statement
(``chassis.eventstore.batch.append_streams``), and the ``people`` rows written by the
projection with the keys in hand (new rows in one statement). A record that changes
nothing appends nothing, so a re-sent file is harmless; a record the domain refuses
is a failed outcome and the others go ahead.

What would make a write fail for one record is checked before anything is written: an
email another person holds (one look-up for the chunk) or one an earlier record of the
chunk took. A writer racing the chunk (the same file sent twice at once, a SCIM
client) makes the transaction fail as a whole; the runner then tries it again fresh,
and at last record by record.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal
from chassis.db import is_sqlite
from chassis.errors import Conflict, TandemError, ValidationFailed
from chassis.events import NewEvent, RecordedEvent, utcnow
from chassis.eventstore.batch import StreamAppend, append_streams
from chassis.personal_data import random_uuid
from contracts.profiles import ChangeSource, ProgrammeRole, RecordOutcome
from services.profiles.application import Profiles
from services.profiles.application.imports.digests import (
    import_digest,
    stamped,
    store_digests,
)
from services.profiles.application.imports.jobs import Outcome
from services.profiles.application.imports.plan import Known, Plan, known_of
from services.profiles.application.imports.records import (
    Record,
    Validator,
    failure_of,
)
from services.profiles.application.imports.source import Raw
from services.profiles.domain import events as ev
from services.profiles.domain.person import Person, PersonDetails
from services.profiles.projections.people import PERSON_COLUMNS, ProfilesProjection
from services.profiles.projections.sealed import (
    PEOPLE,
    email_index,
    employee_index,
    keys_of,
    open_row,
)

FAILED = RecordOutcome.FAILED
DETAIL_FIELDS = tuple(f.name for f in dataclasses.fields(PersonDetails))
EMAIL_TAKEN = "a person with this email is already registered"
INDEX_MEMO = 10_000  # blind indexes remembered (a few chunks' worth)
_JSON = json.JSONEncoder(separators=(",", ":"), default=str)  # as the projection's


KNOWN_PEOPLE = (
    f"SELECT person_id, status, roles, languages, employee_index, "
    f"{', '.join(PERSON_COLUMNS)} FROM people "
    "WHERE tenant = :t AND employee_index {in_ids}"
)
_TRIAGE = (
    "SELECT p.person_id, p.employee_index, p.version, p.import_digest, "
    "k.wrapped_key FROM people p LEFT JOIN person_keys k "
    "ON k.person_id = p.person_id WHERE p.tenant = :t AND p.employee_index {in_ids}"
)
_TRIAGE_DRIVER = (
    "SELECT p.person_id, p.employee_index, p.version, p.import_digest, "
    "k.wrapped_key FROM people p LEFT JOIN person_keys k "
    "ON k.person_id = p.person_id "
    "WHERE p.tenant = $1 AND p.employee_index = ANY($2::text[])"
)
_EMAILS = (
    "SELECT email_index, person_id FROM people "
    "WHERE tenant = :t AND email_index {in_ids}"
)
_LISTED: dict[tuple[str, bool], TextClause] = {}


def listed(conn: AsyncConnection, sql: str) -> TextClause:
    """``sql`` with ``{in_ids}`` as a membership test of the list ``:ids``: on
    PostgreSQL one array parameter (``= ANY``), not a bound value per item (which
    SQLAlchemy renders into the statement each time); SQLite, ``IN``. Built once."""
    sqlite = is_sqlite(conn.engine)
    query = _LISTED.get((sql, sqlite))
    if query is None:
        if sqlite:
            query = text(sql.format(in_ids="IN :ids")).bindparams(
                bindparam("ids", expanding=True)
            )
        else:
            query = text(sql.format(in_ids="= ANY(CAST(:ids AS text[]))"))
        query = _LISTED[(sql, sqlite)] = query
    return query


@dataclass
class Applied:
    """What a chunk did: per-record outcomes, the keys of the people it is about (to
    seal their import records) and the events it appended."""

    outcomes: list[Outcome]
    keys: dict[str, Any] = field(default_factory=dict)
    events: list[RecordedEvent] = field(default_factory=list)


def _with_manager(details: PersonDetails, manager_id: str | None) -> PersonDetails:
    """``dataclasses.replace(details, manager_id=...)`` without its checks: the other
    fields are those of a valid ``PersonDetails`` already."""
    copy = object.__new__(PersonDetails)
    copy.__dict__.update(details.__dict__, manager_id=manager_id)
    return copy


@dataclass
class _New:
    """A person a record registers: their first event, decided in Python."""

    person_id: str
    details: PersonDetails
    data: dict[str, Any]  # the event's data in clear, as ``encode`` gives it
    digest: str


REGISTERED = ev.PersonRegistered.event_type
REGISTERED_VERSION = ev.PersonRegistered.schema_version
PERSON_PII = ev.PersonRegistered.personal_fields


def registration_data(
    person_id: str, details: PersonDetails, roles: list[ProgrammeRole]
) -> dict[str, Any]:
    """``encode(PersonRegistered(person_id=..., roles=..., **details.event_fields()))``
    without building the model: the details passed the domain's rules (``validate``)
    and the roles ``check_roles``, which is all the model would check again; the
    same keys, values and order (a test holds it to the model)."""
    hire = details.hire_date
    return {
        "employee_id": details.employee_id,
        "given_name": details.given_name,
        "family_name": details.family_name,
        "email": details.email,
        "title": details.title,
        "hire_date": hire.isoformat() if hire else None,
        "person_id": person_id,
        "level": details.level,
        "business_unit": details.business_unit,
        "function": details.function,
        "geography": details.geography,
        "time_zone": details.time_zone,
        "manager_id": details.manager_id,
        "tenure_start": hire.strftime("%Y-%m") if hire else None,
        "languages": list(details.languages),
        "roles": [r.value for r in roles],
    }


@dataclass
class _Change:
    """A known person whom a record changes."""

    index: int
    rec: Record
    person: Known
    details: PersonDetails
    changes: list[str]
    new_roles: bool
    leaves: bool


class ChunkWriter:
    """Applies chunks of import records for ``Profiles``."""

    def __init__(self, profiles: Profiles) -> None:
        self.profiles = profiles
        self.cipher = profiles.cipher
        # Blind indexes a chunk needs more than once (the triage, the people and
        # emails looked up, the emails claimed): a chunk's worth, then forgotten.
        self._indexes: dict[tuple[str, str, str], str] = {}

    def _index(self, tenant: str, kind: str, value: str) -> str:
        """``employee_index`` or ``email_index`` (``kind``) of ``value``, memoised."""
        key = (tenant, kind, value)
        found = self._indexes.get(key)
        if found is None:
            if len(self._indexes) >= INDEX_MEMO:
                self._indexes.clear()
            found = (
                email_index(self.cipher, tenant, value)
                if kind == "email"
                else employee_index(self.cipher, tenant, value)
            )
            self._indexes[key] = found
        return found

    async def known(
        self,
        conn: AsyncConnection,
        tenant: str,
        employee_ids: set[str],
        managers: set[str],
    ) -> tuple[dict[str, Known], dict[str, str], dict[str, Any]]:
        """The tenant's people with these employee ids (by blind index) as they are,
        the person ids of these managers, and the people's keys: two queries per
        chunk. A manager's row is not opened: only their id is needed."""
        wanted = {
            self._index(tenant, "employee_id", e): e for e in employee_ids | managers
        }
        if not wanted:
            return {}, {}, {}
        query = listed(conn, KNOWN_PEOPLE)
        rows = (await conn.execute(query, {"t": tenant, "ids": list(wanted)})).all()
        ids = {wanted[r.employee_index]: r.person_id for r in rows}
        mine = [r for r in rows if wanted[r.employee_index] in employee_ids]
        keys = await keys_of(self.cipher, conn, (r.person_id for r in mine))
        known = {
            wanted[r.employee_index]: known_of(open_row(keys.get(r.person_id), r))
            for r in mine
        }
        return known, ids, keys

    async def look_up(
        self, conn: AsyncConnection, tenant: str, raws: list[Raw]
    ) -> tuple[dict[str, str], dict[str, Sequence[Any]]]:
        """A chunk's triage, first step (it depends on no earlier chunk): the blind
        index of every employee id the chunk names, and the people with them, with
        their keys (one statement)."""
        named: dict[str, str] = {}
        for raw in raws:
            for employee_id in (raw.employee_id, raw.manager):
                if employee_id and employee_id not in named:
                    named[employee_id] = self._index(tenant, "employee_id", employee_id)
        return named, await self._triage_rows(conn, tenant, list(named.values()))

    def sort(
        self,
        tenant: str,
        raws: list[Raw],
        first_row: int,
        check: Validator,
        named: dict[str, str],
        rows: dict[str, Sequence[Any]],
    ) -> tuple[list[Record], dict[str, Any], dict[str, str]]:
        """A chunk's triage, second step, with what ``look_up`` found: its raw
        records as ``Record``s. Those that match the digest of what was last
        imported for their person (the row at the same version) are unchanged as
        they are, neither built nor validated; the others are built and validated.
        Returns the records (each keeping its hash, for its digest), the keys of
        the unchanged people (to seal their import records) and the blind indexes.
        ``check`` keeps the employee ids seen: chunks are sorted in file order."""
        records: list[Record] = []
        keys: dict[str, Any] = {}
        for row, raw in enumerate(raws, start=first_row):
            rec = None
            if raw.employee_id and not check.seen(raw.employee_id):
                rec = self._unchanged(tenant, raw, row, named, rows, check, keys)
            if rec is None:
                rec = check(raw.record(), row)
            rec.item_hash = raw.hash
            records.append(rec)
        return records, keys, named

    @staticmethod
    async def _triage_rows(
        conn: AsyncConnection, tenant: str, indexes: list[str]
    ) -> dict[str, Sequence[Any]]:
        """The people with these employee indexes, by index, as ``(person_id,
        employee_index, version, import_digest, wrapped_key)``: one statement. On
        PostgreSQL through the transaction's own driver connection (as ``COPY``
        is), so a chunk's thousand rows cost no SQLAlchemy row each."""
        if not indexes:
            return {}
        if is_sqlite(conn.engine):
            found: Iterable[Sequence[Any]] = await conn.execute(
                listed(conn, _TRIAGE), {"t": tenant, "ids": indexes}
            )
        else:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            found = await driver.fetch(_TRIAGE_DRIVER, tenant, indexes)
        return {r[1]: r for r in found}

    def _unchanged(
        self,
        tenant: str,
        raw: Raw,
        row: int,
        named: dict[str, str],
        rows: dict[str, Sequence[Any]],
        check: Validator,
        keys: dict[str, Any],
    ) -> Record | None:
        """The record as unchanged when its digest says so, else None."""
        employee_id = raw.employee_id
        assert employee_id is not None
        person = rows.get(named[employee_id])
        if person is None:
            return None
        person_id, _, version, last_digest, wrapped_key = person
        if not last_digest or wrapped_key is None:
            return None
        manager_id = None
        if raw.manager:
            boss = rows.get(named[raw.manager])
            if boss is None:  # to be resolved by the plan: compared in full
                return None
            manager_id = boss[0]
        digest = import_digest(
            self.cipher,
            tenant,
            person_id,
            None,
            manager_id,
            check.today,
            raw.hash,
            dated=raw.dated,
        )
        if last_digest != stamped(version, digest):
            return None
        keys[person_id] = self.cipher.open_key(person_id, wrapped_key)
        return check.unchanged(row, employee_id, person_id)

    async def apply(
        self,
        conn: AsyncConnection,
        principal: Principal,
        chunk: list[Record],
        plan: Plan,
        dry_run: bool,
        unchanged_keys: dict[str, Any] | None = None,
    ) -> Applied:
        tenant = principal.tenant
        today = datetime.now(UTC).date()
        # A failed record's person too: whom it is about.
        wanted = {
            rec.employee_id
            for rec in chunk
            if rec.employee_id is not None and rec.unchanged is None
        }
        managers = {
            rec.manager_employee_id
            for rec in chunk
            if rec.error is None and rec.unchanged is None and rec.manager_employee_id
        }
        known, ids, keys = await self.known(conn, tenant, wanted, managers)
        keys.update(unchanged_keys or {})
        outcomes: list[Outcome | None] = []
        creating: list[tuple[int, Record, PersonDetails]] = []
        changing: list[_Change] = []
        # (person id, digest) of each record found unchanged by comparison
        digests: list[tuple[str, str]] = []
        for rec in chunk:
            index = len(outcomes)
            outcomes.append(None)
            if rec.unchanged is not None:
                outcomes[index] = Outcome(
                    rec.row, rec.employee_id, RecordOutcome.UNCHANGED, rec.unchanged, []
                )
                continue
            if rec.error is not None or rec.details is None or not rec.employee_id:
                outcomes[index] = Outcome(
                    rec.row, rec.employee_id, FAILED, error=rec.error
                )
                continue
            try:
                manager_id = plan.manager(rec.manager_employee_id, ids)
            except ValidationFailed as exc:
                outcomes[index] = Outcome(
                    rec.row, rec.employee_id, FAILED, error=failure_of(exc)
                )
                continue
            details = (
                rec.details
                if manager_id == rec.details.manager_id
                else _with_manager(rec.details, manager_id)
            )
            # A manager this import registers (perhaps later in the file) is not yet
            # a person: the plan checked that reference, and every other.
            person = known.get(rec.employee_id)
            if person is None:
                if rec.leaving:  # a leaver Tandem never knew: nothing to register
                    outcomes[index] = Outcome(
                        rec.row, rec.employee_id, RecordOutcome.SKIPPED
                    )
                else:
                    creating.append((index, rec, details))
                continue
            changes = (
                []
                if details == person.details
                else [
                    name
                    for name in DETAIL_FIELDS
                    if getattr(details, name) != getattr(person.details, name)
                ]
            )
            new_roles = rec.roles is not None and rec.roles != sorted(person.roles)
            leaves = rec.leaving and person.active
            if changes or new_roles or leaves:
                changing.append(
                    _Change(
                        index,
                        rec,
                        person,
                        details,
                        changes,
                        new_roles,
                        leaves,
                    )
                )
            else:
                outcomes[index] = Outcome(
                    rec.row,
                    rec.employee_id,
                    RecordOutcome.UNCHANGED,
                    person.person_id,
                    [],
                )
                digests.append(
                    (
                        person.person_id,
                        import_digest(
                            self.cipher,
                            tenant,
                            person.person_id,
                            rec.item,
                            details.manager_id,
                            today,
                            rec.item_hash,
                        ),
                    )
                )
        emails = await self._emails(
            conn,
            tenant,
            [d.email for _, _, d in creating]
            + [c.details.email for c in changing if "email" in c.changes],
        )
        people: list[Person] = []
        for change in changing:  # before registrations: an email may move on
            outcome, changed = await self._change(
                conn, principal, change, keys, emails, dry_run
            )
            outcomes[change.index] = outcome
            if changed is not None:
                people.append(changed)
                digests.append(
                    (
                        changed.id,
                        import_digest(
                            self.cipher,
                            tenant,
                            changed.id,
                            change.rec.item,
                            change.details.manager_id,
                            today,
                            change.rec.item_hash,
                        ),
                    )
                )
        new: list[_New] = []
        for index, rec, details in creating:
            outcome, registered = self._register(
                principal, rec, details, plan, emails, dry_run, today
            )
            outcomes[index] = outcome
            if registered is not None:
                new.append(registered)
        applied = Applied([o for o in outcomes if o is not None], keys)
        if not dry_run:  # changes first: an email one frees is free
            if people or new:
                applied.events = await self._save(conn, principal, people, new, keys)
            await store_digests(conn, digests)
        for o in applied.outcomes:
            about = known.get(o.employee_id) if o.employee_id else None
            o.owner_id = o.person_id or (about.person_id if about else None)
        return applied

    # -- deciding ----------------------------------------------------------------------

    async def _emails(
        self, conn: AsyncConnection, tenant: str, emails: list[str]
    ) -> dict[str, str | None]:
        """Who holds each of these emails now (by blind index); what the chunk's own
        records claim and release is kept in the same map as they are decided."""
        indexes = sorted({self._index(tenant, "email", e) for e in emails})
        if not indexes:
            return {}
        rows = await conn.execute(listed(conn, _EMAILS), {"t": tenant, "ids": indexes})
        return {r.email_index: r.person_id for r in rows}

    def _claim(
        self,
        emails: dict[str, str | None],
        tenant: str,
        email: str,
        person_id: str,
        before: str | None = None,
    ) -> bool:
        """Take ``email`` for ``person_id`` (releasing ``before``); False when another
        person holds it."""
        index = self._index(tenant, "email", email)
        holder = emails.get(index)
        if holder is not None and holder != person_id:
            return False
        emails[index] = person_id
        if before is not None:
            old = self._index(tenant, "email", before)
            if old != index and emails.get(old) == person_id:
                emails[old] = None
        return True

    def _register(
        self,
        principal: Principal,
        rec: Record,
        details: PersonDetails,
        plan: Plan,
        emails: dict[str, str | None],
        dry_run: bool,
        today: date,
    ) -> tuple[Outcome, _New | None]:
        """A new person's ``PersonRegistered``, as ``Person.register`` records it: the
        record's details were checked by the domain's own rules (``validate``) and
        its roles too, so neither the aggregate nor the event's model is built to
        check them again."""
        assert rec.employee_id is not None
        person_id = plan.person_id(rec.employee_id)
        if not self._claim(emails, principal.tenant, details.email, person_id):
            error = failure_of(Conflict(EMAIL_TAKEN, field="email"))
            return Outcome(rec.row, rec.employee_id, FAILED, error=error), None
        outcome = Outcome(
            rec.row,
            rec.employee_id,
            RecordOutcome.CREATED,
            None if dry_run else person_id,
        )
        if dry_run:
            return outcome, None
        digest = import_digest(
            self.cipher,
            principal.tenant,
            person_id,
            rec.item,
            details.manager_id,
            today,
            rec.item_hash,
        )
        data = registration_data(person_id, details, rec.roles or [])
        return outcome, _New(person_id, details, data, digest)

    async def _change(
        self,
        conn: AsyncConnection,
        principal: Principal,
        c: _Change,
        keys: dict[str, Any],
        emails: dict[str, str | None],
        dry_run: bool,
    ) -> tuple[Outcome, Person | None]:
        rec, pid = c.rec, c.person.person_id
        if "email" in c.changes and not self._claim(
            emails, principal.tenant, c.details.email, pid, c.person.details.email
        ):
            error = failure_of(Conflict(EMAIL_TAKEN, field="email"))
            return Outcome(rec.row, rec.employee_id, FAILED, error=error), None
        person = None
        if not dry_run:
            try:
                person = await self._load(conn, principal.tenant, pid, keys)
                if c.changes:
                    person.update_details(
                        c.details,
                        source=ChangeSource.HRIS,
                        effective_on=rec.effective_on,
                    )
                if c.new_roles:
                    person.change_roles(rec.roles or [])
                if c.leaves:
                    person.deactivate("departure", effective_on=rec.termination_date)
            except TandemError as exc:  # nothing of this record is saved
                error = failure_of(exc)
                return Outcome(rec.row, rec.employee_id, FAILED, error=error), None
        changes = c.changes + ["roles"] * c.new_roles + ["status"] * c.leaves
        outcome = (
            RecordOutcome.DEACTIVATED
            if c.leaves
            else RecordOutcome.UPDATED
            if changes
            else RecordOutcome.UNCHANGED
        )
        return Outcome(rec.row, rec.employee_id, outcome, pid, changes), person

    async def _load(
        self, conn: AsyncConnection, tenant: str, person_id: str, keys: dict[str, Any]
    ) -> Person:
        """A known person as their stream leaves them (opened with the chunk's keys:
        one statement for the stream, none for its keys)."""
        profiles = self.profiles
        recorded = await profiles.store.read_stream(
            person_id, tenant=tenant, connection=conn
        )
        payloads = [
            profiles.people.registry.decode(
                e.event_type, e.schema_version, profiles.codec.decode_with(keys, e)
            )
            for e in recorded
        ]
        return Person.rebuild(person_id, tenant, payloads)

    # -- saving ------------------------------------------------------------------------

    def _person_row(
        self, tenant: str, event: RecordedEvent, n: _New, keys: dict[str, Any]
    ) -> dict[str, Any]:
        """A new person's ``people`` row as the projection writes it for their
        ``PersonRegistered`` (the same columns, in the same order), built from the
        details in hand with the chunk's blind indexes and the person's new key."""
        d = n.details
        data = n.data
        personal = {
            "employee_id": d.employee_id,
            "given_name": d.given_name,
            "family_name": d.family_name,
            "email": d.email,
            "title": d.title,
            "hire_date": data["hire_date"],
        }
        sealed = self.cipher.seal_with(
            keys.get(n.person_id), n.person_id, PEOPLE, personal
        )
        return {
            "employee_id": sealed["employee_id"],
            "given_name": sealed["given_name"],
            "family_name": sealed["family_name"],
            "email": sealed["email"],
            "title": sealed["title"],
            "level": d.level,
            "business_unit": d.business_unit,
            "function": d.function,
            "geography": d.geography,
            "time_zone": d.time_zone,
            "manager_id": d.manager_id,
            "hire_date": sealed["hire_date"],
            "languages": _JSON.encode(data["languages"]),
            "email_index": self._index(tenant, "email", d.email),
            "employee_index": None
            if d.employee_id is None
            else self._index(tenant, "employee_id", d.employee_id),
            "person_id": n.person_id,
            "tenant": tenant,
            "roles": _JSON.encode(data["roles"]),
            "version": event.version,
            "at": event.time,
            "import_digest": stamped(event.version, n.digest),
        }

    async def _save(
        self,
        conn: AsyncConnection,
        principal: Principal,
        people: list[Person],
        new: list[_New],
        keys: dict[str, Any],
    ) -> list[RecordedEvent]:
        """Every changed person's pending events and every new person's registration
        appended together (changes first), then projected: the changes by the
        projection, the new people's rows (with their import digest) in one go."""
        keys.update(
            await self.cipher.create_keys(
                conn, principal.tenant, [n.person_id for n in new]
            )
        )
        codec = self.profiles.codec
        pending: list[list[Any]] = [p.collect_pending() for p in people]
        appends = [
            StreamAppend(
                person.id,
                Person.stream_type,
                person.stored_version,
                [
                    NewEvent(
                        event_type=p.event_type,
                        data=codec.encode_with(keys, person.id, p),
                        schema_version=p.schema_version,
                    )
                    for p in payloads
                ],
            )
            for person, payloads in zip(people, pending, strict=False)
        ]
        encrypt = self.cipher.encrypt_fields
        # One time for the chunk's registrations (one transaction records them all)
        # and their ids from the pooled random bytes, not a system call each.
        now = utcnow()
        appends += [
            StreamAppend(
                n.person_id,
                Person.stream_type,
                0,
                [
                    NewEvent(
                        event_type=REGISTERED,
                        data=encrypt(
                            keys.get(n.person_id), n.person_id, dict(n.data), PERSON_PII
                        ),
                        schema_version=REGISTERED_VERSION,
                        id=random_uuid(),
                        time=now,
                    )
                ],
            )
            for n in new
        ]
        metadata = self.profiles.metadata_for(principal)
        recorded = await append_streams(
            self.profiles.store, appends, metadata, connection=conn
        )
        projection = ProfilesProjection(self.cipher, keys)
        changed = [
            pair
            for events, payloads in zip(recorded[: len(people)], pending, strict=False)
            for pair in zip(events, payloads, strict=True)
        ]
        if changed:
            await projection.apply(changed, conn)
        rows = [
            self._person_row(principal.tenant, events[0], n, keys)
            for events, n in zip(recorded[len(people) :], new, strict=True)
        ]
        if rows:
            await projection._insert_people(conn, rows)
        return [e for events in recorded for e in events]

"""``Profiles``: the commands and queries of the profiles service.

Every command loads its aggregate, lets the domain decide, and saves the recorded events
together with the current-state tables in one transaction; a concurrent writer makes
it retry from a fresh load. Queries read the current-state tables.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.aggregate import Aggregate
from chassis.auth.principal import Principal
from chassis.db import is_sqlite
from chassis.errors import Conflict, NotFound
from chassis.events import EventMetadata
from chassis.personal_data import PersonalDataCipher
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from services.profiles.application.erasure import Erasers
from services.profiles.application.personal import PersonFields
from services.profiles.domain.cohort import Cohort
from services.profiles.domain.competencies import CompetencyFramework
from services.profiles.domain.events import registry
from services.profiles.domain.person import Person
from services.profiles.projections.people import ProfilesProjection
from services.profiles.projections.sealed import employee_index

A = TypeVar("A", bound=Aggregate)


def duplicate_of(exc: IntegrityError) -> Conflict:
    """A unique index refused the write: name what is taken."""
    what = "email" if "email" in str(exc.orig) else "employee id"
    return Conflict(f"a person with this {what} is already registered", field=what)


MetadataFor = Callable[[Principal], EventMetadata]


def _lock_key(tenant: str, stream_id: str) -> int:
    """A 64-bit advisory lock key for one tenant's stream."""
    digest = hashlib.blake2b(f"profiles|{tenant}|{stream_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class ProfilesBase:
    """State and the load-decide-save loop every group of commands shares."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        *,
        master_key: bytes,
        demographic_attributes: set[str],
        metadata_for: MetadataFor,
    ) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.store = runtime.store
        self.cipher = PersonalDataCipher(master_key, registry)
        # A secret of its own for keyed hashes (import idempotency keys), derived
        # from the master key so a deployment has one secret to keep, not two.
        self.import_secret = hmac.new(
            master_key, b"tandem/profiles/import-keys", hashlib.sha256
        ).digest()
        self.codec = PersonFields(self.cipher)
        self.erasers = Erasers(self.engine, self.cipher)
        self.demographic_attributes = demographic_attributes
        self.metadata_for = metadata_for
        projection = ProfilesProjection(self.cipher)
        self.people = Repository(
            self.store, registry, Person, codec=self.codec, projections=[projection]
        )
        self.frameworks = Repository(
            self.store, registry, CompetencyFramework, projections=[projection]
        )
        self.cohorts = Repository(
            self.store, registry, Cohort, codec=self.codec, projections=[projection]
        )
        for repo in (self.people, self.frameworks, self.cohorts):
            repo.on_saved.append(lambda _events: runtime.relay.notify())

    # -- the load-decide-save loop ------------------------------------------------------

    async def _change(
        self,
        repo: Repository[A],
        stream_id: str,
        principal: Principal,
        decide: Callable[[A, AsyncConnection], Awaitable[None] | None],
        *,
        create: Callable[[], A] | None = None,
        serialised: bool = False,
    ) -> A:
        """Load, decide, save in one transaction; a stale writer retries fresh.

        ``serialised``: concurrent commands on this aggregate queue behind one another
        (a transaction-scoped advisory lock per tenant and stream, taken before the
        load) instead of racing and failing with ``ConcurrencyConflict`` once the
        retries run out. For aggregates many people act on at once - a cohort's
        seats. The unique (stream, version) key still guards every append; SQLite
        needs no lock: ``BEGIN IMMEDIATE`` already makes each command's load, decision
        and append one atomic step, one writer at a time.
        """

        async def attempt() -> A:
            async with self.engine.begin() as conn:
                if serialised and not is_sqlite(self.engine):
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": _lock_key(principal.tenant, stream_id)},
                    )
                agg = await repo.find(stream_id, principal.tenant, connection=conn)
                if agg is None:
                    if create is None:
                        raise NotFound(
                            f"{repo.aggregate.stream_type} {stream_id} not found"
                        )
                    agg = create()
                outcome = decide(agg, conn)
                if outcome is not None:
                    await outcome
                try:
                    await repo.save(agg, self.metadata_for(principal), connection=conn)
                except IntegrityError as exc:  # a unique index of the current state
                    raise duplicate_of(exc) from exc
                return agg

        return await retrying(attempt)

    # -- lookups several groups of commands need ------------------------------

    async def _person_by_employee(
        self, conn: AsyncConnection, tenant: str, employee_id: str
    ) -> str | None:
        """Who holds an employee id in the tenant (through its blind index)."""
        row = (
            await conn.execute(
                text(
                    "SELECT person_id FROM people "
                    "WHERE tenant = :t AND employee_index = :e"
                ),
                {"t": tenant, "e": employee_index(self.cipher, tenant, employee_id)},
            )
        ).first()
        return row.person_id if row else None

    async def _competency_ids(self, conn: AsyncConnection, tenant: str) -> set[str]:
        rows = await conn.execute(
            text(
                "SELECT competency_id FROM competencies WHERE tenant = :t AND retired = 0"
            ),
            {"t": tenant},
        )
        return {r.competency_id for r in rows}

    async def _mentor_load(self, conn: AsyncConnection, person_id: str) -> int:
        return (
            await conn.execute(
                text("SELECT count(*) FROM mentor_load WHERE mentor_id = :p"),
                {"p": person_id},
            )
        ).scalar_one()

    async def _cohorts_of(self, person_id: str) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT cohort_id FROM cohort_members WHERE person_id = :p"),
                {"p": person_id},
            )
            return [r.cohort_id for r in rows]

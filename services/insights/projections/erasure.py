"""Erasure in insights: forget the person, keep a tombstone, confirm, never re-learn.

The rule, for ``PersonErased`` (and ``AdvisorErased``) of person P in tenant T, applied
in the consumer's transaction:

- **Facts.** A fact that is P's own (P is its ``person_id``, ``advisor_id`` or
  ``author_id``: their registration, demographics, intake, cohort moves, outcomes,
  the notes they wrote) is deleted. Every other fact naming P anywhere (as mentor or
  mentee of a pairing or relationship, as who scheduled or cancelled a session, ...)
  keeps its figures, with P replaced by a pseudonym ``erased-<random>`` drawn once per
  erasure. A rebuild from the facts therefore gives the same forgotten state as the
  live erasers below: the other side keeps what the pair did together, and no read
  model counts a pseudonym as an individual (no ``equity_people`` row, no scorecard
  participant or mentee; ``domain.erasure.is_erased``). The facts naming P are found
  through ``fact_people``, which indexes every id-shaped string of every fact
  (``facts.mentioned``): the erasure reads those facts, not the organisation's
  history. An id of another shape (none Tandem issues) is looked for in every fact.
- **Read models and other stores.** ``Erasures.stores`` (built in ``main.py``) names
  every table of insights with its eraser, or why it holds nothing about a person; ``tests/insights`` checks it against
  the tables of a real database, so a new table without an eraser fails.
- **Tombstone and receipt.** ``erasure_receipts`` keeps, per erased person, an HMAC of
  (tenant, id) under a key from settings (never the id: a database reader cannot test
  candidate ids against it), the pseudonym, when the erasure happened and when
  insights finished it, and which stores it went through. ``GET
  /admin/erasures/{person_id}`` (the tenant's admins) answers that confirmation
  (``application/erasure.py``).
- **Afterwards.** Every event is screened before it becomes a fact (``screen``): one
  that is an erased person's own is ignored, whatever its time (a late
  ``ParticipantWithdrew`` from another partition re-creates nothing); one that names
  them otherwise is kept with their pseudonym. Rebuilds replay only facts, which were
  screened on the way in.

No free text is kept at all (``strip``): before an event becomes a fact, the fields its
contract declares ``personal_fields`` are dropped, except the consented demographics
(``KEPT``) the equity reports group by, which live only in the person's own facts and
row and leave with them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import contracts.advisors
import contracts.matching
import contracts.profiles
import contracts.sessions
from chassis.auth.revocation import DEACTIVATED, ERASED, Revocations, reinstate, revoke
from chassis.db import Scrubber, is_sqlite
from chassis.envelope import Envelope
from chassis.events import EventRegistry, utcnow
from services.insights.domain.erasure import (
    ERASED_PREFIX,
    belongs_to,
    replace_id,
    strings_in,
)
from services.insights.projections.facts import NAMED, is_id
from services.insights.projections.health import stream_of

ERASURES = {"PersonErased": "person_id", "AdvisorErased": "advisor_id"}
# Personal fields insights needs and keeps until the person is erased.
KEPT = {"DemographicsShared": frozenset({"attributes"})}
KEYS_KEPT = 50_000  # keys of the strings events carried lately, computed once
Eraser = Callable[[AsyncConnection, str, str, str], Awaitable[None]]

CONTRACTS = EventRegistry()
for _registry in (
    contracts.profiles.registry,
    contracts.matching.registry,
    contracts.sessions.registry,
    contracts.advisors.registry,
):
    CONTRACTS.include(_registry)


@lru_cache(maxsize=256)  # a few dozen types; bounded, whatever arrives
def _dropped(kind: str) -> frozenset[str]:
    """The fields ``strip`` drops from events of ``kind`` (none: not a contract's)."""
    if kind not in CONTRACTS:
        return frozenset()
    return frozenset(CONTRACTS.model(kind).personal_fields) - KEPT.get(
        kind, frozenset()
    )


def strip(env: Envelope) -> Envelope:
    """The event without the personal free text its contract declares."""
    drop = _dropped(env.type)
    if not drop & env.data.keys():
        return env
    return replace(env, data={k: v for k, v in env.data.items() if k not in drop})


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _like(person_id: str) -> str:
    """A LIKE pattern for JSON text holding ``person_id`` as a string."""
    quoted = json.dumps(person_id)
    escaped = quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


LIKE = "LIKE :like ESCAPE '\\'"


# -- the erasers, one per table that can hold a person ---------------------------------


# The facts naming a person, through the index of what each fact names (one look-up
# of ``fact_people_person``, then each fact by its key): what an erasure reads
# whatever the length of the tenant's history.
NAMING = text(
    f"SELECT f.event_id, f.subject, f.data FROM {NAMED} "
    "WHERE p.person_id = :p AND f.tenant = :t"
)
# Every fact of the tenant, read through for the id: for an id ``fact_people`` does
# not index wherever it appears (not shaped as Tandem's ids), and on SQLite (the
# embedded mode migrates no facts kept before the index was complete).
SCANNED = text(
    "SELECT event_id, subject, data FROM facts WHERE tenant = :t "
    f"AND (data {LIKE} OR subject = :p)"
)


async def erase_facts(
    conn: AsyncConnection, tenant: str, person: str, pseudonym: str
) -> None:
    """The person's own facts go; the others keep their figures under the pseudonym."""
    indexed = is_id(person) and not is_sqlite(conn.engine)
    rows = await conn.execute(
        NAMING if indexed else SCANNED,
        {"t": tenant, "p": person}
        if indexed
        else {"t": tenant, "like": _like(person), "p": person},
    )
    for event_id, subject, data in rows.all():
        parsed = json.loads(data)
        await conn.execute(
            text("DELETE FROM fact_people WHERE event_id = :i AND person_id = :p"),
            {"i": event_id, "p": person},
        )
        if belongs_to(parsed, person) or (
            subject == person and person not in strings_in(parsed)
        ):
            await conn.execute(
                text("DELETE FROM fact_people WHERE event_id = :i"), {"i": event_id}
            )
            await conn.execute(
                text("DELETE FROM facts WHERE event_id = :i"), {"i": event_id}
            )
            continue
        await conn.execute(
            text("UPDATE facts SET subject = :s, data = :d WHERE event_id = :i"),
            {
                "i": event_id,
                "s": pseudonym if subject == person else subject,
                "d": _json(replace_id(parsed, person, pseudonym)),
            },
        )
    # Index rows of facts that mention the person where the scan above cannot see it.
    await conn.execute(
        text(
            "DELETE FROM fact_people WHERE person_id = :p AND event_id IN "
            "(SELECT event_id FROM facts WHERE tenant = :t)"
        ),
        {"p": person, "t": tenant},
    )


# The relationships a person is a party of: those the facts naming them are about
# (through the index, as ``NAMING``), and those whose health row names them.
RELATIONSHIPS_OF = text(
    f"SELECT CAST(f.data AS jsonb) ->> 'relationship_id' FROM {NAMED} "
    "WHERE p.person_id = :p AND f.tenant = :t "
    "UNION SELECT relationship_id FROM relationship_health "
    "WHERE tenant = :t AND (mentor_id = :p OR mentee_id = :p)"
)
WARNINGS_IN = text(
    "SELECT position, CAST(payload AS TEXT) AS payload FROM events "
    f"WHERE stream_id = ANY(CAST(:s AS text[])) AND CAST(payload AS TEXT) {LIKE}"
)
WARNINGS_SCANNED = text(
    "SELECT position, CAST(payload AS TEXT) AS payload FROM events "
    f"WHERE tenant = :t AND CAST(payload AS TEXT) {LIKE}"
)


async def erase_warnings(
    conn: AsyncConnection, tenant: str, person: str, pseudonym: str
) -> None:
    """insights' own events (health changes, early warnings) name the pair: the
    person's id is replaced in the stored payloads (the one rewrite of this log).

    They are the events of the health streams of the person's relationships (a
    warning names the pair of its relationship, which the facts about it named): on
    PostgreSQL, for an id ``fact_people`` indexes, those streams are read by their
    index, not the whole log of every organisation. So this runs before the facts
    are erased (``main.py`` orders the erasers)."""
    if is_id(person) and not is_sqlite(conn.engine):
        found = await conn.execute(RELATIONSHIPS_OF, {"t": tenant, "p": person})
        streams = sorted({stream_of(tenant, r) for (r,) in found.all() if r})
        if not streams:
            return
        rows = await conn.execute(WARNINGS_IN, {"s": streams, "like": _like(person)})
    else:
        rows = await conn.execute(
            WARNINGS_SCANNED, {"t": tenant, "like": _like(person)}
        )
    cast = ":d" if is_sqlite(conn.engine) else "CAST(:d AS JSONB)"
    for position, payload in rows.all():
        await conn.execute(
            text(f"UPDATE events SET payload = {cast} WHERE position = :n"),
            {
                "n": position,
                "d": _json(replace_id(json.loads(payload), person, pseudonym)),
            },
        )


async def erase_dead_letters(
    conn: AsyncConnection, tenant: str, person: str, pseudonym: str
) -> None:
    """A parked message that is the person's own is dropped (replayed, it would be
    ignored); one naming them otherwise keeps the pseudonym, like a fact."""
    rows = await conn.execute(
        text(
            f"SELECT id, headers, value FROM dead_letters WHERE value {LIKE} "
            f"OR headers {LIKE}"
        ),
        {"like": _like(person)},
    )
    for ident, headers, value in rows.all():
        try:
            parsed = json.loads(value) if value else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or belongs_to(parsed, person):
            await conn.execute(
                text("DELETE FROM dead_letters WHERE id = :i"), {"i": ident}
            )
            continue
        await conn.execute(
            text("UPDATE dead_letters SET headers = :h, value = :v WHERE id = :i"),
            {
                "i": ident,
                "h": headers.replace(json.dumps(person), json.dumps(pseudonym)),
                "v": _json(replace_id(parsed, person, pseudonym)),
            },
        )


# The tombstones of a batch's strings: one statement text whatever their number on
# PostgreSQL (arrays: prepared once per connection, not once per batch size).
TOMBSTONES = text(
    "SELECT tenant, person_key, pseudonym FROM erasure_receipts "
    "WHERE tenant = ANY(CAST(:ts AS text[])) AND person_key = ANY(CAST(:ks AS text[]))"
)
TOMBSTONES_SQLITE = text(
    "SELECT tenant, person_key, pseudonym FROM erasure_receipts "
    "WHERE tenant IN :ts AND person_key IN :ks"
).bindparams(bindparam("ts", expanding=True), bindparam("ks", expanding=True))


class Erasures:
    """Tombstones, the erasure procedure and the screen of every later event."""

    def __init__(
        self,
        key: bytes,
        stores: dict[str, Eraser | str],
        scrubber: Scrubber | None = None,
    ) -> None:
        self.key = key
        # Every table of insights → its eraser, or why it holds nothing about a
        # person (tests/insights check this against the database's tables).
        self.stores = stores
        # The runtime's: the embedded log is cleared after the erasure commits.
        self.scrubber = scrubber
        self._keys: dict[tuple[str, str], str] = {}  # (tenant, string) → its key

    def person_key(self, tenant: str, person: str) -> str:
        known = self._keys.get((tenant, person))
        if known is None:
            message = f"{tenant}\x00{person}".encode()
            known = hmac.new(self.key, message, hashlib.sha256).hexdigest()
            if len(self._keys) >= KEYS_KEPT:  # every string of every event is keyed
                self._keys.clear()
            self._keys[(tenant, person)] = known
        return known

    async def receipt(
        self, conn: AsyncConnection, tenant: str, person: str
    ) -> Row[Any] | None:
        return (
            await conn.execute(
                text(
                    "SELECT pseudonym, erased_at, confirmed_at, stores "
                    "FROM erasure_receipts WHERE tenant = :t AND person_key = :k"
                ),
                {"t": tenant, "k": self.person_key(tenant, person)},
            )
        ).first()

    async def erase(self, conn: AsyncConnection, env: Envelope) -> None:
        """Forget the person in every store, then record the tombstone and receipt."""
        person = str(env.data[ERASURES[env.type]])
        self._keys.clear()  # the person's id is not kept, not even in memory
        if not is_sqlite(conn.engine):
            # Holds back every other transaction about to keep a fact (``screen``)
            # until this erasure commits: none can slip a fact about the person in
            # between (another partition, another replica).
            await conn.execute(text("LOCK TABLE facts IN SHARE MODE"))
        if await self.receipt(conn, env.tenant, person) is not None:
            return  # already forgotten (a second erasure event changes nothing)
        pseudonym = ERASED_PREFIX + secrets.token_hex(8)
        erased = []
        for table, eraser in self.stores.items():
            if not isinstance(eraser, str):
                await eraser(conn, env.tenant, person, pseudonym)
                erased.append(table)
        await conn.execute(
            text(
                "INSERT INTO erasure_receipts (tenant, person_key, pseudonym, "
                "erased_at, confirmed_at, stores) VALUES (:t, :k, :p, :e, :c, :s)"
            ),
            {
                "t": env.tenant,
                "k": self.person_key(env.tenant, person),
                "p": pseudonym,
                "e": str(env.data.get("erased_at") or env.time.isoformat()),
                "c": utcnow().isoformat(),
                "s": _json(sorted(erased)),
            },
        )
        if self.scrubber is not None:
            self.scrubber.soon()

    async def screen(self, conn: AsyncConnection, env: Envelope) -> Envelope | None:
        """The event as insights may keep it: None when it is an erased person's
        own, else with every erased person's id replaced by their pseudonym.

        Takes the lock that keeping a fact takes anyway (``ROW EXCLUSIVE``), before
        looking for tombstones: an erasure under way (``SHARE``) is waited for, and
        its tombstone seen, rather than raced."""
        return (await self.screen_many(conn, [env]))[0]

    async def screen_many(
        self, conn: AsyncConnection, envs: Sequence[Envelope]
    ) -> list[Envelope | None]:
        """``screen`` of each event (the lock taken once, the tombstones of every
        event read in one statement)."""
        if not envs:
            return []
        if not is_sqlite(conn.engine):
            await conn.execute(text("LOCK TABLE facts IN ROW EXCLUSIVE MODE"))
        # Each event's strings (its subject too); each distinct string of a tenant
        # keyed once for the batch (most recur from event to event: field names,
        # relationship ids, dates).
        carried: list[set[str]] = []
        of_tenant: dict[str, set[str]] = {}
        for env in envs:
            strings = strings_in(env.data)
            strings.discard("")
            if env.subject:
                strings.add(env.subject)
            carried.append(strings)
            of_tenant.setdefault(env.tenant, set()).update(strings)
        keyed = {
            tenant: {self.person_key(tenant, s): s for s in strings}
            for tenant, strings in of_tenant.items()
        }
        found: dict[str, list[tuple[str, str]]] = {}
        if any(keyed.values()):
            rows = await conn.execute(
                TOMBSTONES_SQLITE if is_sqlite(conn.engine) else TOMBSTONES,
                {
                    "ts": sorted(keyed),
                    "ks": sorted({k for keys in keyed.values() for k in keys}),
                },
            )
            for tenant, key, pseudonym in rows.all():
                if key in keyed.get(tenant, ()):
                    found.setdefault(tenant, []).append((key, pseudonym))
        if not found:  # no event names an erased person (the usual batch)
            return list(envs)
        out: list[Envelope | None] = []
        for env, strings in zip(envs, carried, strict=True):
            keys = keyed[env.tenant]
            mine = [(k, p) for k, p in found.get(env.tenant, ()) if keys[k] in strings]
            out.append(self._screened(env, keys, mine))
        return out

    @staticmethod
    def _screened(
        env: Envelope, keys: dict[str, str], found: list[tuple[str, str]]
    ) -> Envelope | None:
        data, subject = env.data, env.subject
        for key, pseudonym in found:
            person = keys[key]
            if belongs_to(data, person):
                return None
            data = replace_id(data, person, pseudonym)
            subject = pseudonym if subject == person else subject
        return replace(env, data=data, subject=subject) if found else env


class KeyedRevocations(Revocations):
    """The chassis's revocation view, with every subject kept as its keyed HMAC
    (``Erasures.person_key``): insights keeps no erased person's id, not even here."""

    def __init__(self, engine: AsyncEngine, erasures: Erasures) -> None:
        super().__init__(engine)
        self.erasures = erasures

    async def reason(self, tenant: str, subject: str) -> str | None:
        return await super().reason(tenant, self.erasures.person_key(tenant, subject))

    async def apply(self, conn: AsyncConnection, env: Envelope) -> None:
        """Follow profiles' (and advisors') events in the consumer's transaction:
        an erasure or deactivation refuses the person's tokens, a reactivation
        accepts them again (never an erased person's)."""
        if env.type in ERASURES:
            person, reason = str(env.data[ERASURES[env.type]]), ERASED
        elif env.type in ("PersonDeactivated", "PersonReactivated"):
            person, reason = str(env.data["person_id"]), DEACTIVATED
        else:
            return
        key = self.erasures.person_key(env.tenant, person)
        if env.type == "PersonReactivated":
            await reinstate(conn, env.tenant, key)
        else:
            await revoke(conn, env.tenant, key, reason)


REVOKING = frozenset({*ERASURES, "PersonDeactivated", "PersonReactivated"})

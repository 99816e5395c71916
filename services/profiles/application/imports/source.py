"""Where an import's records come from: a list in memory, or a file read a chunk at a
time (a CSV upload spooled to disk), so a 100,000-person export never sits in memory
as 100,000 records.

A source can be read more than once (the plan reads it before the records are
applied). Its fingerprint - what an idempotency key promises - is taken as the records
are first read, by a ``Fingerprint`` fed one record at a time: for records in hand,
the same digest as ``fingerprint`` of the whole list; for a CSV file, of each row's
hash (taken of its cells, without building it as a record).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

from services.profiles.application.imports.records import raw_employee_id

# ``json.dumps(..., sort_keys=True, default=str)``, as ``fingerprint`` writes a record.
_CANONICAL = json.JSONEncoder(sort_keys=True, default=str)


def record_hash(record: object) -> bytes:
    """The SHA-256 of a record's canonical JSON (as the fingerprint writes it): what
    an import digest is taken of (``digests.import_digest``)."""
    return hashlib.sha256(_CANONICAL.encode(record).encode()).digest()


class Fingerprint:
    """``fingerprint(people, dry_run, secret)`` computed one record at a time."""

    def __init__(self, secret: bytes) -> None:
        self._mac = hmac.new(secret, b"[[", hashlib.sha256)
        self.count = 0

    def add(self, record: object) -> bytes:
        """Feed one record; its ``record_hash`` (of the same canonical text)."""
        if self.count:
            self._mac.update(b", ")
        canonical = _CANONICAL.encode(record).encode()
        self._mac.update(canonical)
        self.count += 1
        return hashlib.sha256(canonical).digest()

    def add_hash(self, item_hash: bytes) -> None:
        """Feed one record by its hash (a source whose records are hashed another
        way than ``record_hash``: a CSV file's, by their cells)."""
        if self.count:
            self._mac.update(b", ")
        self._mac.update(item_hash)
        self.count += 1

    def digest(self, dry_run: bool) -> str:
        mac = self._mac.copy()
        mac.update(f"], {json.dumps(dry_run)}]".encode())
        return mac.hexdigest()


class Raw:
    """One record as an import's run first meets it: whom it is about (its employee
    id and its manager's, as ``raw_employee_id`` reads them), whether it carries a
    termination date, and its hash (what its import digest is taken of). The record
    itself is built only when it is needed (``record``): one found unchanged by its
    digest never is."""

    __slots__ = ("dated", "employee_id", "hash", "manager")

    employee_id: str | None
    manager: str | None
    dated: bool
    hash: bytes

    def record(self) -> object:
        raise NotImplementedError


class ItemRaw(Raw):
    """A record already in hand (a JSON body's)."""

    __slots__ = ("item",)

    def __init__(self, item: object, item_hash: bytes | None = None) -> None:
        self.item = item
        self.employee_id = raw_employee_id(item)
        self.manager = raw_employee_id(item, "manager_employee_id")
        self.dated = isinstance(item, dict) and "termination_date" in item
        self.hash = item_hash or record_hash(item)

    def record(self) -> object:
        return self.item


class RecordSource(ABC):
    """The raw records of one import, in file order, readable more than once."""

    total: int
    # The employee ids named as someone's manager, when the source noted them as it
    # was first read (the plan reads the file for them otherwise).
    managers: set[str] | None = None
    # Each record's ``record_hash``, in file order, when the source took them as it
    # was first read (fingerprinting a file encodes every record anyway).
    hashes: list[bytes] | None = None

    @abstractmethod
    def chunks(self, size: int) -> Iterator[list[object]]:
        """The records, ``size`` at a time (the last chunk may be shorter)."""

    def raw_chunks(self, size: int) -> Iterator[list[Raw]]:
        """The records as ``Raw``s, ``size`` at a time (a source that can tell whom
        a record is about without building it says so more cheaply)."""
        at = 0
        for items in self.chunks(size):
            hashes: Sequence[bytes | None] = (
                [None] * len(items)
                if self.hashes is None
                else self.hashes[at : at + len(items)]
            )
            at += len(items)
            yield [ItemRaw(i, h) for i, h in zip(items, hashes, strict=True)]

    @abstractmethod
    def digest(self, dry_run: bool, secret: bytes) -> str:
        """The fingerprint of the records and the mode (see ``fingerprint``)."""

    def earlier_digest(self, dry_run: bool, secret: bytes) -> str | None:
        """The fingerprint the same records had before ``digest`` changed scheme
        (a stored job's, to replay its key), when it did; None: it never did."""
        return None

    def close(self) -> None:
        """Let go of what holds the records (a spooled file); idempotent."""
        return None


class ListSource(RecordSource):
    """Records already in memory (a JSON body, a GraphQL mutation's input)."""

    def __init__(self, people: Sequence[object]) -> None:
        self.people = people
        self.total = len(people)

    def chunks(self, size: int) -> Iterator[list[object]]:
        for start in range(0, self.total, size):
            yield list(self.people[start : start + size])

    def digest(self, dry_run: bool, secret: bytes) -> str:
        fp = Fingerprint(secret)
        for record in self.people:
            fp.add(record)
        return fp.digest(dry_run)

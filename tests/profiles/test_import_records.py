"""An import record's checks: the cheaper path an import takes through the domain's
rules gives every record the outcome and the errors the full check gives it."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import tempfile
import uuid
from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from chassis.errors import FieldError, ValidationFailed
from chassis.events import EventMetadata, EventRegistry, LogPosition, RecordedEvent
from chassis.personal_data import ENCRYPTED, SEALED, PersonalDataCipher
from services.profiles.api.imports import CsvSource
from services.profiles.application.imports import records
from services.profiles.application.imports.plan import Plan
from services.profiles.application.imports.records import (
    HrisRecord,
    Record,
    ShapeError,
    Validator,
    failure_of,
    validate,
)
from services.profiles.application.imports.source import (
    Fingerprint,
    ListSource,
    record_hash,
)
from services.profiles.domain.person import PersonDetails, check_roles


def reference(item: object, row: int) -> Record:
    """``validate`` as it was: the record's model, then ``PersonDetails.validated``
    in full (its bounds checked again), with nothing skipped."""
    today = datetime.now(UTC).date()
    employee_id = item.get("employee_id") if isinstance(item, dict) else None
    employee_id = str(employee_id).strip() if employee_id is not None else None
    if employee_id is not None and not records._REF.fullmatch(
        employee_id[: records.MAX_REF + 1]
    ):
        employee_id = None
    try:
        rec = HrisRecord.model_validate(item)
    except ShapeError as exc:
        problems = [
            FieldError(".".join(str(p) for p in e["loc"]) or "record", e["msg"])
            for e in exc.errors()
        ]
        return Record(row, employee_id, error=failure_of(ValidationFailed(problems)))
    details = PersonDetails(
        given_name=rec.given_name,
        family_name=rec.family_name,
        email=rec.email,
        level=rec.level,
        business_unit=rec.business_unit,
        function=rec.function,
        geography=rec.geography,
        time_zone=rec.time_zone,
        employee_id=rec.employee_id,
        title=rec.title or None,
        hire_date=rec.hire_date,
        languages=tuple(rec.languages),
    )
    problems = []
    try:
        details.validated()
    except ValidationFailed as exc:
        problems.extend(exc.errors)
    if rec.manager_employee_id == rec.employee_id:
        problems.append(
            FieldError("manager_employee_id", "a person cannot be their own manager")
        )
    if problems:
        return Record(
            row, rec.employee_id, error=failure_of(ValidationFailed(problems))
        )
    return Record(
        row,
        rec.employee_id,
        details=details,
        manager_employee_id=rec.manager_employee_id or None,
        roles=check_roles(list(rec.roles)) if rec.roles is not None else None,
        leaving=not rec.active
        or (rec.termination_date is not None and rec.termination_date <= today),
        effective_on=rec.effective_on,
        termination_date=rec.termination_date,
    )


# Texts near every bound: control characters (DEL, NUL, tab), white space at the
# ends, non-ASCII, long ones, empty ones.
NASTY = st.sampled_from(
    ["", " ", "\x7f", "\x00", "\t", "\n", "é", "ß", "\u2028", "\u00a0", "@", ".", "x"]
)
TEXT = st.one_of(
    st.text(max_size=8),
    st.lists(NASTY, max_size=4).map("".join),
    st.integers(min_value=0, max_value=400).map(lambda n: "a" * n),
)


def valid() -> dict[str, object]:
    return {
        "employee_id": "E1",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@acme.example",
        "level": "7",
        "business_unit": "Retail",
        "function": "Finance",
        "geography": "gb",
        "time_zone": "Europe/London",
        "title": "Analyst",
        "manager_employee_id": "E0",
        "hire_date": "2020-01-01",
        "languages": ["en", "fr"],
        "roles": ["mentee"],
    }


FIELDS = list(valid())


@settings(max_examples=400, deadline=None)
@given(
    changes=st.dictionaries(
        st.sampled_from(FIELDS),
        st.one_of(
            TEXT,
            st.lists(TEXT, max_size=3),
            st.none(),
            st.integers(min_value=-2, max_value=14),
        ),
        max_size=3,
    ),
    around=st.lists(NASTY, max_size=2).map("".join),
)
def test_an_import_record_is_judged_as_the_full_check_judges_it(
    changes: dict[str, object], around: str
) -> None:
    item = valid()
    item.update(changes)
    item["email"] = (
        f"{item['email']}{around}" if isinstance(item["email"], str) else item["email"]
    )
    assert validate(item, 3, datetime.now(UTC).date()) == reference(item, 3)


def test_del_in_an_email_is_refused_as_a_control_character() -> None:
    item = valid() | {"email": "ada\x7f@acme.example"}
    rec = validate(item, 1, datetime.now(UTC).date())
    assert rec.error is not None and rec.details is None
    assert [(f.path, f.message) for f in rec.error.fields] == [
        ("email", "must not hold control characters")
    ]
    assert rec == reference(item, 1)


def test_a_managers_record_the_plan_validated_is_not_validated_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    boss = valid() | {"employee_id": "B1", "manager_employee_id": None}
    del boss["manager_employee_id"]
    report = valid() | {"employee_id": "R1", "manager_employee_id": "B1"}
    people: list[object] = [report, boss]
    today = datetime.now(UTC).date()
    plan = Plan.scan(ListSource(people), 10, today)
    assert set(plan.validated) == {2} and plan.joining == {"B1"}
    calls: list[int] = []
    real = records.validate

    def counted(item: object, row: int, day: date) -> Record:
        calls.append(row)
        return real(item, row, day)

    monkeypatch.setattr(records, "validate", counted)
    check = Validator(today, plan.validated)
    got = [check(item, row) for row, item in enumerate(people, start=1)]
    assert calls == [1]  # the report's; the manager's came from the plan
    assert not plan.validated  # taken once
    assert got == [
        dataclasses.replace(reference(report, 1), item=report),
        dataclasses.replace(reference(boss, 2), item=boss),
    ]


def test_sealed_values_and_encrypted_fields_open_as_they_were() -> None:
    """What a bulk write seals (a row's columns, an event's personal fields) opens to
    the values in clear, None stays None, and each value is bound to its person and
    its column: moved to another, it does not open."""
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    values = {
        "employee_id": "E1",
        "title": None,
        "hire_date": "2020-01-01",
        "n": 7,
        "given_name": 'Zoë "Q" 日本\\\x00',  # escaped as JSON text, whatever its type
        "languages": ["en", "fr"],
    }
    sealed = PersonalDataCipher.seal_with(aead, "p1", "people", values)
    assert sealed["title"] is None
    assert all(v is None or v.startswith(SEALED) for v in sealed.values())
    assert {
        c: PersonalDataCipher.open(aead, "p1", "people", c, v)
        for c, v in sealed.items()
    } == values
    assert PersonalDataCipher.open(aead, "p2", "people", "n", sealed["n"]) is None
    assert PersonalDataCipher.open(aead, "p1", "people", "x", sealed["n"]) is None
    data = {
        "given_name": 'Zoë "Q" 日本',
        "email": None,
        "level": 3,
        "languages": ["en"],
    }
    encrypted = PersonalDataCipher.encrypt_fields(
        aead, "p1", dict(data), ["given_name", "email", "languages"]
    )
    assert encrypted["email"] is None and encrypted["level"] == 3
    assert ENCRYPTED in encrypted["given_name"] and ENCRYPTED in encrypted["languages"]
    event = RecordedEvent(
        id=uuid.uuid4(),
        stream_id="p1",
        stream_type="Person",
        version=1,
        event_type="PersonRegistered",
        schema_version=1,
        data=encrypted,
        metadata=EventMetadata(tenant="acme"),
        time=datetime.now(UTC),
        position=LogPosition(1, 1),
    )
    assert PersonalDataCipher.decode_with(aead, event) == data


def test_blind_indexes_are_the_keyed_digest_rows_already_hold() -> None:
    """A blind index is HMAC-SHA256, under a key derived from the master key, of the
    tenant, the kind and the value: the same whichever way it is computed, or the
    look-ups of rows written before would find nothing."""
    master = bytes(range(32))
    cipher = PersonalDataCipher(master, EventRegistry())
    index_key = hmac.new(master, b"tandem blind index v1", hashlib.sha256).digest()
    for tenant, kind, value in [
        ("acme", "email", "ada@acme.example"),
        ("acme", "employee_id", "W000001"),
        ("globex", "email", "Zoë@日本.example"),
    ]:
        message = f"{tenant}\x1f{kind}\x1f{value}".encode()
        expected = hmac.new(index_key, message, hashlib.sha256).hexdigest()
        assert cipher.blind_index(tenant, kind, value) == expected
        assert cipher.blind_index(tenant, kind, value) == expected  # again, the same
    assert cipher.blind_index("acme", "email", None) is None


def _csv_source(body: bytes) -> tuple[CsvSource, list[object], list[bytes]]:
    spool = tempfile.SpooledTemporaryFile()
    spool.write(body)
    source = CsvSource(spool, Fingerprint(b"k" * 32))
    items = [item for chunk in source.chunks(10) for item in chunk]
    raws = [raw for chunk in source.raw_chunks(10) for raw in chunk]
    assert [raw.record() for raw in raws] == items
    return source, items, [raw.hash for raw in raws]


def test_a_csv_files_records_are_hashed_by_their_cells() -> None:
    """The hashes a file's first reading keeps (its fingerprint and each record's
    import digest are taken of them) are one per record, row for row, blank lines
    skipped. Rows hash alike exactly when they are the same record: whatever the
    order of the columns, the blanks around a value or the empty cells; a value
    that holds what separates the cells in the hash does not pass for two."""
    body = b"employee_id,given_name,languages\nE1,Ada,en;fr\n , ,\n\nE2, Grace ,\n"
    source, items, hashes = _csv_source(body)
    assert items == [
        {"employee_id": "E1", "given_name": "Ada", "languages": ["en", "fr"]},
        {"employee_id": "E2", "given_name": "Grace"},
    ]
    assert source.hashes == hashes and len(set(hashes)) == 2
    # The same records: other column order, blanks, an empty column.
    again = b"languages,title,given_name,employee_id\nen;fr,,Ada, E1\n,, Grace,E2\n"
    other, _, same = _csv_source(again)
    assert same == hashes
    assert other.digest(False, b"k" * 32) == source.digest(False, b"k" * 32)
    assert other.digest(True, b"k" * 32) != source.digest(False, b"k" * 32)
    # Another value, or one cell's text across a field boundary: other hashes.
    _, _, changed = _csv_source(b"employee_id,given_name,languages\nE1,Ada,en\n")
    assert changed[0] != hashes[0]
    tricky = b"employee_id,family_name,given_name\nE1,,A\x1f1\x1fB\nE1,B,A\n"
    _, _, two = _csv_source(tricky)
    assert two[0] != two[1]
    # The ids the run reads from the cells are those the record gives.
    raw = next(iter(source.raw_chunks(1)))[0]
    assert (raw.employee_id, raw.manager, raw.dated) == ("E1", None, False)
    # A JSON body's records are hashed as they came (``record_hash``).
    listed = [raw for chunk in ListSource(items).raw_chunks(10) for raw in chunk]
    assert [raw.hash for raw in listed] == [record_hash(item) for item in items]

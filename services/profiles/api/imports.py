"""Bulk import of people from an HRIS (JSON or CSV) as a job: start it, follow it.

This module reads the batch in whichever form it arrives - a JSON document, a CSV
body, or a CSV/JSON file in a multipart form - and hands plain records to
``services.profiles.application.imports``, which validates and applies them.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import IO, Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from chassis.errors import FieldError, TandemError, ValidationFailed
from chassis.http.openapi import problems
from chassis.inputs import Name, NonNegative, Ref
from contracts.api.profiles import (
    ImportLinks,
    ImportReport,
    ImportReports,
    ImportState,
    RecordPage,
)
from contracts.profiles import ImportFormat, RecordOutcome
from services.profiles.api.deps import ImportsDep, PrincipalDep
from services.profiles.application.imports import (
    FINISHED,
    MAX_RECORDS,
    RECORD_FIELDS,
    HrisRecord,
    ImportTooLarge,
    UnreadableImport,
)
from services.profiles.application.imports.source import (
    Fingerprint,
    Raw,
    RecordSource,
)
from services.profiles.domain import access

router = APIRouter(prefix="/imports", tags=["imports"])

WAIT_S = 60.0  # ``?wait=true`` answers within this, finished or not
MAX_BODY_BYTES = 64 * 1024 * 1024
LIST_FIELDS = ("languages", "roles")  # ``;``-separated in a CSV cell
SPOOL_IN_MEMORY = 1024 * 1024  # a CSV past this is spooled to a temporary file


class UnsupportedMediaType(TandemError):
    code = "UnsupportedMediaType"
    status = 415
    title = "Unsupported media type"


# -- reading the batch ---------------------------------------------------------------


def people_from_json(data: bytes) -> list[object]:
    """The ``people`` array of ``{"people": [...]}``."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableImport(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("people"), list):
        raise ValidationFailed(
            [FieldError("people", 'expected a JSON object {"people": [...]}')]
        )
    extra = sorted(set(doc) - {"people"})
    if extra:
        raise ValidationFailed([FieldError(k, "unknown member") for k in extra])
    people: list[object] = doc["people"]
    return people


def people_from_csv(data: bytes) -> list[object]:
    """Records of a CSV with a header row of record field names."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        spool.write(data)
        return [r for chunk in CsvSource(spool, None).chunks(1000) for r in chunk]


class CsvSource(RecordSource):
    """The records of a CSV export kept in a (spooled) file and read a chunk at a
    time: the job never holds the whole file as records.

    Made with a ``Fingerprint``, the file is read through once as it is built: a
    malformed file is refused (``UnreadableImport``, nothing imported) before any
    job exists, and the records are counted and fingerprinted on the way - each by
    the hash of its cells (``_Layout.hash``), without building it as a record.
    """

    def __init__(self, spool: IO[bytes], fingerprint: Fingerprint | None) -> None:
        self.spool = spool
        self._fingerprint = fingerprint
        self.total = 0
        self.managers = set()
        hashes: list[bytes] = []
        self.hashes = None if fingerprint is None else hashes
        for layout, cells in self._rows():
            self.total += 1
            if fingerprint is not None:
                # Kept (32 bytes a record): each record's import digest is taken
                # of its hash, without reading the record again.
                item_hash = layout.hash(cells)
                fingerprint.add_hash(item_hash)
                hashes.append(item_hash)
            if layout.manager is not None:
                manager = cells[layout.manager].strip()
                if manager:
                    self.managers.add(manager)

    def _rows(self) -> Iterator[tuple[_Layout, list[str]]]:
        self.spool.seek(0)
        text = io.TextIOWrapper(self.spool, encoding="utf-8-sig", newline="")
        try:
            yield from _csv_rows(text)
        except UnicodeDecodeError as exc:
            raise UnreadableImport(
                f"the CSV is not UTF-8 text (bad byte at offset {exc.start})"
            ) from exc
        finally:
            text.detach()  # the spool stays open for the next reading

    def chunks(self, size: int) -> Iterator[list[object]]:
        people: list[object] = []
        for layout, cells in self._rows():
            people.append(_csv_record(layout.header, cells))
            if len(people) == size:
                yield people
                people = []
        if people:
            yield people

    def raw_chunks(self, size: int) -> Iterator[list[Raw]]:
        """The records as ``_CsvRaw``s: their ids read from two cells, their hashes
        those the first reading kept; a record is built only when asked for."""
        hashes = self.hashes
        raws: list[Raw] = []
        for at, (layout, cells) in enumerate(self._rows()):
            raws.append(
                _CsvRaw(
                    layout, cells, layout.hash(cells) if hashes is None else hashes[at]
                )
            )
            if len(raws) == size:
                yield raws
                raws = []
        if raws:
            yield raws

    def digest(self, dry_run: bool, secret: bytes) -> str:
        assert self._fingerprint is not None, "a source made without a fingerprint"
        return CELLS_DIGEST + self._fingerprint.digest(dry_run)

    def earlier_digest(self, dry_run: bool, secret: bytes) -> str:
        """The fingerprint a CSV file had before its rows were hashed by their
        cells (each record's canonical JSON): read through again, for a key first
        sent before that change and sent again with the same file."""
        fingerprint = Fingerprint(secret)
        for chunk in self.chunks(1000):
            for record in chunk:
                fingerprint.add(record)
        return fingerprint.digest(dry_run)

    def close(self) -> None:
        self.spool.close()


# A CSV upload's fingerprint is marked as taken of its rows' hashes (``_Layout``): a
# job stored without the mark was fingerprinted from its records' JSON.
CELLS_DIGEST = "cells:"


class _Layout:
    """A CSV file's header: its field names, where the ids are, how a row is hashed."""

    def __init__(self, header: list[str]) -> None:
        self.header = header
        self.employee_id = header.index("employee_id")
        self.manager = _position(header, "manager_employee_id")
        self.termination = _position(header, "termination_date")
        # The cells in the order of their field names, so the hash of a record does
        # not depend on the order of the file's columns.
        self._order = sorted((name, at) for at, name in enumerate(header))

    def hash(self, cells: list[str]) -> bytes:
        """The SHA-256 of a row's non-empty cells (stripped), each with its field
        name and its length: two rows hash alike exactly when they are the same
        record (a cell's text cannot pass for a field boundary). What a CSV
        record's import digest is taken of; a JSON record's is its ``record_hash``
        (the same person re-sent in the other format is compared field by field)."""
        parts = [CSV_HASH_SCHEME]
        for name, at in self._order:
            value = cells[at].strip()
            if value:
                parts.append(f"{name}\x1f{len(value)}\x1f{value}")
        return hashlib.sha256("\x1e".join(parts).encode()).digest()


CSV_HASH_SCHEME = "csv-cells-v1"


def _position(header: list[str], name: str) -> int | None:
    return header.index(name) if name in header else None


class _CsvRaw(Raw):
    """A CSV row as a ``Raw``: the record is built from its cells when needed."""

    __slots__ = ("cells", "layout")

    def __init__(self, layout: _Layout, cells: list[str], item_hash: bytes) -> None:
        self.layout, self.cells, self.hash = layout, cells, item_hash
        self.employee_id = cells[layout.employee_id].strip() or None
        manager, ends = layout.manager, layout.termination
        self.manager = None if manager is None else cells[manager].strip() or None
        self.dated = ends is not None and bool(cells[ends].strip())

    def record(self) -> object:
        return _csv_record(self.layout.header, self.cells)


def _csv_rows(lines: Iterable[str]) -> Iterator[tuple[_Layout, list[str]]]:
    """The file's rows with its header's layout (checked first), blank lines left
    out; a row of another length than the header, or malformed CSV, is refused."""
    reader = csv.reader(lines, strict=True)
    try:
        header = [h.strip() for h in next(reader, [])]
        if not any(header):
            raise UnreadableImport("the CSV is empty: a header row is required")
        _check_header(header)
        layout = _Layout(header)
        width = len(header)
        for cells in reader:
            if not "".join(cells).strip():  # a blank line (every cell blank)
                continue
            if len(cells) != width:
                raise UnreadableImport(
                    f"line {reader.line_num} has {len(cells)} fields; "
                    f"the header has {width}",
                    line=reader.line_num,
                )
            yield layout, cells
    except csv.Error as exc:
        raise UnreadableImport(
            f"the CSV is malformed at line {reader.line_num}: {exc}",
            line=reader.line_num,
        ) from exc


def _check_header(header: list[str]) -> None:
    problems = [
        FieldError(f"header.{name}", "not a field of an import record")
        for name in header
        if name not in RECORD_FIELDS
    ]
    problems += [
        FieldError(f"header.{name}", "appears more than once")
        for name in sorted({n for n in header if header.count(n) > 1})
    ]
    if "employee_id" not in header:
        problems.append(FieldError("header.employee_id", "the column is required"))
    if problems:
        raise ValidationFailed(problems)


def _csv_record(header: list[str], cells: list[str]) -> dict[str, str | list[str]]:
    """A row (as many cells as the header has names) as a record: an empty cell is
    an absent field, a list field's cell is split at ``;`` (empty items dropped).
    The list fields are split after the loop, not tested for in it."""
    record: dict[str, str | list[str]] = {}
    # The caller refused a row of another length than the header's.
    for name, raw in zip(header, cells, strict=False):
        value = raw.strip()
        if value:
            record[name] = value
    for name in LIST_FIELDS:
        items = record.get(name)
        if isinstance(items, str):
            record[name] = [v for v in map(str.strip, items.split(";")) if v]
    return record


def _is_json(media_type: str, filename: str = "") -> bool:
    return (
        media_type == "application/json"
        or media_type.endswith("+json")
        or (filename.lower().endswith(".json"))
    )


async def _spool(chunks: AsyncIterator[bytes]) -> IO[bytes]:
    """The body written to a spooled file (to disk past ``SPOOL_IN_MEMORY``)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ImportTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    return spool


async def _file_part(request: Request) -> UploadFile | str:
    """The form's file part (``file`` or ``people``, or any part with a file name),
    streamed to a spooled file as the form is parsed."""
    try:
        form = await request.form(max_files=1, max_fields=100)
    except (MultiPartException, HTTPException, ValueError) as exc:
        detail = getattr(exc, "detail", None) or getattr(exc, "message", exc)
        raise UnreadableImport(
            f"the multipart body could not be read: {detail}"
        ) from exc
    named = None
    for name, value in form.multi_items():
        if isinstance(value, UploadFile) and value.filename:
            return value
        if name in ("file", "people"):
            named = value
    if named is None:
        raise UnreadableImport("the form has no file part (send the export as `file`)")
    return named


async def _upload_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(1024 * 1024):
        yield chunk


async def read_people(
    request: Request, fingerprint: Fingerprint
) -> tuple[list[object] | RecordSource, ImportFormat]:
    """The batch's records and its format, from JSON, CSV or a multipart file. A CSV
    is streamed to a spooled file and read from there a chunk at a time."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        part = await _file_part(request)
        if isinstance(part, str):
            data = part.encode()
            if data.lstrip().startswith((b"{", b"[")):
                return people_from_json(data), ImportFormat.JSON
            return people_from_csv(data), ImportFormat.CSV
        if _is_json(
            (part.content_type or "").split(";")[0].strip().lower(),
            part.filename or "",
        ):
            data = b"".join([c async for c in _upload_chunks(part)])
            return people_from_json(data), ImportFormat.JSON
        return await _csv_source(_upload_chunks(part), fingerprint), ImportFormat.CSV
    if _is_json(media_type):
        data = await request.body()
        if len(data) > MAX_BODY_BYTES:
            raise ImportTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
        return people_from_json(data), ImportFormat.JSON
    if media_type in ("text/csv", "application/csv"):
        return await _csv_source(request.stream(), fingerprint), ImportFormat.CSV
    raise UnsupportedMediaType(
        "send application/json, text/csv or multipart/form-data with a file"
    )


async def _csv_source(
    chunks: AsyncIterator[bytes], fingerprint: Fingerprint
) -> CsvSource:
    spool = await _spool(chunks)
    try:
        return await asyncio.to_thread(CsvSource, spool, fingerprint)
    except BaseException:
        spool.close()
        raise


# -- responses -----------------------------------------------------------------------


def _with_links(
    request: Request, state: ImportState, *, replayed: bool = False
) -> ImportReport:
    job_id = state.job_id
    return ImportReport(
        **state.model_dump(),
        links=ImportLinks(
            self=request.url_for("import_report", job_id=job_id).path,
            records=request.url_for("import_records", job_id=job_id).path,
        ),
        replayed=replayed,
    )


def _inlined(schema: dict[str, object]) -> dict[str, object]:
    """``schema`` with its local ``$defs`` (the enums it names) written in place: the
    OpenAPI document has no ``$defs`` for it to point at."""
    defs = schema.pop("$defs", {})
    assert isinstance(defs, dict)

    def resolve(node: object) -> object:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved = resolve(schema)
    assert isinstance(resolved, dict)
    return resolved


_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["people"],
                    "properties": {
                        "people": {
                            "type": "array",
                            "maxItems": MAX_RECORDS,
                            "items": _inlined(HrisRecord.model_json_schema()),
                        }
                    },
                }
            },
            "text/csv": {
                "schema": {"type": "string"},
                "example": "employee_id,given_name,family_name,email,level,"
                "business_unit,function,geography,time_zone,languages,roles\n"
                "E1,Ada,Lovelace,ada@acme.example,7,Retail,Finance,GB,"
                "Europe/London,en;fr,mentee\n",
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


# -- routes --------------------------------------------------------------------------


@router.post(
    "",
    status_code=202,
    openapi_extra=_BODY,
    responses={
        200: {"model": ImportReport, "description": "Finished (`wait=true`)"},
        **problems(403, 415),
    },
)
async def start_import(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    imports: ImportsDep,
    dry_run: Annotated[
        bool, Query(description="Validate and report; write nothing")
    ] = False,
    wait: Annotated[
        bool, Query(description="Answer with the finished report (small batches)")
    ] = False,
    idempotency_key: Annotated[Name | None, Header()] = None,
) -> ImportReport:
    """Start importing people (integrations, coordinators, admins); 202 with the job."""
    access.require_provisioner(principal)
    people, source_format = await read_people(request, imports.fingerprint())
    job_id, replayed = await imports.submit(
        principal,
        people,
        source_format=source_format,
        dry_run=dry_run,
        idempotency_key=idempotency_key,
    )
    if wait:
        await imports.wait(job_id, WAIT_S)
    report = _with_links(
        request, await imports.report(principal, job_id), replayed=replayed
    )
    response.headers["Location"] = report.links.self
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if wait and report.status in FINISHED:
        response.status_code = 200
    return report


class JobIds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: Annotated[list[Ref], Field(max_length=200)]


@router.post("/batch", responses=problems(403))
async def import_reports(
    body: JobIds, request: Request, principal: PrincipalDep, imports: ImportsDep
) -> ImportReports:
    """Several jobs' reports in one call, in the order asked (unknown ids, and other
    organisations' jobs, are left out); each with at most one failed record (page
    through ``/imports/{id}/records?outcome=failed`` for the rest)."""
    reports = await imports.reports(principal, body.ids, error_limit=1)
    return ImportReports(items=[_with_links(request, r) for r in reports])


@router.get("/{job_id}", name="import_report", responses=problems(403, 404))
async def import_report(
    job_id: Ref,
    request: Request,
    principal: PrincipalDep,
    imports: ImportsDep,
    errors_after: Annotated[
        NonNegative, Query(description="Cursor: the `errors_next` of the last page")
    ] = 0,
    error_limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ImportReport:
    """An import's status, progress, counts and a page of its failed records."""
    report = await imports.report(
        principal, job_id, errors_after=errors_after, error_limit=error_limit
    )
    return _with_links(request, report)


@router.get("/{job_id}/records", name="import_records", responses=problems(403, 404))
async def import_records(
    job_id: Ref,
    principal: PrincipalDep,
    imports: ImportsDep,
    outcome: Annotated[RecordOutcome | None, Query()] = None,
    after: Annotated[
        NonNegative, Query(description="Cursor: the `next` of the last page")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RecordPage:
    """What happened (or, in a dry run, would happen) to each record, by row."""
    return await imports.records(
        principal, job_id, outcome=outcome, after=after, limit=limit
    )

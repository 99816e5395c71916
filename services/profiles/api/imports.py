"""Bulk import of people from an HRIS (JSON or CSV) as a job: start it, follow it.

This module reads the batch in whichever form it arrives - a JSON document, a CSV
body, or a CSV/JSON file in a multipart form - and hands plain records to
``services.profiles.application.imports``, which validates and applies them.
"""

from __future__ import annotations

import csv
import io
import json
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

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
from services.profiles.domain import access

router = APIRouter(prefix="/imports", tags=["imports"])

WAIT_S = 60.0  # ``?wait=true`` answers within this, finished or not
MAX_BODY_BYTES = 64 * 1024 * 1024
LIST_FIELDS = ("languages", "roles")  # ``;``-separated in a CSV cell


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
    try:
        content = data.decode("utf-8-sig")  # Excel writes a byte-order mark
    except UnicodeDecodeError as exc:
        raise UnreadableImport(
            f"the CSV is not UTF-8 text (bad byte at offset {exc.start})"
        ) from exc
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader, [])]
        if not any(header):
            raise UnreadableImport("the CSV is empty: a header row is required")
        _check_header(header)
        people: list[object] = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise UnreadableImport(
                    f"line {reader.line_num} has {len(cells)} fields; "
                    f"the header has {len(header)}",
                    line=reader.line_num,
                )
            people.append(_csv_record(header, cells))
    except csv.Error as exc:
        raise UnreadableImport(
            f"the CSV is malformed at line {reader.line_num}: {exc}",
            line=reader.line_num,
        ) from exc
    return people


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
    record: dict[str, str | list[str]] = {}
    for name, raw in zip(header, cells, strict=True):
        value = raw.strip()
        if not value:  # an empty cell is an absent field
            continue
        if name in LIST_FIELDS:
            record[name] = [v.strip() for v in value.split(";") if v.strip()]
        else:
            record[name] = value
    return record


def _file_part(data: bytes, content_type: str) -> EmailMessage:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + data)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise UnreadableImport("the multipart body could not be read")
    parts = list(message.iter_parts())
    for part in parts:
        if part.get_filename() or part.get_param(
            "name", header="content-disposition"
        ) in ("file", "people"):
            return part  # type: ignore[return-value]
    raise UnreadableImport("the form has no file part (send the export as `file`)")


def _is_json(media_type: str, filename: str = "") -> bool:
    return (
        media_type == "application/json"
        or media_type.endswith("+json")
        or (filename.lower().endswith(".json"))
    )


async def read_people(request: Request) -> tuple[list[object], ImportFormat]:
    """The batch's records and its format, from JSON, CSV or a multipart file."""
    data = await request.body()
    if len(data) > MAX_BODY_BYTES:
        raise ImportTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        part = _file_part(data, content_type)
        data = part.get_payload(decode=True) or b""  # type: ignore[assignment]
        media_type = part.get_content_type()
        if _is_json(media_type, part.get_filename() or ""):
            return people_from_json(data), ImportFormat.JSON
        return people_from_csv(data), ImportFormat.CSV
    if _is_json(media_type):
        return people_from_json(data), ImportFormat.JSON
    if media_type in ("text/csv", "application/csv"):
        return people_from_csv(data), ImportFormat.CSV
    raise UnsupportedMediaType(
        "send application/json, text/csv or multipart/form-data with a file"
    )


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
    people, source_format = await read_people(request)
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

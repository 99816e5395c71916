"""The REST face of a service's history import jobs (``chassis.history_jobs``), one
router for every service that takes one: ``POST {prefix}`` starts a job (202; 200 with
the finished job under ``?wait=true``), ``GET {prefix}/{job_id}`` follows it,
``GET {prefix}/{job_id}/records`` pages through what happened to each record.

A service brings its application object (provided to the app, ``chassis.service``),
the shape of its sections and its answers; the routes, their names (and so the
OpenAPI operation ids), headers and status codes are the same everywhere.

Annotations are evaluated here (no postponed annotations): the routes' body and answer
types are the factory's arguments, which FastAPI reads from the signatures.
"""

import json
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from chassis.auth.fastapi import PrincipalDep
from chassis.auth.principal import Principal
from chassis.errors import FieldError, ValidationFailed
from chassis.http.openapi import problems
from chassis.inputs import Name, NonNegative, Ref
from chassis.service import provided

WAIT_S = 60.0  # ``?wait=true`` answers within this, finished or not
FINISHED = ("succeeded", "failed")


class HistoryImports(Protocol):
    """What a service's history import application answers to."""

    async def submit(
        self,
        principal: Principal,
        document: Any,
        *,
        dry_run: bool,
        idempotency_key: str | None,
    ) -> tuple[str, bool]: ...

    async def wait(self, job_id: str, timeout_s: float) -> None: ...

    async def job(self, principal: Principal, job_id: str) -> Any: ...

    async def records(
        self,
        principal: Principal,
        job_id: str,
        *,
        outcome: Any,
        after: int,
        limit: int,
    ) -> Any: ...


def read_sections(
    data: bytes,
    models: Mapping[str, type[BaseModel]],
    fmt: str,
    max_records: int,
) -> dict[str, list[object]]:
    """A raw JSON body as its sections, each a list of records (left as JSON, the
    job reads them). A body that is not such a document, a section longer than
    ``max_records`` or a record not of its section's shape refuses the request
    whole (422, naming each member at fault): nothing is started. Only the rules of
    the domain (dates, references) fail a record alone, in the job."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(
            [FieldError("body", f"the body is not valid JSON: {exc}")]
        ) from exc
    if not isinstance(doc, dict):
        raise ValidationFailed(
            [FieldError("body", "expected a JSON object of sections")]
        )
    names = list(models)
    problems_ = [
        FieldError(k, "unknown member")
        for k in sorted(doc)
        if k != "format" and k not in names
    ]
    if "format" in doc and doc["format"] != fmt:
        problems_.append(FieldError("format", f"expected {fmt!r}"))
    found: dict[str, list[object]] = {}
    for name in names:
        value = doc.get(name, [])
        if not isinstance(value, list):
            problems_.append(FieldError(name, "expected an array of records"))
            continue
        if len(value) > max_records:
            problems_.append(
                FieldError(name, f"at most {max_records} records per import")
            )
            continue
        for n, record in enumerate(value):
            try:
                models[name].model_validate(record)
            except PydanticValidationError as exc:
                for e in exc.errors()[:3]:
                    where = ".".join(str(p) for p in (name, n, *e["loc"]))
                    problems_.append(FieldError(where, str(e["msg"])))
                if len(problems_) >= 50:
                    break
        found[name] = value
    if problems_:
        raise ValidationFailed(problems_[:50])
    return found


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its local ``$defs`` written in place (the OpenAPI document
    has no ``$defs`` for it to point at)."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
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


def sections_body(
    models: Mapping[str, type[BaseModel]],
    fmt: str,
    description: str,
    max_records: int,
) -> dict[str, Any]:
    """The OpenAPI request body of a raw sections document (``read_sections``):
    each section an array of at most ``max_records`` of its model's records."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": description,
                        "properties": {
                            "format": {"type": "string", "enum": [fmt]},
                            **{
                                str(name): {
                                    "type": "array",
                                    "maxItems": max_records,
                                    "items": _inlined(
                                        model.model_json_schema(by_alias=True)
                                    ),
                                }
                                for name, model in models.items()
                            },
                        },
                        "additionalProperties": False,
                    }
                }
            },
        }
    }


def history_router(
    *,
    prefix: str,
    tags: list[str],
    application: type[Any],
    job_model: type[BaseModel],
    page_model: type[BaseModel],
    outcomes: type[StrEnum],
    start_doc: str,
    records_doc: str,
    body: type[BaseModel] | None = None,
    parse: Callable[[bytes], object] | None = None,
    body_schema: dict[str, Any] | None = None,
    authorise: Callable[[Any, Principal], None] | None = None,
    start_problems: tuple[int, ...] = (403,),
    wait_doc: str = "Answer once finished (within a minute)",
) -> APIRouter:
    """The three routes of ``application``'s history imports.

    The body is either a model (``body``: validated whole, a bad record refuses the
    request) or raw JSON handed to ``parse`` (records checked one by one, a bad
    record fails alone), documented by ``body_schema``; ``authorise`` (if given)
    checks the caller before the body is read.
    """
    if (body is None) == (parse is None):
        raise ValueError("give either a body model or a parse function")
    router = APIRouter(prefix=prefix, tags=list(tags))
    App = Annotated[Any, Depends(provided(application))]
    responses: dict[int | str, dict[str, Any]] = {
        200: {"model": job_model, "description": "Finished (`wait=true`)"},
        **problems(*start_problems),
    }
    DryRun = Annotated[bool, Query(description="Validate and report; write nothing")]
    Wait = Annotated[bool, Query(description=wait_doc)]
    Key = Annotated[Name | None, Header()]

    async def answer(
        history: Any,
        principal: Principal,
        request: Request,
        response: Response,
        document: object,
        dry_run: bool,
        wait: bool,
        idempotency_key: str | None,
    ) -> Any:
        job_id, replayed = await history.submit(
            principal, document, dry_run=dry_run, idempotency_key=idempotency_key
        )
        if wait:
            await history.wait(job_id, WAIT_S)
        job = await history.job(principal, job_id)
        job.replayed = replayed
        response.headers["Location"] = request.url_for(
            "history_import", job_id=job_id
        ).path
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        if wait and job.status in FINISHED:
            response.status_code = 200
        return job

    start: Callable[..., Awaitable[Any]]
    if body is not None:
        Body = body

        async def start_history_import(
            body: Body,  # type: ignore[valid-type]
            request: Request,
            response: Response,
            principal: PrincipalDep,
            history: App,
            dry_run: DryRun = False,
            wait: Wait = False,
            idempotency_key: Key = None,
        ) -> Any:
            return await answer(
                history, principal, request, response, body, dry_run, wait,
                idempotency_key,
            )  # fmt: skip

        start = start_history_import
    else:
        assert parse is not None
        read = parse

        async def start_history_import(  # type: ignore[misc]
            request: Request,
            response: Response,
            principal: PrincipalDep,
            history: App,
            dry_run: DryRun = False,
            wait: Wait = False,
            idempotency_key: Key = None,
        ) -> Any:
            if authorise is not None:
                authorise(history, principal)
            document = read(await request.body())
            return await answer(
                history, principal, request, response, document, dry_run, wait,
                idempotency_key,
            )  # fmt: skip

        start = start_history_import
    start.__doc__ = start_doc
    router.post(
        "",
        status_code=202,
        response_model=job_model,
        responses=responses,
        openapi_extra=body_schema,
    )(start)

    async def history_import(job_id: Ref, principal: PrincipalDep, history: App) -> Any:
        """A history import's status and counts per section."""
        return await history.job(principal, job_id)

    router.get(
        "/{job_id}",
        name="history_import",
        response_model=job_model,
        responses=problems(403, 404),
    )(history_import)

    async def history_import_records(
        job_id: Ref,
        principal: PrincipalDep,
        history: App,
        outcome: Annotated[outcomes | None, Query()] = None,  # type: ignore[valid-type]
        after: Annotated[
            NonNegative, Query(description="Cursor: the `next` of the last page")
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Any:
        return await history.records(
            principal, job_id, outcome=outcome, after=after, limit=limit
        )

    history_import_records.__doc__ = records_doc
    router.get(
        "/{job_id}/records", response_model=page_model, responses=problems(403, 404)
    )(history_import_records)
    return router


__all__ = ["FINISHED", "WAIT_S", "HistoryImports", "history_router"]

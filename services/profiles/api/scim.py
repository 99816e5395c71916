"""SCIM 2.0 provisioning (RFC 7643/7644) for identity providers and HR suites.

Thin routes over ``services.profiles.application.scim`` (mapping, defaults and deprovisioning are
documented there). Callers need the ``integration`` or ``admin`` role. Every error on
these routes - Tandem's typed errors included - is answered in SCIM's error format
(RFC 7644 §3.12) as ``application/scim+json``; the app-wide problem-details handlers
stay as they are for every other route.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import Field, ValidationError
from scim2_models import Error, SearchRequest
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chassis.auth.fastapi import require_roles
from chassis.auth.principal import Principal, Role
from chassis.errors import ServiceUnavailable, TandemError, Unauthenticated
from chassis.http.openapi import own_format
from chassis.http.problems import error_for_exception
from chassis.inputs import INT32_MAX, INT32_MIN, ONE_LINE, Ref
from services.profiles.api.deps import UsersDep
from services.profiles.api.scim_discovery import (
    resource_type,
    schema_documents,
    service_provider_config,
)
from services.profiles.api.scim_documents import (
    REF,
    SCHEMAS,
    check_bounds,
    error_document,
    list_response,
    parse_json,
    scim_error,
    user_resource,
)
from services.profiles.application.scim import (
    MAX_RESULTS,
    SCIM_JSON,
    TANDEM,
    ScimError,
    ScimUsers,
    etag,
)
from services.profiles.application.scim.resources import Params, response_parameters
from services.profiles.application.scim.rows import UserRow

SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


class ScimResponse(JSONResponse):
    media_type = SCIM_JSON


def error_response(error: TandemError) -> Response:
    status, body = error_document(error)
    headers = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, ServiceUnavailable):
        headers["Retry-After"] = str(error.retry_after_s)
    return ScimResponse(body, status_code=status, headers=headers)


class ScimRoute(APIRoute):
    """A route whose every error, authentication and validation included, is SCIM's."""

    def get_route_handler(
        self,
    ) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def scim_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                where = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                    for e in exc.errors()
                )
                return error_response(ScimError(400, "invalidValue", where))
            except Exception as exc:  # typed errors as they are; bugs logged, hidden
                return error_response(error_for_exception(exc, request.scope))

        return scim_handler


_PROBLEM_TYPES = {  # problem code -> RFC 7644 §3.12 scimType
    "ValidationFailed": "invalidValue",
    "PayloadTooLarge": None,
}


class ScimErrors:
    """ASGI middleware: every error answered under ``/scim/v2`` is a SCIM error.

    The routes answer SCIM errors themselves (``ScimRoute``); this covers what is
    answered before a route runs, in ``application/problem+json``: an unknown path
    (404) or method (405, its ``Allow`` kept), the input guard (413, a URL with
    control bytes) and rate limits (429, ``Retry-After`` kept). A 422 from the guard
    becomes 400 ``invalidValue`` (RFC 7644 §3.12 has no 422)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _under_scim(scope):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                if headers.get("content-type", "").startswith(
                    "application/problem+json"
                ):
                    start = message
                    return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            status, body = _scim_of_problem(start["status"], b"".join(chunks))
            raw = json.dumps(body).encode()
            kept = [
                (k, v)
                for k, v in start["headers"]
                if k.lower() not in (b"content-type", b"content-length")
            ]
            kept += [
                (b"content-type", SCIM_JSON.encode()),
                (b"content-length", str(len(raw)).encode()),
            ]
            await send({**start, "status": status, "headers": kept})
            await send({"type": "http.response.body", "body": raw})

        await self.app(scope, receive, rewrite)


def _under_scim(scope: Scope) -> bool:
    path, root = scope.get("path", ""), scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path == "/scim/v2" or path.startswith("/scim/v2/")


def _scim_of_problem(status: int, raw: bytes) -> tuple[int, dict[str, Any]]:
    try:
        problem = json.loads(raw)
    except ValueError:
        problem = {}
    problem = problem if isinstance(problem, dict) else {}
    code = str(problem.get("code") or "")
    detail = str(problem.get("detail") or problem.get("title") or "error")
    errors = problem.get("errors")
    if isinstance(errors, list) and errors:
        detail = "; ".join(
            f"{e.get('path')}: {e.get('message')}"
            for e in errors
            if isinstance(e, dict)
        )
    scim_type = _PROBLEM_TYPES.get(code)
    if status == 422:
        status, scim_type = 400, "invalidValue"
    return status, scim_error(status, scim_type, detail)


router = APIRouter(
    prefix="/scim/v2",
    tags=["scim"],
    route_class=ScimRoute,
    default_response_class=ScimResponse,
)

Provisioner = Annotated[Principal, Depends(require_roles(Role.INTEGRATION, Role.ADMIN))]
IfMatch = Annotated[
    str | None, Header(alias="If-Match", max_length=1000, pattern=ONE_LINE)
]
# startIndex below 1 reads as 1 and a negative count as 0 (RFC 7644 §3.4.2.4), but a
# number no column holds is refused (invalidValue), never sent to the database.
PageNumber = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
MAX_FILTER = 2000
# What an error means on these routes (RFC 7644 §3.12 ``scimType``); 401, 413, 429
# and 503 are the chassis' own (``own_format`` documents them as SCIM errors).
WHY = {
    400: "Invalid input: `scimType` is invalidFilter, invalidSyntax, invalidPath, "
    "invalidValue, noTarget, mutability or tooMany",
    403: "The token has neither the integration nor the admin role",
    404: "No such resource in the token's organisation (a deprovisioned User included)",
    409: "`uniqueness`: userName or employeeNumber is another User's; or a "
    "concurrent change won (retry)",
    412: "The `If-Match` ETag is not the User's current version",
}
_FORMAT = own_format(SCIM_JSON, "ScimError", SCHEMAS, invalid_input=400)


def documented(
    answer: str | None,
    *errors: int,
    status: int = 200,
    body: str | None = None,
    body_note: str = "",
    not_modified: bool = False,
    bare: bool = False,
) -> dict[str, Any]:
    """``responses=`` and ``openapi_extra=`` of a SCIM route: its answer (the
    component ``answer`` of :data:`SCHEMAS`, as ``application/scim+json``), its
    body (``body``, sent as ``application/scim+json`` or ``application/json``) and
    its errors, every one an RFC 7644 §3.12 Error (the common 401, 413, 429 and 503
    included, by ``own_format``): 400 unless the route takes no input (``bare``),
    403, and ``errors``."""
    responses: dict[int | str, dict[str, Any]] = {
        code: {"description": WHY[code]}
        for code in ((403, *errors) if bare else (400, 403, *errors))
    }
    if answer is not None:
        schema = {"$ref": f"{REF}{answer}"}
        responses[status] = {"content": {SCIM_JSON: {"schema": schema}}}
        if answer == "ScimUser":
            responses[status]["headers"] = {
                "ETag": {
                    "description": "The User's version (weak), for `If-Match` and "
                    "`If-None-Match`",
                    "schema": {"type": "string"},
                }
            }
    if not_modified:
        responses[304] = {
            "description": "`If-None-Match` names the current ETag: no body",
            "headers": {"ETag": {"schema": {"type": "string"}}},  # unchanged
        }
    extra: dict[str, Any] = dict(_FORMAT)
    if body is not None:
        media = {"schema": {"$ref": f"{REF}{body}"}}
        extra["requestBody"] = {
            "required": True,
            "content": {SCIM_JSON: media, "application/json": media},
            **({"description": body_note} if body_note else {}),
        }
    return {"responses": responses, "openapi_extra": extra}


_IGNORED = (
    "Attributes of the core and enterprise schemas that Tandem does not keep are "
    "accepted and ignored; `id`, `meta` and read-only attributes sent are ignored."
)


Attributes = Annotated[str | None, Query(max_length=MAX_FILTER, pattern=ONE_LINE)]
Excluded = Annotated[
    str | None,
    Query(alias="excludedAttributes", max_length=MAX_FILTER, pattern=ONE_LINE),
]
IfNoneMatch = Annotated[
    str | None, Header(alias="If-None-Match", max_length=1000, pattern=ONE_LINE)
]


def _base(request: Request) -> str:
    """The absolute ``…/scim/v2`` this request came through.

    Scheme and host are the request's (uvicorn rewrites the scheme from
    ``X-Forwarded-Proto`` only for the proxies ``--forwarded-allow-ips`` trusts; a
    proxy passes the ``Host`` through), and the path is the app's ``root_path``: the
    mount prefix in the embedded mode (``/profiles``) and ``--root-path`` behind a
    proxy, so links resolve where the caller is."""
    url = request.url
    root = str(request.scope.get("root_path") or "").rstrip("/")
    return f"{url.scheme}://{url.netloc}{root}{router.prefix}"


def _tags(header: str | None) -> set[str]:
    return {tag.strip() for tag in (header or "").split(",") if tag.strip()}


def _user(
    request: Request,
    row: UserRow,
    status_code: int = 200,
    params: Params | None = None,
    if_none_match: str | None = None,
) -> Response:
    version = etag(row)
    headers = {"ETag": version}
    wanted = _tags(if_none_match)
    if wanted and ("*" in wanted or version in wanted):
        return Response(status_code=304, headers=headers)  # RFC 7232 §4.1
    resource = user_resource(row, _base(request), params)
    if status_code == 201:
        headers["Location"] = resource["meta"]["location"]
    return ScimResponse(resource, status_code=status_code, headers=headers)


def _page_number(value: int | None) -> int | None:
    if value is not None and not INT32_MIN <= value <= INT32_MAX:
        raise ScimError(
            400, "invalidValue", f"startIndex and count are integers up to {INT32_MAX}"
        )
    return value


async def _search(
    request: Request,
    principal: Principal,
    users: ScimUsers,
    filter: str | None,
    start_index: int | None,
    count: int | None,
    params: Params | None = None,
) -> Response:
    """A page of users (RFC 7644 §3.4.2.4): a startIndex below 1 reads as 1, a
    negative count as 0 and a count above ``maxResults`` as ``maxResults``."""
    start = max(start_index or 1, 1)
    size = MAX_RESULTS if count is None else min(max(count, 0), MAX_RESULTS)
    total, rows = await users.search(principal, filter, start, size)
    base = _base(request)
    return ScimResponse(
        list_response([user_resource(r, base, params) for r in rows], total, start)
    )


async def _search_request(
    request: Request, principal: Principal, users: ScimUsers
) -> Response:
    """A SearchRequest body (RFC 7644 §3.4.3), read by scim2-models."""
    body = parse_json(await request.body())
    check_bounds(body, "ScimSearchRequestIn")
    if "schemas" not in body:  # identity providers often leave it out
        body["schemas"] = [SEARCH_REQUEST]
    try:
        search: SearchRequest[Any] = SearchRequest.model_validate(body)
    except ValidationError as exc:
        error = Error.from_validation_errors(exc)[0]
        raise ScimError(
            int(error.status or 400),
            error.scim_type or "invalidValue",
            error.detail or "invalid SearchRequest",
        ) from exc
    # sortBy/sortOrder are ignored: sort.supported is false (RFC 7644 §3.4.2.3).
    params = response_parameters(
        [str(a) for a in search.attributes or ()],
        [str(a) for a in search.excluded_attributes or ()],
    )
    query = None if search.filter is None else str(search.filter)
    return await _search(
        request,
        principal,
        users,
        query,
        _page_number(search.start_index),
        _page_number(search.count),
        params,
    )


@router.get(
    "/ServiceProviderConfig", **documented("ScimServiceProviderConfig", bare=True)
)
async def service_provider(request: Request, _: Provisioner) -> Response:
    """What this SCIM service supports (PATCH, filters, ETags; no bulk, no sort)."""
    return ScimResponse(service_provider_config(_base(request)))


@router.get("/ResourceTypes", **documented("ScimResourceTypeList", bare=True))
async def resource_types(request: Request, _: Provisioner) -> Response:
    """The resource types: User, with the enterprise and Tandem extensions."""
    return ScimResponse(list_response([resource_type(_base(request))], 1, 1))


@router.get("/ResourceTypes/{type_id}", **documented("ScimResourceType", 404))
async def one_resource_type(request: Request, type_id: Ref, _: Provisioner) -> Response:
    """One resource type."""
    if type_id != "User":
        raise ScimError(404, None, f"no resource type {type_id}")
    return ScimResponse(resource_type(_base(request)))


@router.get("/Schemas", **documented("ScimSchemaList", bare=True))
async def schemas(request: Request, _: Provisioner) -> Response:
    """The core User, enterprise and Tandem extension schemas as Tandem supports them."""
    documents = schema_documents(_base(request))
    return ScimResponse(list_response(documents, len(documents), 1))


@router.get("/Schemas/{schema_id}", **documented("ScimSchema", 404))
async def one_schema(request: Request, schema_id: Ref, _: Provisioner) -> Response:
    """One schema, by its URN (e.g. the Tandem extension's)."""
    for document in schema_documents(_base(request)):
        if str(document["id"]).lower() == schema_id.lower():
            return ScimResponse(document)
    raise ScimError(404, None, f"no schema {schema_id} (Tandem's is {TANDEM})")


@router.post("/.search", **documented("ScimUserList", body="ScimSearchRequestIn"))
async def search_root(
    request: Request, principal: Provisioner, users: UsersDep
) -> Response:
    """A SearchRequest over every resource type (RFC 7644 §3.4.3): Users only."""
    return await _search_request(request, principal, users)


@router.post(
    "/Users",
    status_code=201,
    **documented("ScimUser", 409, status=201, body="ScimUserIn", body_note=_IGNORED),
)
async def create_user(
    request: Request,
    principal: Provisioner,
    users: UsersDep,
    attributes: Attributes = None,
    excluded: Excluded = None,
) -> Response:
    """Provision a user (409 uniqueness when userName or employeeNumber is taken)."""
    params = response_parameters(attributes, excluded)
    body = parse_json(await request.body())
    check_bounds(body, "ScimUserIn")
    row = await users.create(principal, body)
    return _user(request, row, 201, params)


@router.get("/Users", **documented("ScimUserList"))
async def list_users(
    request: Request,
    principal: Provisioner,
    users: UsersDep,
    filter: Annotated[
        str | None, Query(max_length=MAX_FILTER, pattern=ONE_LINE)
    ] = None,
    start_index: Annotated[PageNumber | None, Query(alias="startIndex")] = None,
    count: PageNumber | None = None,
    attributes: Attributes = None,
    excluded: Excluded = None,
) -> Response:
    """Users of the token's tenant, filtered (RFC 7644 §3.4.2.2), 1-based pages,
    projected by ``attributes``/``excludedAttributes`` (§3.4.2.5)."""
    params = response_parameters(attributes, excluded)
    return await _search(request, principal, users, filter, start_index, count, params)


@router.post("/Users/.search", **documented("ScimUserList", body="ScimSearchRequestIn"))
async def search_users(
    request: Request, principal: Provisioner, users: UsersDep
) -> Response:
    """The same query as GET /Users, sent as a SearchRequest body (§3.4.3)."""
    return await _search_request(request, principal, users)


@router.get("/Users/{user_id}", **documented("ScimUser", 404, not_modified=True))
async def get_user(
    request: Request,
    user_id: Ref,
    principal: Provisioner,
    users: UsersDep,
    attributes: Attributes = None,
    excluded: Excluded = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """One user (404 for another tenant's, or a deprovisioned one); 304 when
    ``If-None-Match`` names its current ETag."""
    params = response_parameters(attributes, excluded)
    row = await users.get(principal, user_id)
    return _user(request, row, params=params, if_none_match=if_none_match)


@router.put(
    "/Users/{user_id}",
    **documented("ScimUser", 404, 409, 412, body="ScimUserIn", body_note=_IGNORED),
)
async def replace_user(
    request: Request,
    user_id: Ref,
    principal: Provisioner,
    users: UsersDep,
    if_match: IfMatch = None,
    attributes: Attributes = None,
    excluded: Excluded = None,
) -> Response:
    """Replace a user; Tandem's own attributes are kept when the IdP omits them."""
    params = response_parameters(attributes, excluded)
    body = parse_json(await request.body())
    check_bounds(body, "ScimUserIn")
    row = await users.replace(principal, user_id, body, if_match)
    return _user(request, row, params=params)


@router.patch(
    "/Users/{user_id}", **documented("ScimUser", 404, 409, 412, body="ScimPatchOpIn")
)
async def patch_user(
    request: Request,
    user_id: Ref,
    principal: Provisioner,
    users: UsersDep,
    if_match: IfMatch = None,
    attributes: Attributes = None,
    excluded: Excluded = None,
) -> Response:
    """Add, replace or remove attributes (PatchOp, RFC 7644 §3.5.2); active false
    deactivates."""
    params = response_parameters(attributes, excluded)
    body = parse_json(await request.body())
    check_bounds(body, "ScimPatchOpIn")
    row = await users.patch(principal, user_id, body, if_match)
    return _user(request, row, params=params)


@router.delete("/Users/{user_id}", status_code=204, **documented(None, 404, 409, 412))
async def delete_user(
    user_id: Ref, principal: Provisioner, users: UsersDep, if_match: IfMatch = None
) -> Response:
    """Deprovision: deactivate (reason deprovisioned) - not erasure, which is an
    admin's deliberate act on /people/{id}."""
    await users.deprovision(principal, user_id, if_match)
    return Response(status_code=204)

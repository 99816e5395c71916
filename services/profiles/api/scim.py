"""SCIM 2.0 provisioning (RFC 7643/7644) for identity providers and HR suites.

Thin routes over ``services.profiles.application.scim`` (mapping, defaults and deprovisioning are
documented there). Callers need the ``integration`` or ``admin`` role. Every error on
these routes - Tandem's typed errors included - is answered in SCIM's error format
(RFC 7644 §3.12) as ``application/scim+json``; the app-wide problem-details handlers
stay as they are for every other route.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import Field
from starlette.responses import JSONResponse

from chassis.auth.fastapi import require_roles
from chassis.auth.principal import Principal, Role
from chassis.errors import ServiceUnavailable, TandemError, Unauthenticated
from chassis.http.problems import error_for_exception
from chassis.inputs import INT32_MAX, INT32_MIN, ONE_LINE, Ref
from services.profiles.api.deps import UsersDep
from services.profiles.api.scim_discovery import (
    resource_type,
    schema_documents,
    service_provider_config,
)
from services.profiles.api.scim_documents import (
    error_document,
    list_response,
    parse_json,
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
_BODY = {
    "requestBody": {
        "required": True,
        "content": {SCIM_JSON: {"schema": {"type": "object"}}},
    }
}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + router.prefix


def _user(request: Request, row: Any, status_code: int = 200) -> Response:
    resource = user_resource(row, _base(request))
    headers = {"ETag": etag(row)}
    if status_code == 201:
        headers["Location"] = resource["meta"]["location"]
    return ScimResponse(resource, status_code=status_code, headers=headers)


async def _search(
    request: Request,
    principal: Principal,
    users: ScimUsers,
    filter: str | None,
    start_index: int | None,
    count: int | None,
) -> Response:
    start = max(start_index or 1, 1)
    size = MAX_RESULTS if count is None else min(max(count, 0), MAX_RESULTS)
    total, rows = await users.search(principal, filter, start, size)
    base = _base(request)
    return ScimResponse(
        list_response([user_resource(r, base) for r in rows], total, start)
    )


@router.get("/ServiceProviderConfig")
async def service_provider(request: Request, _: Provisioner) -> Response:
    """What this SCIM service supports (PATCH, filters, ETags; no bulk, no sort)."""
    return ScimResponse(service_provider_config(_base(request)))


@router.get("/ResourceTypes")
async def resource_types(request: Request, _: Provisioner) -> Response:
    """The resource types: User, with the enterprise and Tandem extensions."""
    return ScimResponse(list_response([resource_type(_base(request))], 1, 1))


@router.get("/ResourceTypes/{type_id}")
async def one_resource_type(request: Request, type_id: Ref, _: Provisioner) -> Response:
    """One resource type."""
    if type_id != "User":
        raise ScimError(404, None, f"no resource type {type_id}")
    return ScimResponse(resource_type(_base(request)))


@router.get("/Schemas")
async def schemas(request: Request, _: Provisioner) -> Response:
    """The core User, enterprise and Tandem extension schemas as Tandem supports them."""
    documents = schema_documents(_base(request))
    return ScimResponse(list_response(documents, len(documents), 1))


@router.get("/Schemas/{schema_id}")
async def one_schema(request: Request, schema_id: Ref, _: Provisioner) -> Response:
    """One schema, by its URN (e.g. the Tandem extension's)."""
    for document in schema_documents(_base(request)):
        if document["id"].lower() == schema_id.lower():
            return ScimResponse(document)
    raise ScimError(404, None, f"no schema {schema_id} (Tandem's is {TANDEM})")


@router.post("/Users", status_code=201, openapi_extra=_BODY)
async def create_user(
    request: Request, principal: Provisioner, users: UsersDep
) -> Response:
    """Provision a user (409 uniqueness when userName or employeeNumber is taken)."""
    row = await users.create(principal, parse_json(await request.body()))
    return _user(request, row, 201)


@router.get("/Users")
async def list_users(
    request: Request,
    principal: Provisioner,
    users: UsersDep,
    filter: Annotated[
        str | None, Query(max_length=MAX_FILTER, pattern=ONE_LINE)
    ] = None,
    start_index: Annotated[PageNumber | None, Query(alias="startIndex")] = None,
    count: PageNumber | None = None,
) -> Response:
    """Users of the token's tenant, filtered (RFC 7644 §3.4.2.2), 1-based pages."""
    return await _search(request, principal, users, filter, start_index, count)


@router.post("/Users/.search", openapi_extra=_BODY)
async def search_users(
    request: Request, principal: Provisioner, users: UsersDep
) -> Response:
    """The same query as GET /Users, sent as a SearchRequest body."""
    body = parse_json(await request.body())
    query, start, count = body.get("filter"), body.get("startIndex"), body.get("count")
    if not all(
        v is None
        or (
            isinstance(v, int)
            and not isinstance(v, bool)
            and INT32_MIN <= v <= INT32_MAX
        )
        for v in (start, count)
    ):
        raise ScimError(
            400, "invalidValue", f"startIndex and count are integers up to {INT32_MAX}"
        )
    if not (query is None or isinstance(query, str)):
        raise ScimError(400, "invalidFilter", "filter is a string")
    return await _search(request, principal, users, query, start, count)


@router.get("/Users/{user_id}")
async def get_user(
    request: Request, user_id: Ref, principal: Provisioner, users: UsersDep
) -> Response:
    """One user (404 for another tenant's, or a deprovisioned one)."""
    return _user(request, await users.get(principal, user_id))


@router.put("/Users/{user_id}", openapi_extra=_BODY)
async def replace_user(
    request: Request,
    user_id: Ref,
    principal: Provisioner,
    users: UsersDep,
    if_match: IfMatch = None,
) -> Response:
    """Replace a user; Tandem's own attributes are kept when the IdP omits them."""
    body = parse_json(await request.body())
    return _user(request, await users.replace(principal, user_id, body, if_match))


@router.patch("/Users/{user_id}", openapi_extra=_BODY)
async def patch_user(
    request: Request,
    user_id: Ref,
    principal: Provisioner,
    users: UsersDep,
    if_match: IfMatch = None,
) -> Response:
    """Add, replace or remove attributes (PatchOp); active false deactivates."""
    body = parse_json(await request.body())
    return _user(request, await users.patch(principal, user_id, body, if_match))


@router.delete("/Users/{user_id}", status_code=204)
async def delete_user(
    user_id: Ref, principal: Provisioner, users: UsersDep, if_match: IfMatch = None
) -> Response:
    """Deprovision: deactivate (reason deprovisioned) - not erasure, which is an
    admin's deliberate act on /people/{id}."""
    await users.deprovision(principal, user_id, if_match)
    return Response(status_code=204)

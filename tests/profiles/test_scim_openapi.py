"""The SCIM routes in the OpenAPI document: every answer they give, errors included,
is documented with the schema it matches (RFC 7644 §3.12 errors, not problems)."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest
import referencing
import referencing.jsonschema

from services.profiles.application.scim import ERROR, PATCH_OP
from tests.profiles.conftest import INTEGRATION, token
from tests.profiles.test_scim import SCIM_JSON, USERS, assert_scim_error, scim, user

USER = "/scim/v2/Users/{user_id}"


def check(
    document: dict[str, Any], method: str, template: str, resp: httpx.Response
) -> None:
    """``resp`` is documented for its operation, status and media type, and its body
    matches the schema documented there."""
    where = f"{method} {template} -> {resp.status_code}"
    operation = document["paths"][template][method.lower()]
    documented = operation["responses"].get(str(resp.status_code))
    assert documented is not None, f"{where} is not documented"
    if not resp.content:
        assert not documented.get("content"), f"{where}: a body is documented"
        return
    media = resp.headers["content-type"].split(";")[0]
    assert media == SCIM_JSON, where
    schema = documented["content"][media]["schema"]
    registry = referencing.Registry().with_resource(
        "urn:openapi",
        referencing.Resource.from_contents(
            document, default_specification=referencing.jsonschema.DRAFT202012
        ),
    )
    ref = {"$ref": "urn:openapi" + schema["$ref"]}
    validator = jsonschema.Draft202012Validator(
        ref,
        registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    errors = [e.message for e in validator.iter_errors(resp.json())]
    assert not errors, f"{where}: {errors[:3]}"


async def test_every_scim_answer_is_documented_with_its_schema(app, client):
    document = app.openapi()
    no_role = token("acme", "mentee", sub="someone")

    async def call(
        method: str, template: str, url: str, *args: Any, **params: Any
    ) -> httpx.Response:
        resp = await scim(client, method, url, *args, **params)
        check(document, method, template, resp)
        return resp

    for path in ("ServiceProviderConfig", "ResourceTypes", "Schemas"):
        await call("GET", f"/scim/v2/{path}", f"/scim/v2/{path}")
    await call("GET", "/scim/v2/ResourceTypes/{type_id}", "/scim/v2/ResourceTypes/User")
    await call(
        "GET", "/scim/v2/ResourceTypes/{type_id}", "/scim/v2/ResourceTypes/Group"
    )
    schemas = "/scim/v2/Schemas/{schema_id}"
    await call("GET", schemas, f"/scim/v2/Schemas/{ERROR}")
    await call(
        "GET", schemas, "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"
    )

    created = await call("POST", USERS, USERS, user(1))
    assert created.status_code == 201
    await call("POST", USERS, USERS, user(1))  # 409 uniqueness
    await call("POST", USERS, USERS, {"userName": "x"})  # 400
    uid, version = created.json()["id"], created.headers["ETag"]
    url = f"{USERS}/{uid}"
    await call("GET", USER, url)
    await call("GET", USER, url, attributes="userName")
    cached = await call(
        "GET", USER, url, headers={**INTEGRATION, "If-None-Match": version}
    )
    assert cached.status_code == 304
    await call("GET", USER, f"{USERS}/nobody")
    await call("GET", USERS, USERS)
    await call("GET", USERS, USERS, filter='userName eq "grace1@acme.example"')
    await call("GET", USERS, USERS, filter="userName zz 1")  # 400 invalidFilter
    search = {"filter": 'userName sw "grace"', "count": 5}
    await call("POST", "/scim/v2/Users/.search", "/scim/v2/Users/.search", search)
    await call("POST", "/scim/v2/.search", "/scim/v2/.search", search)

    change = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "title", "value": "VP"}],
    }
    patched = await call("PATCH", USER, url, change)
    assert patched.status_code == 200
    stale = {**INTEGRATION, "If-Match": version}
    assert (await call("PUT", USER, url, user(1), stale)).status_code == 412
    assert (await call("PUT", USER, url, user(1))).status_code == 200
    await call("GET", USERS, USERS, headers={"Accept": SCIM_JSON})  # 401
    await call("GET", USERS, USERS, headers=no_role)  # 403
    assert (await call("DELETE", USER, url)).status_code == 204
    await call("DELETE", USER, url)  # 404 once deprovisioned


def test_scim_errors_are_documented_as_scim_errors(app):
    """Under /scim/v2 no route documents a problem or a 422 (SCIM answers 400):
    every error is ``application/scim+json`` with the scim2-models Error schema;
    bodies are read as ``application/scim+json`` and ``application/json``."""
    document = app.openapi()
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        if path.startswith("/scim/v2")
        for method, op in item.items()
    ]
    assert len(operations) == 13
    error = {SCIM_JSON: {"schema": {"$ref": "#/components/schemas/ScimError"}}}
    for path, method, op in operations:
        responses = op["responses"]
        assert "422" not in responses, (method, path)
        assert {"401", "403", "429", "503"} <= set(responses), (method, path)
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"] == error, (method, path, status)
        if "{" in path:
            assert "404" in responses, (method, path)
        if "requestBody" in op:
            assert set(op["requestBody"]["content"]) == {SCIM_JSON, "application/json"}
            assert "413" in responses and "400" in responses, (method, path)
        if method in ("put", "patch", "delete"):
            assert {"409", "412"} <= set(responses), (method, path)
    assert "304" in document["paths"][USER]["get"]["responses"]
    assert document["components"]["schemas"]["ScimError"]["properties"]["status"][
        "anyOf"
    ][0] == {"type": "string"}  # RFC 7644 §3.12: the status as a JSON string


async def test_bodies_past_their_documented_bounds_are_refused(client):
    """The bounds the document shows for a body are the ones enforced: a value past
    them is 400 invalidValue (a SCIM error) and nothing is provisioned."""
    long_title = await scim(client, "POST", USERS, user(1, title="x" * 2001))
    assert_scim_error(long_title, 400, "invalidValue")
    assert "title" in long_title.json()["detail"]
    control = await scim(client, "POST", USERS, user(1, displayName="a\x01b"))
    assert_scim_error(control, 400, "invalidValue")
    many = await scim(client, "POST", USERS, user(1, emails=[{"value": "a"}] * 501))
    assert_scim_error(many, 400, "invalidValue")
    listed = (await scim(client, "GET", USERS)).json()
    assert listed["totalResults"] == 0

    for search in (
        {"startIndex": 2**31},
        {"count": -(2**63)},
        {"attributes": ["userName"] * 501},
        {"sortBy": "x" * 2001},
    ):
        resp = await scim(client, "POST", "/scim/v2/Users/.search", search)
        assert_scim_error(resp, 400, "invalidValue")

    created = (await scim(client, "POST", USERS, user(1))).json()
    value = {"op": "replace", "path": "title", "value": "x" * 2001}
    patch = {"schemas": [PATCH_OP], "Operations": [value]}
    resp = await scim(client, "PATCH", f"{USERS}/{created['id']}", patch)
    assert_scim_error(resp, 400, "invalidValue")
    got = (await scim(client, "GET", f"{USERS}/{created['id']}")).json()
    assert got["title"] == "Head of Engineering"


@pytest.mark.unit
def test_the_flattened_record_has_one_key_per_filterable_attribute() -> None:
    """``mapping.write`` finds a record's key by an attribute's name at run time:
    the record type and the attribute table must name the same keys."""
    from services.profiles.application.scim.mapping import FIELDS, UserRecord

    assert set(UserRecord.__annotations__) == set(FIELDS)

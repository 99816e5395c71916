"""SCIM 2.0 provisioning over HTTP on real PostgreSQL and Kafka."""

from __future__ import annotations

import json
from typing import Any

import httpx

from chassis.service import mounted
from services.profiles.application import Profiles
from services.profiles.application.scim import CORE, ENTERPRISE, ERROR, PATCH_OP, TANDEM
from tests.profiles.conftest import ADMIN, INTEGRATION, OTHER_TENANT, person, token

SCIM_JSON = "application/scim+json"
USERS = "/scim/v2/Users"


async def scim(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    """A SCIM request as an identity provider sends it (application/scim+json)."""
    sent = {**(headers or INTEGRATION), "Accept": SCIM_JSON}
    if body is not None:
        sent["Content-Type"] = SCIM_JSON
    return await client.request(
        method,
        url,
        content=None if body is None else json.dumps(body),
        headers=sent,
        params=params or None,
    )


def user(n: int = 1, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [CORE, ENTERPRISE, TANDEM],
        "externalId": f"okta-{n}",
        "userName": f"grace{n}@acme.example",
        "name": {"givenName": f"Grace{n}", "familyName": "Hopper"},
        "emails": [
            {"value": f"grace{n}@acme.example", "type": "work", "primary": True}
        ],
        "title": "Head of Engineering",
        "active": True,
        "timezone": "America/New_York",
        "addresses": [{"type": "work", "country": "US", "primary": True}],
        ENTERPRISE: {"employeeNumber": f"S{n:05d}", "department": "Technology"},
        TANDEM: {"level": 7, "function": "Engineering", "roles": ["mentee"]},
    }
    body.update(overrides)
    return body


def assert_scim_error(resp: httpx.Response, status: int, scim_type: str | None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(SCIM_JSON)
    body = resp.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert body["detail"]
    return body


async def create(client: httpx.AsyncClient, n: int = 1, **overrides: Any) -> dict:
    resp = await scim(client, "POST", USERS, user(n, **overrides))
    assert resp.status_code == 201, resp.text
    return resp.json()


async def outcomes(app, person_id: str) -> list[dict[str, Any]]:
    events = (
        await mounted(app).provide(Profiles).store.read_stream(person_id, tenant="acme")
    )
    return [e.data for e in events if e.event_type == "CareerOutcomeRecorded"]


async def test_full_round_trip(client, app):
    created = await scim(client, "POST", USERS, user(1))
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith(SCIM_JSON)
    body = created.json()
    uid = body["id"]
    assert created.headers["Location"].endswith(f"/scim/v2/Users/{uid}")
    assert created.headers["ETag"] == body["meta"]["version"]
    assert body["userName"] == "grace1@acme.example"
    assert body["externalId"] == "okta-1" and body["active"] is True
    assert body[ENTERPRISE]["department"] == "Technology"
    assert body[TANDEM]["geography"] == "US"  # from addresses[0].country

    got = await scim(client, "GET", f"{USERS}/{uid}")
    assert got.status_code == 200 and got.json()["name"]["givenName"] == "Grace1"

    found = await scim(client, "GET", USERS, filter='userName eq "GRACE1@acme.example"')
    listing = found.json()
    assert listing["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert listing["totalResults"] == 1 and listing["Resources"][0]["id"] == uid

    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "path": "title", "value": "CTO"},
            {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Platform"},
        ],
    }
    patched = await scim(client, "PATCH", f"{USERS}/{uid}", patch)
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "CTO"
    assert patched.json()[ENTERPRISE]["department"] == "Platform"
    assert patched.headers["ETag"] != created.headers["ETag"]
    [outcome] = await outcomes(app, uid)
    assert outcome["source"] == "scim" and outcome["kind"] == "role_change"

    # PUT replaces what the IdP owns; Tandem's level survives an IdP that omits it.
    replacement = user(1, title="Chief Technology Officer")
    del replacement[TANDEM]
    replacement[ENTERPRISE] = {"department": "Platform"}
    put = await scim(client, "PUT", f"{USERS}/{uid}", replacement)
    assert put.status_code == 200, put.text
    assert put.json()["title"] == "Chief Technology Officer"
    assert "employeeNumber" not in put.json()[ENTERPRISE]
    assert put.json()[TANDEM]["level"] == 7

    off = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]}  # fmt: skip
    deactivated = await scim(client, "PATCH", f"{USERS}/{uid}", off)
    assert deactivated.json()["active"] is False
    person = await client.get(f"/people/{uid}", headers=ADMIN)
    assert person.json()["status"] == "inactive"

    deleted = await scim(client, "DELETE", f"{USERS}/{uid}")
    assert deleted.status_code == 204
    assert_scim_error(await scim(client, "GET", f"{USERS}/{uid}"), 404, None)
    # Deprovisioned, not erased: the person and their history are still there.
    assert (await client.get(f"/people/{uid}", headers=ADMIN)).json()["erased"] is False
    listing = (await scim(client, "GET", USERS)).json()
    assert listing["totalResults"] == 0


async def test_pagination_is_one_based_with_totals(client):
    ids = [(await create(client, n))["id"] for n in range(1, 6)]
    first = (await scim(client, "GET", USERS, startIndex=1, count=2)).json()
    assert first["totalResults"] == 5 and first["itemsPerPage"] == 2
    assert first["startIndex"] == 1
    seen = [r["id"] for r in first["Resources"]]
    for start in (3, 5):
        page = (await scim(client, "GET", USERS, startIndex=start, count=2)).json()
        assert page["startIndex"] == start and page["totalResults"] == 5
        seen += [r["id"] for r in page["Resources"]]
    assert sorted(seen) == sorted(ids)  # every user once, none twice
    only_total = (await scim(client, "GET", USERS, count=0)).json()
    assert only_total["totalResults"] == 5 and only_total["Resources"] == []
    searched = await scim(
        client,
        "POST",
        f"{USERS}/.search",
        {"filter": "active eq true", "startIndex": 5, "count": 10},
    )
    assert [r["id"] for r in searched.json()["Resources"]] == seen[4:]


async def test_filters_combine_with_and(client):
    await create(client, 1)
    second = await create(client, 2, externalId="entra-2")
    third = await create(client, 3, **{ENTERPRISE: {"department": "Sales"}})
    # Someone registered outside SCIM (HRIS import, coordinator) is a User too.
    hris = await client.post("/people", json=person(9), headers=ADMIN)
    ada = hris.json()["person_id"]
    cases = {
        'userName eq "ADA9@acme.example"': {ada},
        'not (externalId pr) or externalId eq "entra-2"': {ada, second["id"]},
        'externalId eq "entra-2"': {second["id"]},
        'emails.value eq "grace2@acme.example"': {second["id"]},
        f'{ENTERPRISE}:employeeNumber eq "S00002"': {second["id"]},
        'employeeNumber eq "S00002" and active eq true': {second["id"]},
        f'active eq true and {ENTERPRISE}:department eq "sales"': {third["id"]},
        'userName sw "grace" and not (title pr)': set(),
        'title co "ENGINEERING" and name.givenName ew "3"': {third["id"]},
        f"{TANDEM}:level ge 7 and active eq false": set(),
    }
    for query, expected in cases.items():
        resp = await scim(client, "GET", USERS, filter=query)
        assert resp.status_code == 200, (query, resp.text)
        assert {r["id"] for r in resp.json()["Resources"]} == expected, query


async def test_uniqueness_conflicts_are_409(client):
    await create(client, 1)
    same_name = await scim(
        client, "POST", USERS, user(2, userName="Grace1@ACME.example")
    )
    assert_scim_error(same_name, 409, "uniqueness")
    same_number = user(3)
    same_number[ENTERPRISE] = {"employeeNumber": "S00001", "department": "Technology"}
    assert_scim_error(await scim(client, "POST", USERS, same_number), 409, "uniqueness")
    assert (await scim(client, "GET", USERS)).json()["totalResults"] == 1


async def test_bad_filter_is_invalid_filter(client):
    for query in ("userName eq", 'nickname eq "x"', 'userName zz "x"', "(userName pr"):
        resp = await scim(client, "GET", USERS, filter=query)
        assert_scim_error(resp, 400, "invalidFilter")


async def test_missing_level_is_invalid_value_and_creates_nothing(client):
    body = user(1)
    body[TANDEM] = {"function": "Engineering"}
    resp = await scim(client, "POST", USERS, body)
    error = assert_scim_error(resp, 400, "invalidValue")
    assert f"{TANDEM}:level" in error["detail"]
    bad_zone = await scim(client, "POST", USERS, user(2, timezone="Mars/Olympus"))
    assert "timezone" in assert_scim_error(bad_zone, 400, "invalidValue")["detail"]
    assert (await scim(client, "GET", USERS)).json()["totalResults"] == 0
    listed = await client.get("/people", headers=ADMIN)
    assert listed.json()["items"] == []


async def test_only_integrations_and_admins_provision(client):
    mentee = token("acme", "mentee", sub="someone")
    assert_scim_error(await scim(client, "POST", USERS, user(1), mentee), 403, None)
    assert_scim_error(await scim(client, "GET", USERS, headers=mentee), 403, None)
    anonymous = await client.get(USERS)
    assert_scim_error(anonymous, 401, None)
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    by_admin = await scim(client, "POST", USERS, user(1), ADMIN)
    assert by_admin.status_code == 201


async def test_another_tenant_cannot_see_the_user(client):
    uid = (await create(client, 1))["id"]
    assert_scim_error(await scim(client, "GET", f"{USERS}/{uid}", headers=OTHER_TENANT), 404, None)  # fmt: skip
    change = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}  # fmt: skip
    assert_scim_error(await scim(client, "PATCH", f"{USERS}/{uid}", change, OTHER_TENANT), 404, None)  # fmt: skip
    listing = (await scim(client, "GET", USERS, headers=OTHER_TENANT)).json()
    assert listing["totalResults"] == 0
    assert (await scim(client, "GET", f"{USERS}/{uid}")).json()["title"] != "x"


async def test_entra_style_patch_and_level_change(client, app):
    manager = await create(client, 1)
    report = await create(client, 2)
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "Replace",
                "value": {
                    "name.givenName": "Amazing Grace",
                    f"{ENTERPRISE}:department": "Research",
                    "displayName": "ignored: Tandem derives it",
                },
            },
            {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": manager["id"]},
            {"op": "Add", "path": f"{TANDEM}:roles", "value": ["mentor"]},
            {"op": "Replace", "path": f"{TANDEM}:level", "value": "8"},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "x@y.z"},
        ],
    }
    resp = await scim(client, "PATCH", f"{USERS}/{report['id']}", patch)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["name"]["givenName"] == "Amazing Grace"
    assert body[ENTERPRISE]["manager"]["value"] == manager["id"]
    assert body[TANDEM]["roles"] == ["mentee", "mentor"] and body[TANDEM]["level"] == 8
    assert body["userName"] == "grace2@acme.example"
    [promotion] = await outcomes(app, report["id"])
    assert promotion["kind"] == "promotion" and promotion["source"] == "scim"

    suspend = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "value": {"active": "False"}}]}  # fmt: skip
    assert (await scim(client, "PATCH", f"{USERS}/{report['id']}", suspend)).json()["active"] is False  # fmt: skip
    read_only = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "id", "value": "x"}]}  # fmt: skip
    resp = await scim(client, "PATCH", f"{USERS}/{report['id']}", read_only)
    assert_scim_error(resp, 400, "mutability")
    unknown = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "shoeSize"}]}  # fmt: skip
    resp = await scim(client, "PATCH", f"{USERS}/{report['id']}", unknown)
    assert_scim_error(resp, 400, "invalidPath")


async def test_stale_etag_is_refused_and_deprovisioned_user_can_return(client, app):
    created = await create(client, 1)
    uid = created["id"]
    stale = created["meta"]["version"]
    change = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "VP"}]}  # fmt: skip
    assert (await scim(client, "PATCH", f"{USERS}/{uid}", change)).status_code == 200
    again = await scim(
        client, "PATCH", f"{USERS}/{uid}", change, {**INTEGRATION, "If-Match": stale}
    )
    assert_scim_error(again, 412, None)
    assert (await scim(client, "DELETE", f"{USERS}/{uid}")).status_code == 204
    assert_scim_error(await scim(client, "DELETE", f"{USERS}/{uid}"), 404, None)
    events = await mounted(app).provide(Profiles).store.read_stream(uid, tenant="acme")
    [gone] = [e.data for e in events if e.event_type == "PersonDeactivated"]
    assert gone["reason"] == "deprovisioned"
    back = await scim(client, "POST", USERS, user(1))
    assert back.status_code == 201, back.text
    assert back.json()["id"] == uid and back.json()["active"] is True


async def test_discovery_documents(client):
    config = await scim(client, "GET", "/scim/v2/ServiceProviderConfig")
    assert config.headers["content-type"].startswith(SCIM_JSON)
    doc = config.json()
    assert doc["schemas"] == [
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    ]
    assert doc["patch"]["supported"] and doc["filter"]["supported"]
    assert doc["bulk"]["supported"] is False and doc["etag"]["supported"]
    assert doc["authenticationSchemes"][0]["type"] == "oauthbearertoken"

    types = (await scim(client, "GET", "/scim/v2/ResourceTypes")).json()
    [user_type] = types["Resources"]
    assert user_type["endpoint"] == "/Users" and user_type["schema"] == CORE
    assert {e["schema"] for e in user_type["schemaExtensions"]} == {ENTERPRISE, TANDEM}

    schemas = (await scim(client, "GET", "/scim/v2/Schemas")).json()
    assert schemas["totalResults"] == 3
    assert {s["id"] for s in schemas["Resources"]} == {CORE, ENTERPRISE, TANDEM}
    tandem = (await scim(client, "GET", f"/scim/v2/Schemas/{TANDEM}")).json()
    attributes = {a["name"]: a for a in tandem["attributes"]}
    assert attributes["level"]["required"] and attributes["level"]["type"] == "integer"
    assert {"function", "geography", "roles"} <= set(attributes)
    for schema in schemas["Resources"]:
        for attribute in schema["attributes"]:
            assert {"name", "type", "multiValued", "mutability"} <= set(attribute)
    missing = await scim(client, "GET", "/scim/v2/Schemas/urn:nope")
    assert_scim_error(missing, 404, None)

"""SCIM 2.0 conformance, each test written from the text of RFC 7644 (and RFC 7643
where it defines what the protocol carries), on real PostgreSQL and Kafka."""

from __future__ import annotations

import re
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from services.profiles.api import scim as scim_api
from services.profiles.api import scim_discovery
from services.profiles.application.scim import (
    CORE,
    ENTERPRISE,
    LIST_RESPONSE,
    PATCH_OP,
    TANDEM,
)
from tests.profiles.conftest import INTEGRATION
from tests.profiles.test_scim import (
    SCIM_JSON,
    USERS,
    assert_scim_error,
    create,
    scim,
    user,
)

RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


async def schemas_by_id(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    listing = (await scim(client, "GET", "/scim/v2/Schemas")).json()
    return {s["id"]: s for s in listing["Resources"]}


def attributes_of(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in schema["attributes"]}


# -- §3.4.2.5 attributes and excludedAttributes --------------------------------------


async def test_attributes_select_what_is_returned(client):
    """RFC 7644 §3.4.2.5: ``attributes`` overrides the default set, and the
    attributes with ``returned: always`` (``id``, ``schemas``, §3.9 and RFC 7643
    §3.1; ``meta`` kept here too) are returned whatever the client asks."""
    uid = (await create(client, 1))["id"]
    got = await scim(
        client,
        "GET",
        f"{USERS}/{uid}",
        attributes=f"userName,name.givenName,{TANDEM}:level",
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert set(body) == {"schemas", "id", "meta", "userName", "name", TANDEM}
    assert body["name"] == {"givenName": "Grace1"}
    assert body[TANDEM] == {"level": 7}
    assert body["meta"]["location"].endswith(f"/Users/{uid}")

    listed = await scim(client, "GET", USERS, attributes="userName")
    [resource] = listed.json()["Resources"]
    assert set(resource) == {"schemas", "id", "meta", "userName"}


async def test_excluded_attributes_are_left_out(client):
    """RFC 7644 §3.4.2.5: ``excludedAttributes`` removes attributes from the default
    set; ``id``, ``schemas`` and ``meta`` stay."""
    uid = (await create(client, 1))["id"]
    excluded = f"emails,name.givenName,{ENTERPRISE}:department,id,meta"
    body = (
        await scim(client, "GET", f"{USERS}/{uid}", excludedAttributes=excluded)
    ).json()
    assert "emails" not in body and "givenName" not in body["name"]
    assert "department" not in body[ENTERPRISE]
    assert body["id"] == uid and body["meta"]["version"] and body["schemas"]
    assert body["userName"] == "grace1@acme.example" and body[TANDEM]["level"] == 7


async def test_attributes_in_a_search_request_and_on_writes(client):
    """RFC 7644 §3.4.3 (a SearchRequest's ``attributes``) and §3.9 (``attributes``
    on POST, PUT and PATCH responses)."""
    await create(client, 1)
    searched = await scim(
        client,
        "POST",
        f"{USERS}/.search",
        {"attributes": ["userName"], "filter": 'userName sw "grace"'},
    )
    [resource] = searched.json()["Resources"]
    assert set(resource) == {"schemas", "id", "meta", "userName"}
    created = await client.post(
        USERS,
        params={"attributes": "userName"},
        json=user(2),
        headers={**INTEGRATION, "Content-Type": SCIM_JSON},
    )
    assert created.status_code == 201
    assert set(created.json()) == {"schemas", "id", "meta", "userName"}
    both = await scim(
        client, "GET", USERS, attributes="userName", excludedAttributes="title"
    )
    assert_scim_error(both, 400, "invalidValue")


# -- §3.4.3 POST .search at the root --------------------------------------------------


async def test_search_at_the_root(client):
    """RFC 7644 §3.4.3: "POST ... /.search" at the root searches every resource
    type the server has (Users here), answering a ListResponse."""
    uid = (await create(client, 1))["id"]
    await create(client, 2)
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName eq "grace1@acme.example"',
        "startIndex": 1,
        "count": 10,
    }
    resp = await scim(client, "POST", "/scim/v2/.search", body)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith(SCIM_JSON)
    listing = resp.json()
    assert listing["schemas"] == [LIST_RESPONSE] and listing["totalResults"] == 1
    assert listing["Resources"][0]["id"] == uid
    bad = await scim(client, "POST", "/scim/v2/.search", {"count": "many"})
    assert_scim_error(bad, 400, "invalidValue")
    bad_filter = await scim(client, "POST", "/scim/v2/.search", {"filter": "x eq"})
    assert_scim_error(bad_filter, 400, "invalidFilter")


# -- §3.12 errors ---------------------------------------------------------------------


async def test_every_error_under_scim_is_a_scim_error(client):
    """RFC 7644 §3.12: "the service provider SHALL return ... a JSON body using the
    Error schema" - for an unknown path, an unknown method, a body that is not JSON
    (``invalidSyntax``) and a value the server refuses (``invalidValue``)."""
    assert_scim_error(await scim(client, "GET", "/scim/v2/Groups"), 404, None)
    assert_scim_error(await scim(client, "GET", "/scim/v2"), 404, None)
    assert_scim_error(await scim(client, "GET", "/scim/v2/Users/a/b"), 404, None)
    wrong_method = await scim(client, "DELETE", "/scim/v2/Schemas")
    assert_scim_error(wrong_method, 405, None)
    assert "GET" in wrong_method.headers["Allow"]
    not_json = await client.post(
        USERS, content=b"{nope", headers={**INTEGRATION, "Content-Type": SCIM_JSON}
    )
    assert_scim_error(not_json, 400, "invalidSyntax")
    too_big = await scim(client, "GET", USERS, count=2**40)
    assert_scim_error(too_big, 400, "invalidValue")
    assert_scim_error(
        await scim(client, "POST", USERS, user(1, userName="not-an-email")),
        400,
        "invalidValue",
    )


# -- RFC 7643 §7 / RFC 7644 §4: the schemas say what is enforced and returned --------


async def test_schemas_advertise_the_rules_enforced(client):
    """RFC 7644 §4 (``/Schemas``) with RFC 7643 §7: the schema describes each
    attribute's rules; every rule advertised is enforced (a violating value is
    refused with ``invalidValue``, §3.12) and nothing is created."""
    documents = await schemas_by_id(client)
    core, tandem = attributes_of(documents[CORE]), attributes_of(documents[TANDEM])
    enterprise = attributes_of(documents[ENTERPRISE])
    assert "e-mail" in core["userName"]["description"]
    assert core["userName"]["required"] and core["userName"]["uniqueness"] == "server"
    assert "1 to 12" in tandem["level"]["description"]
    assert tandem["level"]["type"] == "integer" and tandem["level"]["required"]
    assert {"GB", "US", "FR"} <= set(tandem["geography"]["canonicalValues"])
    assert "ZZ" not in tandem["geography"]["canonicalValues"]
    assert "YYYY-MM-DD" in tandem["hireDate"]["description"]
    assert set(tandem["roles"]["canonicalValues"]) >= {"mentee", "mentor"}
    address = {a["name"]: a for a in core["addresses"]["subAttributes"]}
    assert {"country", "type", "primary"} <= set(address)
    assert enterprise["department"]["required"]
    assert core["emails"]["mutability"] == "readOnly"

    violations = {
        "userName": user(1, userName="grace"),
        "level 13": user(2, **{TANDEM: {**user()[TANDEM], "level": 13}}),
        "level 0": user(3, **{TANDEM: {**user()[TANDEM], "level": 0}}),
        "geography": user(4, **{TANDEM: {**user()[TANDEM], "geography": "ZZ"}}),
        "hireDate format": user(
            5, **{TANDEM: {**user()[TANDEM], "hireDate": "01/02/2020"}}
        ),
        "hireDate future": user(
            6, **{TANDEM: {**user()[TANDEM], "hireDate": "2999-01-01"}}
        ),
        "roles": user(7, **{TANDEM: {**user()[TANDEM], "roles": ["wizard"]}}),
        "department": user(8, **{ENTERPRISE: {"employeeNumber": "X"}}),
        "givenName": user(9, name={"familyName": "Hopper"}),
        "timezone": user(10, timezone="Mars/Olympus"),
    }
    for rule, body in violations.items():
        resp = await scim(client, "POST", USERS, body)
        assert resp.status_code == 400, (rule, resp.text)
        assert_scim_error(resp, 400, "invalidValue")
    assert (await scim(client, "GET", USERS)).json()["totalResults"] == 0


async def test_every_attribute_returned_is_advertised(client):
    """RFC 7643 §7: a schema lists the attributes of a resource; every attribute a
    User response carries (sub-attributes included) is in /Schemas, apart from the
    common attributes of RFC 7643 §3.1 (``schemas``, ``id``, ``externalId``,
    ``meta``). RFC 7644 §4: ``/ResourceTypes`` names each schema."""
    manager = await create(client, 1)
    body = user(2)
    body[ENTERPRISE] = {**body[ENTERPRISE], "manager": {"value": manager["id"]}}
    body[TANDEM] = {**body[TANDEM], "hireDate": "2019-05-01", "languages": ["en"]}
    created = await scim(client, "POST", USERS, body)
    resource = created.json()
    documents = await schemas_by_id(client)
    types = (await scim(client, "GET", "/scim/v2/ResourceTypes")).json()
    [user_type] = types["Resources"]
    assert set(resource["schemas"]) <= {user_type["schema"]} | {
        e["schema"] for e in user_type["schemaExtensions"]
    }

    def check(values: dict[str, Any], advertised: list[dict[str, Any]], at: str):
        names = {a["name"].lower(): a for a in advertised}
        for key, value in values.items():
            assert key.lower() in names, f"{at}{key} is returned but not advertised"
            attribute = names[key.lower()]
            items = value if isinstance(value, list) else [value]
            assert attribute["multiValued"] == isinstance(value, list), at + key
            for item in items:
                if attribute["type"] == "complex":
                    check(item, attribute["subAttributes"], f"{at}{key}.")
                if attribute.get("canonicalValues"):
                    assert item in attribute["canonicalValues"], at + key

    common = {"schemas", "id", "externalId", "meta"}
    core = {k: v for k, v in resource.items() if k not in common | {ENTERPRISE, TANDEM}}
    check(core, documents[CORE]["attributes"], "")
    check(resource[ENTERPRISE], documents[ENTERPRISE]["attributes"], "enterprise:")
    check(resource[TANDEM], documents[TANDEM]["attributes"], "tandem:")
    assert resource[ENTERPRISE]["manager"]["$ref"].endswith(f"/Users/{manager['id']}")


# -- §3.5.2 PATCH ---------------------------------------------------------------------


async def test_patch_add_replace_and_value_filters(client):
    """RFC 7644 §3.5.2.1 (add: a multi-valued attribute's values are added) and
    §3.5.2.3 (replace, with a ``valuePath`` filter such as
    ``addresses[type eq "work"].country``); ``emails`` is readOnly here (RFC 7643
    §7, mutability) and a change to it is ignored."""
    uid = (await create(client, 1))["id"]
    patch = ops(
        {"op": "add", "path": f"{TANDEM}:roles", "value": ["mentor"]},
        {"op": "replace", "path": 'addresses[type eq "work"].country', "value": "fr"},
        {"op": "add", "path": "title", "value": "CTO"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "x@y.zz"},
    )
    resp = await scim(client, "PATCH", f"{USERS}/{uid}", patch)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body[TANDEM]["roles"] == ["mentee", "mentor"]
    assert body[TANDEM]["geography"] == "FR"
    assert body["addresses"] == [{"country": "FR", "type": "work", "primary": True}]
    assert (
        body["title"] == "CTO" and body["emails"][0]["value"] == "grace1@acme.example"
    )
    removed = ops({"op": "remove", "path": f'{TANDEM}:roles[value eq "mentee"]'})
    body = (await scim(client, "PATCH", f"{USERS}/{uid}", removed)).json()
    assert body[TANDEM]["roles"] == ["mentor"]


async def test_patch_remove_unassigns_non_required_attributes(client):
    """RFC 7644 §3.5.2.2: "If the target location is a single-value attribute, the
    attribute and its associated value is removed, and the attribute SHALL be
    considered unassigned." Unassigned ``active`` reads as true and ``timezone`` as
    UTC (their documented defaults); ``title`` and the manager are gone."""
    manager = (await create(client, 1))["id"]
    uid = (await create(client, 2))["id"]
    setup = ops(
        {"op": "replace", "path": "active", "value": False},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": manager},
    )
    before = (await scim(client, "PATCH", f"{USERS}/{uid}", setup)).json()
    assert before["active"] is False and before["timezone"] == "America/New_York"
    remove = ops(
        {"op": "remove", "path": "active"},
        {"op": "remove", "path": "timezone"},
        {"op": "remove", "path": "title"},
        {"op": "remove", "path": f"{ENTERPRISE}:manager"},
    )
    resp = await scim(client, "PATCH", f"{USERS}/{uid}", remove)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["active"] is True and body["timezone"] == "UTC"
    assert "title" not in body and "manager" not in body[ENTERPRISE]
    stored = (await scim(client, "GET", f"{USERS}/{uid}")).json()
    assert stored["timezone"] == "UTC" and stored["active"] is True


async def test_patch_remove_of_a_required_attribute_is_refused(client):
    """RFC 7644 §3.5.2: "An operation that is not compatible with an attribute's
    mutability or schema SHALL return ... a JSON detail error response"; RFC 7643
    §2.2 required attributes: removing one is ``mutability`` (§3.12) and changes
    nothing (the operations of a PATCH are atomic, §3.5.2)."""
    created = await create(client, 1)
    uid, version = created["id"], created["meta"]["version"]
    for path in (
        "userName",
        "name.givenName",
        "name",
        f"{TANDEM}:level",
        f"{ENTERPRISE}:department",
        TANDEM,
        "addresses",
    ):
        patch = ops(
            {"op": "replace", "path": "title", "value": "changed"},
            {"op": "remove", "path": path},
        )
        resp = await scim(client, "PATCH", f"{USERS}/{uid}", patch)
        assert_scim_error(resp, 400, "mutability")
    unchanged = await scim(client, "GET", f"{USERS}/{uid}")
    assert unchanged.headers["ETag"] == version
    assert unchanged.json()["title"] == "Head of Engineering"
    no_path = await scim(client, "PATCH", f"{USERS}/{uid}", ops({"op": "remove"}))
    assert_scim_error(no_path, 400, "noTarget")
    bad_op = ops({"op": "move", "path": "title", "value": "x"})
    assert_scim_error(await scim(client, "PATCH", f"{USERS}/{uid}", bad_op), 400, "invalidSyntax")  # fmt: skip
    null_required = ops({"op": "replace", "path": "userName", "value": None})
    resp = await scim(client, "PATCH", f"{USERS}/{uid}", null_required)
    assert_scim_error(resp, 400, "invalidValue")


async def test_no_op_patch_changes_nothing(client):
    """RFC 7644 §3.5.2: a PATCH whose operations leave the resource as it is
    succeeds and, nothing having changed, keeps its version (§3.14)."""
    created = await create(client, 1)
    uid, version = created["id"], created["meta"]["version"]
    same = ops({"op": "replace", "path": "title", "value": "Head of Engineering"})
    resp = await scim(client, "PATCH", f"{USERS}/{uid}", same)
    assert resp.status_code == 200 and resp.headers["ETag"] == version
    empty = await scim(client, "PATCH", f"{USERS}/{uid}", ops())
    assert empty.status_code == 200 and empty.headers["ETag"] == version


# -- §3.14 versioning -----------------------------------------------------------------


async def test_etags_and_preconditions(client):
    """RFC 7644 §3.14: the version is in ``meta.version`` and the ``ETag`` header of
    every resource response; ``If-Match`` with another version is 412 (a SCIM
    error); ``If-None-Match`` with the current one is 304 (RFC 7232 §3.2)."""
    created = await scim(client, "POST", USERS, user(1))
    uid, version = created.json()["id"], created.headers["ETag"]
    assert created.json()["meta"]["version"] == version
    got = await scim(client, "GET", f"{USERS}/{uid}")
    assert got.headers["ETag"] == version
    listed = (await scim(client, "GET", USERS)).json()["Resources"]
    assert listed[0]["meta"]["version"] == version

    cached = await scim(
        client,
        "GET",
        f"{USERS}/{uid}",
        headers={**INTEGRATION, "If-None-Match": version},
    )
    assert cached.status_code == 304 and cached.headers["ETag"] == version
    assert cached.content == b""

    change = ops({"op": "replace", "path": "title", "value": "VP"})
    matching = {**INTEGRATION, "If-Match": version}
    patched = await scim(client, "PATCH", f"{USERS}/{uid}", change, matching)
    assert patched.status_code == 200 and patched.headers["ETag"] != version
    stale_put = await scim(client, "PUT", f"{USERS}/{uid}", user(1), matching)
    assert_scim_error(stale_put, 412, None)
    stale_delete = await scim(client, "DELETE", f"{USERS}/{uid}", headers=matching)
    assert_scim_error(stale_delete, 412, None)
    fresh = await scim(
        client,
        "GET",
        f"{USERS}/{uid}",
        headers={**INTEGRATION, "If-None-Match": version},
    )
    assert fresh.status_code == 200 and fresh.json()["title"] == "VP"


# -- §3.4.2.4 paging ------------------------------------------------------------------


async def test_paging_bounds(client, monkeypatch):
    """RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1" for
    ``startIndex``, "A negative value SHALL be interpreted as 0" for ``count``, and
    the server returns no more than the ``maxResults`` it advertises (§5)."""
    monkeypatch.setattr(scim_api, "MAX_RESULTS", 2)
    monkeypatch.setattr(scim_discovery, "MAX_RESULTS", 2)
    for n in range(1, 4):
        await create(client, n)
    config = (await scim(client, "GET", "/scim/v2/ServiceProviderConfig")).json()
    assert config["filter"]["maxResults"] == 2
    for start in (0, -5):
        page = (await scim(client, "GET", USERS, startIndex=start, count=1)).json()
        assert page["startIndex"] == 1 and page["itemsPerPage"] == 1
    none = (await scim(client, "GET", USERS, count=-3)).json()
    assert none["totalResults"] == 3 and none["Resources"] == []
    capped = (await scim(client, "GET", USERS, count=100)).json()
    assert capped["itemsPerPage"] == 2 and capped["totalResults"] == 3
    default = (await scim(client, "GET", USERS)).json()
    assert default["itemsPerPage"] == 2
    searched = await scim(
        client, "POST", "/scim/v2/.search", {"startIndex": -1, "count": -1}
    )
    assert searched.json()["startIndex"] == 1 and searched.json()["Resources"] == []


# -- links: RFC 7643 §3.1 meta.location, RFC 7644 §3.1 Location ----------------------


async def test_links_resolve_behind_a_mount_prefix(app):
    """RFC 7643 §3.1: ``meta.location`` is "the URI of the resource"; RFC 7644 §3.1:
    the ``Location`` header of a creation. Mounted under ``/profiles`` (the embedded
    mode), both include the prefix and resolve, as does the manager's ``$ref``;
    ``meta.created``/``lastModified`` are RFC 3339 date-times (RFC 7643 §2.3.5)."""
    outer = Starlette(routes=[Mount("/profiles", app=app)])
    transport = httpx.ASGITransport(app=outer)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://tandem.example"
    ) as client:
        users = "/profiles/scim/v2/Users"
        manager = await scim(client, "POST", users, user(1))
        assert manager.status_code == 201, manager.text
        location = manager.headers["Location"]
        assert location == manager.json()["meta"]["location"]
        assert location.startswith("http://tandem.example/profiles/scim/v2/Users/")
        assert (await scim(client, "GET", location)).status_code == 200
        meta = manager.json()["meta"]
        assert RFC3339.match(meta["created"]) and RFC3339.match(meta["lastModified"])

        body = user(2)
        body[ENTERPRISE] = {**body[ENTERPRISE], "manager": manager.json()["id"]}
        report = (await scim(client, "POST", users, body)).json()
        ref = report[ENTERPRISE]["manager"]["$ref"]
        assert ref == location
        unknown = await scim(client, "GET", "/profiles/scim/v2/Nope")
        assert_scim_error(unknown, 404, None)


async def test_links_use_the_root_path_and_ignore_untrusted_forwarding(app):
    """RFC 7643 §3.1 ``meta.location`` behind a proxy serving the app under a root
    path (``--root-path``): the path is included. ``X-Forwarded-Host``/``-Proto``
    from a client that no proxy setting trusts change nothing (uvicorn honours
    ``X-Forwarded-Proto`` only from ``--forwarded-allow-ips``)."""
    transport = httpx.ASGITransport(app=app, root_path="/api")
    async with httpx.AsyncClient(
        transport=transport, base_url="http://tandem.example"
    ) as client:
        spoofed = {
            **INTEGRATION,
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Proto": "https",
        }
        resp = await scim(client, "POST", "/api/scim/v2/Users", user(1), spoofed)
        assert resp.status_code == 201, resp.text
        location = resp.json()["meta"]["location"]
        assert location.startswith("http://tandem.example/api/scim/v2/Users/")
        config = (
            await scim(client, "GET", "/api/scim/v2/ServiceProviderConfig")
        ).json()
        assert config["meta"]["location"] == (
            "http://tandem.example/api/scim/v2/ServiceProviderConfig"
        )

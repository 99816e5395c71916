"""Provisioning sequences replayed as Microsoft Entra ID and Okta send them.

The request shapes follow each vendor's documented SCIM behaviour: Entra ID looks a
user up with ``filter=userName eq "..."``, creates, then PATCHes with capitalised
``"op": "Replace"``/``"Add"`` and string-valued booleans (``"False"``), and
deactivates with a PATCH of ``active``. Okta looks up with
``filter=userName eq "..."&startIndex=1&count=100``, creates, replaces with a full PUT
(``active: false`` to deactivate) and PATCHes ``{"op": "replace", "value":
{"active": false}}`` without a path.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.profiles.application.scim import CORE, ENTERPRISE, PATCH_OP, TANDEM
from tests.profiles.conftest import ADMIN
from tests.profiles.test_scim import USERS, assert_scim_error, scim


async def test_entra_id_provisioning_cycle(client):
    """Entra ID: the connection test, lookup, create, updates, manager, deactivate,
    delete (RFC 7644 §3.4.2, §3.3, §3.5.2, §3.6 as Entra ID sends them)."""
    # "Test connection": a filter on a random userName finds nobody.
    probe = await scim(client, "GET", USERS, filter=f'userName eq "{uuid.uuid4()}"')
    assert probe.status_code == 200 and probe.json()["totalResults"] == 0

    async def provision(n: int, manager: str | None = None) -> dict:
        upn = f"alex{n}@contoso.example"
        looked_up = await scim(client, "GET", USERS, filter=f'userName eq "{upn}"')
        assert looked_up.json()["Resources"] == []
        body: dict[str, Any] = {
            "schemas": [CORE, ENTERPRISE, TANDEM],
            "externalId": f"alex{n}",
            "userName": upn,
            "active": True,
            "displayName": f"Alex Wilber{n}",
            "emails": [{"primary": True, "type": "work", "value": upn}],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": f"Alex Wilber{n}",
                "familyName": "Wilber",
                "givenName": f"Alex{n}",
            },
            "title": "Analyst",
            "preferredLanguage": "en-US",
            "addresses": [{"type": "work", "country": "GB", "primary": False}],
            ENTERPRISE: {"employeeNumber": f"C{n:04d}", "department": "Finance"},
            TANDEM: {"level": "5", "function": "Finance"},
        }
        if manager:
            body[ENTERPRISE]["manager"] = {"value": manager}
        created = await scim(client, "POST", USERS, body)
        assert created.status_code == 201, created.text
        return created.json()

    boss = await provision(1)
    alex = await provision(2, boss["id"])
    assert alex[ENTERPRISE]["manager"]["value"] == boss["id"]
    assert alex[TANDEM]["level"] == 5 and alex[TANDEM]["geography"] == "GB"
    uid = alex["id"]

    found = await scim(
        client, "GET", USERS, filter='userName eq "alex2@contoso.example"'
    )
    assert [r["id"] for r in found.json()["Resources"]] == [uid]

    update = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": "title", "value": "Senior Analyst"},
            {"op": "Replace", "path": "name.familyName", "value": "Wilber-Smith"},
            {"op": "Add", "path": 'addresses[type eq "work"].country', "value": "IE"},
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Risk"},
            {"op": "Replace", "path": f"{TANDEM}:level", "value": "6"},
            {"op": "Remove", "path": f"{ENTERPRISE}:manager"},
            {"op": "Replace", "path": "active", "value": "True"},
        ],
    }
    patched = await scim(client, "PATCH", f"{USERS}/{uid}", update)
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (
        body["title"] == "Senior Analyst"
        and body["name"]["familyName"] == "Wilber-Smith"
    )
    assert body[TANDEM]["geography"] == "IE" and body[TANDEM]["level"] == 6
    assert (
        body[ENTERPRISE]["department"] == "Risk" and "manager" not in body[ENTERPRISE]
    )

    # Entra ID adds the manager back as a bare id.
    back = {"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]}]}  # fmt: skip
    body = (await scim(client, "PATCH", f"{USERS}/{uid}", back)).json()
    assert body[ENTERPRISE]["manager"]["value"] == boss["id"]

    # Soft delete: a PATCH of active with the string "False".
    disable = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}  # fmt: skip
    disabled = await scim(client, "PATCH", f"{USERS}/{uid}", disable)
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    person = await client.get(f"/people/{uid}", headers=ADMIN)
    assert person.json()["status"] == "inactive"
    inactive = await scim(client, "GET", USERS, filter="active eq false")
    assert [r["id"] for r in inactive.json()["Resources"]] == [uid]

    # Hard delete after the retention period.
    assert (await scim(client, "DELETE", f"{USERS}/{uid}")).status_code == 204
    assert_scim_error(await scim(client, "GET", f"{USERS}/{uid}"), 404, None)


async def test_okta_provisioning_cycle(client):
    """Okta: lookup with paging, create, full PUT replace (including ``active:
    false``), reactivate, PATCH without a path, lookup again (RFC 7644 §3.4.2.4,
    §3.3, §3.5.1, §3.5.2.3)."""
    upn = "isaac.brock@example.com"
    lookup = {"filter": f'userName eq "{upn}"', "startIndex": 1, "count": 100}
    empty = await scim(client, "GET", USERS, **lookup)
    assert empty.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "itemsPerPage": 0,
        "startIndex": 1,
        "Resources": [],
    }
    body = {
        "schemas": [CORE, TANDEM],
        "userName": upn,
        "name": {"givenName": "Isaac", "familyName": "Brock"},
        "emails": [{"primary": True, "value": upn, "type": "work"}],
        "displayName": "Isaac Brock",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
        TANDEM: {"level": 8, "function": "Operations", "geography": "CA"},
        ENTERPRISE: {"department": "Supply"},
    }
    created = await scim(client, "POST", USERS, body)
    assert created.status_code == 201, created.text
    user = created.json()
    uid = user["id"]
    assert "password" not in user and user["externalId"] == "00ujl29u0le5T6Aj10h7"

    got = await scim(client, "GET", f"{USERS}/{uid}")
    assert got.json()["userName"] == upn

    # Okta's PUT sends the whole user it has, then deactivates with active false.
    replacement = {**got.json(), "active": False, "title": "Buyer"}
    put = await scim(client, "PUT", f"{USERS}/{uid}", replacement)
    assert put.status_code == 200, put.text
    assert put.json()["active"] is False and put.json()["title"] == "Buyer"
    assert put.json()[TANDEM]["level"] == 8
    person = await client.get(f"/people/{uid}", headers=ADMIN)
    assert person.json()["status"] == "inactive"

    reactivate = {**put.json(), "active": True}
    assert (await scim(client, "PUT", f"{USERS}/{uid}", reactivate)).json()["active"]

    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}  # fmt: skip
    patched = await scim(client, "PATCH", f"{USERS}/{uid}", patch)
    assert patched.status_code == 200 and patched.json()["active"] is False

    again = (await scim(client, "GET", USERS, **lookup)).json()
    assert again["totalResults"] == 1 and again["Resources"][0]["active"] is False
    assert again["Resources"][0]["meta"]["location"].endswith(f"/scim/v2/Users/{uid}")

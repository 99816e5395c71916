"""``erasureReport`` end to end: profiles erases a person, every service hears
``PersonErased`` over Kafka and confirms, and the admins' report turns complete.

Tried from the other side too: before the erasure no service has confirmed; a
coordinator is refused; another organisation's admin sees nothing confirmed; an id
that is not a Person's is refused before any service is called.
"""

from __future__ import annotations

import base64

import pytest

from chassis.auth import Role
from tests.gateway.platform import new_tenant, token
from tests.profiles.conftest import person
from tests.support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")

SERVICES = {"profiles", "matching", "sessions", "advisors", "insights"}
REPORT = """
query($id: ID!) { erasureReport(personId: $id) {
  personId complete services { service confirmed confirmedAt stores }
} }
"""


def gid(type_name: str, local: str) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


async def test_the_report_is_complete_once_every_service_confirms(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN)
    made = await platform.service(
        "profiles", "POST", "/people", bearer=admin, json=person(1)
    )
    assert made.status_code == 201, made.text
    pid = gid("Person", made.json()["person_id"])

    async def report(bearer: str = admin) -> dict:
        body = await platform.graphql(REPORT, {"id": pid}, bearer=bearer)
        return body["data"]["erasureReport"]

    before = await report()
    assert before["complete"] is False and before["personId"] == pid
    assert {s["service"] for s in before["services"]} == SERVICES
    assert not any(s["confirmed"] or s["stores"] for s in before["services"])

    erased = await platform.service(
        "profiles", "DELETE", f"/people/{local(pid)}", bearer=admin
    )
    assert erased.status_code == 204, erased.text

    async def complete() -> bool:
        return bool((await report())["complete"])

    await until(complete, "every service confirms the erasure")
    after = await report()
    for s in after["services"]:
        assert s["confirmed"] and s["confirmedAt"] and s["stores"], s
    elsewhere = await report(token("admin-2", new_tenant(), Role.ADMIN))
    assert elsewhere["complete"] is False
    assert not any(s["confirmed"] for s in elsewhere["services"])

    refused = await platform.graphql(
        REPORT,
        {"id": pid},
        bearer=token("coord-1", tenant, Role.COORDINATOR),
        expect_errors=True,
    )
    assert refused["errors"][0]["extensions"]["code"] == "Forbidden"
    wrong = await platform.graphql(
        REPORT, {"id": gid("Cohort", "c1")}, bearer=admin, expect_errors=True
    )
    assert wrong["errors"] and wrong["data"] is None


def local(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]

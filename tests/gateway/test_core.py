"""The gateway's conventions, end to end over HTTP: authentication, global ids and
tenants, typed errors, batching, protection against abusive queries, and a service
being down."""

from __future__ import annotations

import base64

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chassis.auth import Role
from chassis.telemetry import setup_telemetry
from tests.gateway.platform import new_tenant, token
from tests.profiles.conftest import person

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def register(platform, admin: str, n: int, **overrides) -> str:
    resp = await platform.service(
        "profiles", "POST", "/people", bearer=admin, json=person(n, **overrides)
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["person_id"]


def gid(type_name: str, local: str) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


PERSON = """
query($id: ID!) { node(id: $id) { id ... on Person { givenName email level
  demographics } } }
"""


async def test_a_query_without_a_token_is_told_to_authenticate(platform):
    body = await platform.graphql("{ me { id } }", bearer=None, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "Unauthenticated"


async def test_a_bad_token_is_refused_with_401(platform):
    resp = await platform.client.post(
        f"{platform.gateway_url}/graphql",
        json={"query": "{ me { id } }"},
        headers={"authorization": "Bearer not-a-jwt"},
    )
    assert resp.status_code == 401
    assert resp.json()["code"] == "Unauthenticated"


async def test_node_ids_resolve_within_the_tenant_and_nowhere_else(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    pid = await register(platform, admin, 1)
    body = await platform.graphql(PERSON, {"id": gid("Person", pid)}, bearer=admin)
    assert body["data"]["node"]["givenName"] == "Ada1"
    assert body["data"]["node"]["id"] == gid("Person", pid)

    intruder = token("admin-x", new_tenant(), Role.ADMIN, Role.COORDINATOR)
    body = await platform.graphql(
        PERSON, {"id": gid("Person", pid)}, bearer=intruder, expect_errors=True
    )
    assert body["data"]["node"] is None


async def test_demographics_are_shown_to_admins_only(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    coordinator = token("coord-1", tenant, Role.COORDINATOR)
    pid = await register(platform, admin, 1)
    resp = await platform.service(
        "profiles",
        "PUT",
        f"/people/{pid}/consents/demographics",
        bearer=admin,
        json={"given": True},
    )
    seen = await platform.graphql(PERSON, {"id": gid("Person", pid)}, bearer=admin)
    hidden = await platform.graphql(
        PERSON, {"id": gid("Person", pid)}, bearer=coordinator
    )
    assert hidden["data"]["node"]["demographics"] is None
    assert "demographics" in seen["data"]["node"]
    del resp


async def test_bad_input_is_a_typed_error_with_field_paths_and_changes_nothing(
    platform,
):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    pid = await register(platform, admin, 1, roles=["mentor"])
    mutation = """
    mutation($input: SetMentorCapacityInput!) { setMentorCapacity(input: $input) {
      __typename
      ... on Error { code message }
      ... on ValidationError { fields { path message } }
      ... on SetMentorCapacitySuccess { person { id } } } }
    """
    body = await platform.graphql(
        mutation,
        {
            "input": {
                "personId": gid("Person", pid),
                "maxMentees": 99,
                "hoursPerMonth": 4,
            }
        },
        bearer=admin,
    )
    result = body["data"]["setMentorCapacity"]
    assert result["__typename"] == "ValidationError"
    assert result["fields"][0]["path"] == "input.maxMentees"

    wrong_type = await platform.graphql(
        mutation,
        {
            "input": {
                "personId": gid("Cohort", pid),
                "maxMentees": 2,
                "hoursPerMonth": 4,
            }
        },
        bearer=admin,
    )
    result = wrong_type["data"]["setMentorCapacity"]
    assert result["__typename"] == "ValidationError"
    assert result["fields"][0]["path"] == "input.personId"

    missing = await platform.graphql(
        mutation,
        {
            "input": {
                "personId": gid("Person", "no-such"),
                "maxMentees": 2,
                "hoursPerMonth": 4,
            }
        },
        bearer=admin,
    )
    assert missing["data"]["setMentorCapacity"]["__typename"] == "NotFound"


async def test_upstream_calls_do_not_grow_with_the_length_of_the_list(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    # The boss in a unit of her own, so every person listed has a manager to load.
    boss = await register(platform, admin, 0, business_unit="Board")
    for n in range(1, 13):
        await register(platform, admin, n, manager_id=boss)
    query = """query($n: Int!) { people(first: $n, businessUnit: "Retail") { edges {
      node { givenName manager { givenName manager { givenName } } } } } }"""
    calls = {}
    for n in (1, 12):
        body = await platform.graphql(query, {"n": n}, bearer=admin)
        assert len(body["data"]["people"]["edges"]) == n
        calls[n] = body["extensions"]["upstreamCalls"]
    assert calls[1] == calls[12] <= 3


async def test_cursors_page_through_every_person_once(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    for n in range(7):
        await register(platform, admin, n)
    seen, after = [], None
    while True:
        body = await platform.graphql(
            """query($after: String) { people(first: 3, after: $after) {
              edges { cursor node { givenName } } pageInfo { hasNextPage endCursor }
            } }""",
            {"after": after},
            bearer=admin,
        )
        page = body["data"]["people"]
        seen += [e["node"]["givenName"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(f"Ada{n}" for n in range(7))


@pytest.mark.parametrize(
    ("query", "code_or_text"),
    [
        (
            "{ me { " + "manager { " * 12 + "id" + " }" * 13 + " }",
            "exceeds maximum operation depth",
        ),
        (
            "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(40)) + " }",
            "aliases",
        ),
        (
            "{ "
            + " ".join(
                f"p{i}: people(first: 100) {{ edges {{ node {{ manager {{ manager"
                " { manager { id } } } } } }"
                for i in range(10)
            )
            + " }",
            "QueryTooExpensive",
        ),
    ],
    ids=["deep", "aliases", "cost"],
)
async def test_abusive_queries_are_rejected_with_a_clear_error(
    platform, query, code_or_text
):
    admin = token("admin-1", new_tenant(), Role.ADMIN)
    body = await platform.graphql(query, bearer=admin, expect_errors=True)
    assert body.get("data") is None
    assert code_or_text in str(body["errors"])


async def test_batched_requests_are_limited(platform):
    admin = token("admin-1", new_tenant(), Role.ADMIN)
    batch = [{"query": "{ me { id } }"}] * 10
    resp = await platform.client.post(
        f"{platform.gateway_url}/graphql",
        json=batch,
        headers={"authorization": f"Bearer {admin}"},
    )
    assert resp.status_code == 400
    assert "batch" in resp.text.lower() or "operations" in resp.text.lower()


async def test_one_trace_runs_from_the_graphql_request_into_the_service(platform):
    tenant = new_tenant()
    admin = token("admin-1", tenant, Role.ADMIN, Role.COORDINATOR)
    pid = await register(platform, admin, 1)
    exporter = InMemorySpanExporter()
    handle = setup_telemetry("tandem-test", span_exporter=exporter)
    try:
        await platform.graphql(PERSON, {"id": gid("Person", pid)}, bearer=admin)
    finally:
        handle.shutdown()
    spans = exporter.get_finished_spans()
    graphql = [s for s in spans if s.name.startswith("GraphQL")]
    upstream = [s for s in spans if "/people/batch" in s.name]
    assert graphql and upstream, [s.name for s in spans]
    assert upstream[0].context.trace_id == graphql[0].context.trace_id

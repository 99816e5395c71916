"""A coordinator never sees an individual's demographics, through any query.

Tried as a curious coordinator would, on the whole platform: a mentee with a
demographic value nobody else has (a group of one) lives the programme (import,
consent, demographics, intake, a round, a confirmed pairing, sessions, notes, a pulse
answer, an escalation). Then, with a coordinator's token:

- every GET route of every service's OpenAPI document is called, path parameters
  filled with the organisation's real ids and the query parameters that choose a
  grouping set to the demographic attribute (``dimension``, ``group_by``) with the
  smallest group size the caller may ask for;
- every root field of the GraphQL schema is queried with every scalar it reaches
  (three levels deep, connections and unions included), its id arguments filled the
  same way.

No answer may hold the value. The same crawl as the person themselves and an admin
(who may see it) finds it: the crawl reaches where the value lives.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
import pytest_asyncio

from chassis.auth import Role
from tests.gateway.journey import local
from tests.gateway.platform import Platform, new_tenant, running_platform, token
from tests.invariants.test_erasure_sweep import (
    insights_knows,
    live_the_programme,
    sweep_values,
)
from tests.support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")

GROUPINGS = {"dimension", "group_by", "groupBy"}
SMALLEST = {"min_group_size", "minGroupSize", "k"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def platform(postgres_server, kafka_bootstrap):
    async with running_platform(postgres_server, kafka_bootstrap) as p:
        yield p


def fill(name: str, ids: dict[str, str]) -> str | None:
    """A real id for a path parameter, by its name (None: no such thing here)."""
    low = name.lower()
    for key, value in ids.items():
        if key in low:
            return value
    return None


async def rest_crawl(
    p: Platform, bearer: str, ids: dict[str, str], attribute: str
) -> dict[str, str]:
    """GET every route of every service; route → body, for the answered ones."""
    answered: dict[str, str] = {}
    for service in p.service_urls:
        doc = (await p.service(service, "GET", "/openapi.json", bearer=bearer)).json()
        for path, item in doc["paths"].items():
            get = item.get("get")
            if get is None or path.startswith("/dev"):
                continue
            url = path
            for name in re.findall(r"{([^}]+)}", path):
                value = fill(name, ids)
                if value is None:
                    url = ""
                    break
                url = url.replace(f"{{{name}}}", value)
            if not url:
                continue
            params: dict[str, Any] = {}
            for param in get.get("parameters", []):
                if param["in"] != "query":
                    continue
                if param["name"] in GROUPINGS:
                    params[param["name"]] = f"demographics.{attribute}"
                elif param["name"] in SMALLEST:
                    params[param["name"]] = 1
            for query in (params, {}):
                resp = await p.service(service, "GET", url, bearer=bearer, params=query)
                if resp.status_code < 400:
                    answered[f"{service} GET {url} {query}"] = resp.text
    return answered


INTROSPECT = """
{ __schema { queryType { name } types { name kind
  fields { name args { name type { kind name ofType { kind name ofType { kind name
    ofType { kind name } } } } } type { kind name ofType { kind name ofType { kind name
    ofType { kind name } } } } }
  possibleTypes { name } } } }
"""


def named(t: dict[str, Any]) -> tuple[str, bool]:
    """(the named type, whether it is required at the top)."""
    required = t["kind"] == "NON_NULL"
    while t.get("ofType"):
        t = t["ofType"]
    return t["name"], required


def selection(types: dict[str, dict[str, Any]], name: str, depth: int) -> str | None:
    kind = types[name]["kind"]
    if kind in ("SCALAR", "ENUM"):
        return ""
    if depth == 0:
        return None
    if kind in ("UNION", "INTERFACE"):
        parts = []
        for possible in types[name]["possibleTypes"] or []:
            inner = selection(types, possible["name"], depth)
            if inner:
                parts.append(f"... on {possible['name']} {inner}")
        return "{ __typename " + " ".join(parts) + " }"
    fields = []
    for f in types[name]["fields"] or []:
        if any(named(a["type"])[1] for a in f["args"]):
            continue  # nested fields with required arguments: left out
        inner = selection(types, named(f["type"])[0], depth - 1)
        if inner is None:
            continue
        fields.append(f"{f['name']} {inner}".strip())
    return "{ " + " ".join(fields) + " }" if fields else None


async def graphql_crawl(
    p: Platform, bearer: str, gids: dict[str, str], attribute: str
) -> dict[str, str]:
    schema = (await p.graphql(INTROSPECT, bearer=bearer))["data"]["__schema"]
    types = {t["name"]: t for t in schema["types"]}
    root = types[schema["queryType"]["name"]]
    answered: dict[str, str] = {}
    for f in root["fields"]:
        args = []
        for a in f["args"]:
            kind, required = named(a["type"])
            value: Any = None
            if a["name"] in GROUPINGS:
                value = f'"demographics.{attribute}"'
            elif a["name"] in SMALLEST:
                value = "1"
            elif kind == "ID" or a["name"].endswith("Id"):
                found = fill(a["name"], gids)
                value = f'"{found}"' if found else None
            if value is None and required:
                break
            if value is not None:
                args.append(f"{a['name']}: {value}")
        else:
            inner = selection(types, named(f["type"])[0], 3)
            if inner is None:
                continue
            call = f"{f['name']}({', '.join(args)})" if args else f["name"]
            body = await p.graphql(
                f"{{ {call} {inner} }}", bearer=bearer, expect_errors=True
            )
            if (body.get("data") or {}).get(f["name"]) is not None:
                answered[f"graphql {call}"] = str(body["data"])
    return answered


async def test_a_coordinator_never_sees_an_individuals_demographics(platform):
    p: Platform = platform
    tenant = new_tenant()
    r = secrets.token_hex(5)
    v = sweep_values(r)
    org = await live_the_programme(p, tenant, r, v)
    secret = v["demographic value"]
    await until(lambda: insights_knows(p, org["mentee_id"]), "insights to count them")

    people = await p.graphql(
        "{ people { edges { node { id } } } cohorts { edges { node { id } } } "
        "relationships { edges { node { id } } } }",
        bearer=org["admin"],
    )
    mentee_gid = org["mentee"]
    cohort_gid = people["data"]["cohorts"]["edges"][0]["node"]["id"]
    rel_gid = people["data"]["relationships"]["edges"][0]["node"]["id"]
    ids = {
        "person": org["mentee_id"],
        "mentee": org["mentee_id"],
        "mentor": org["mentee_id"],
        "subject": org["mentee_id"],
        "cohort": local(cohort_gid),
        "relationship": local(rel_gid),
    }
    gids = {
        "person": mentee_gid,
        "mentee": mentee_gid,
        "cohort": cohort_gid,
        "relationship": rel_gid,
        "id": mentee_gid,
    }
    coordinator = token("coord-1", tenant, Role.COORDINATOR)
    rest = await rest_crawl(p, coordinator, ids, "gender")
    graph = await graphql_crawl(p, coordinator, gids, "gender")
    print(f"\ncoordinator crawl: {len(rest)} REST answers, {len(graph)} GraphQL fields")
    assert len(rest) >= 40 and len(graph) >= 10, (len(rest), len(graph))
    leaked = [where for where, body in {**rest, **graph}.items() if secret in body]
    assert leaked == [], "a coordinator read an individual's demographics"

    # The crawl reaches where the value lives: the person and an admin see it.
    admin = token("admin-2", tenant, Role.ADMIN)
    for who in (org["as_mentee"], admin):
        seen = {**await rest_crawl(p, who, ids, "gender")}
        seen.update(await graphql_crawl(p, who, gids, "gender"))
        assert any(secret in body for body in seen.values()), who

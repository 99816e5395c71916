"""Hostile arguments for every operation of the schema, against the real services.

The operations are generated from the schema itself (every mutation, every query
field that takes arguments), never hand-picked: a field added tomorrow is fuzzed
tomorrow. Each is sent once per hostile profile, with every argument filled: in the
string profiles every ``String``/``ID`` gets the hostile value (an empty string, a
malformed global id, a global id of the wrong type, ``../../admin/x``, ``a?x=1``, a
NUL byte; the 1 MB string goes in the first one only, so the body stays under the
gateway's limit), in the others every ``Int`` is 2^63 or every date is in the year
9999 while ids are well formed.

Every answer must be data or a typed error (an ``extensions.code`` that is not
``InternalError``, or a problem document with a ``code``), and every request the
gateway made must match a route of the service it went to (none under ``/admin``).
"""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    get_named_type,
)
from starlette.routing import Match

from chassis.auth import Role
from tests.gateway.platform import new_tenant, token

pytestmark = pytest.mark.asyncio(loop_scope="module")

STRING_PROFILES = {
    "empty": "",
    "malformed global id": "not-a-global-id==",
    "wrong-type global id": None,  # built per argument
    "path traversal": "../../admin/x",
    "query string": "a?x=1",
    "NUL byte": "a\x00b",
    "1 MB string": "x" * 1_000_000,
}
OTHER_PROFILES = ("2^63", "year 9999")
# Free references that are not objects of their own (codes, keys, HR ids).
PLAIN_IDS = {
    "meetingId",
    "promptId",
    "employeeId",
    "competencyId",
    "goalCompetencyIds",
}
PERSON_REFS = (
    "mentor",
    "mentee",
    "host",
    "sponsor",
    "manager",
    "absent",
    "person",
    "owner",
    "member",
)
CONCURRENCY = 6
# The one admin route the gateway calls on purpose (erasureReport, admins only), with a
# validated id as its last segment; any other /admin path is a hostile argument that
# escaped into a URL.
INTENDED_ADMIN = re.compile(r"^/admin/erasures/[A-Za-z0-9][A-Za-z0-9._:@+-]*$")


def _gid(type_name: str, local: str) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


def _type_of_id(name: str) -> str:
    """The Node type an ``ID`` argument names, guessed from its name."""
    stem = re.sub(r"Ids?$", "", name)
    if any(stem.startswith(p) for p in PERSON_REFS):
        return "Person"
    if stem == "subject":
        return "Session"
    if stem == "survey":
        return "PulseSurvey"
    if stem == "round":
        return "MatchingRound"
    if stem in ("job",):
        return "ImportJob"
    if not stem:
        return "Person"
    return stem[:1].upper() + stem[1:]


class Filler:
    """Values for every argument of one operation, in one hostile profile."""

    def __init__(self, profile: str) -> None:
        self.profile = profile
        self.big_string_used = False

    def value(self, gql_type: Any, name: str) -> Any:
        if isinstance(gql_type, GraphQLNonNull):
            return self.value(gql_type.of_type, name)
        if isinstance(gql_type, GraphQLList):
            return [self.value(gql_type.of_type, name)]
        if isinstance(gql_type, GraphQLInputObjectType):
            return {
                field_name: self.value(field.type, field_name)
                for field_name, field in gql_type.fields.items()
            }
        if isinstance(gql_type, GraphQLEnumType):
            return next(iter(gql_type.values))
        assert isinstance(gql_type, GraphQLScalarType)
        return self.scalar(gql_type.name, name)

    def scalar(self, scalar: str, name: str) -> Any:
        if scalar in ("String", "ID"):
            return self.string(scalar, name)
        if scalar == "Int":
            return 2**63 if self.profile == "2^63" else 1
        if scalar == "Float":
            return 1.0
        if scalar == "Boolean":
            return False
        far = self.profile == "year 9999"
        if scalar == "Date":
            return "9999-12-31" if far else "2025-01-15"
        if scalar == "DateTime":
            return "9999-12-31T09:00:00Z" if far else "2025-01-15T09:00:00Z"
        if scalar == "Decimal":
            return "1"
        return {}  # JSON

    def string(self, scalar: str, name: str) -> str:
        if self.profile in STRING_PROFILES:
            if self.profile == "wrong-type global id":
                expected = _type_of_id(name)
                return _gid("Escalation" if expected != "Escalation" else "Note", "1")
            if self.profile == "1 MB string":
                if self.big_string_used:
                    return "fuzz"
                self.big_string_used = True
            return STRING_PROFILES[self.profile]
        if scalar == "ID" and name not in PLAIN_IDS:
            return _gid(_type_of_id(name), str(uuid.uuid4()))
        if scalar == "ID" or name in PLAIN_IDS:
            return str(uuid.uuid4())
        return "fuzz"


def _selection(field: GraphQLField, schema: Any) -> str:
    named = get_named_type(field.type)
    if isinstance(named, GraphQLUnionType):
        errors = schema.get_type("Error")
        if any(errors in t.interfaces for t in named.types):
            return " { __typename ... on Error { code } }"
        return " { __typename }"
    if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
        return " { __typename }"
    return ""


def operations(schema: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(root, field, document, variables) for every field and hostile profile."""
    out = []
    roots = (("mutation", schema.mutation_type), ("query", schema.query_type))
    for keyword, root in roots:
        for name, field in root.fields.items():
            if keyword == "query" and not field.args:
                continue
            for profile in (*STRING_PROFILES, *OTHER_PROFILES):
                filler = Filler(profile)
                defs = ", ".join(f"${a}: {arg.type}" for a, arg in field.args.items())
                args = ", ".join(f"{a}: ${a}" for a in field.args)
                call = f"{name}({args})" if args else name
                head = f"{keyword} Fuzz({defs})" if defs else f"{keyword} Fuzz"
                document = f"{head} {{ {call}{_selection(field, schema)} }}"
                variables = {
                    a: filler.value(arg.type, a) for a, arg in field.args.items()
                }
                out.append((keyword, f"{name} [{profile}]", document, variables))
    return out


def _typed(response: httpx.Response) -> tuple[int, list[str]]:
    """(typed error count, descriptions of untyped answers) of one response."""
    if response.status_code != 200:
        body = (
            response.json()
            if "json" in response.headers.get("content-type", "")
            else {}
        )
        if 400 <= response.status_code < 500 and body.get("code"):
            return 1, []
        return 0, [f"HTTP {response.status_code}: {response.text[:200]}"]
    body = response.json()
    typed, untyped = 0, []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code and code != "InternalError":
            typed += 1
        else:
            untyped.append(f"{code}: {error.get('message')}")
    for value in (body.get("data") or {}).values():
        if isinstance(value, dict) and value.get("code"):
            typed += 1
    return typed, untyped


def _route_of(app: Any, method: str, path: str) -> bool:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    return any(route.matches(scope)[0] == Match.FULL for route in app.routes)


async def test_every_operation_answers_hostile_arguments_with_typed_errors(
    platform, capsys
):
    schema = platform.gateway.state.schema._schema
    sent: list[tuple[str, str, str]] = []  # (service, method, path as sent)

    def record(service: str, method: str, path: str) -> None:
        sent.append((service, method, path))

    upstreams = platform.gateway.state.upstreams
    upstreams.observers.append(record)
    admin = token(
        "fuzzer-1",
        new_tenant(),
        Role.ADMIN,
        Role.COORDINATOR,
        Role.SPONSOR,
        Role.MENTOR,
        Role.MENTEE,
        Role.INTEGRATION,
    )
    headers = {"authorization": f"Bearer {admin}"}
    generated = operations(schema)
    gate = asyncio.Semaphore(CONCURRENCY)
    typed_total, untyped_all = 0, []

    async def one(op: tuple[str, str, str, dict[str, Any]]) -> None:
        nonlocal typed_total
        _keyword, label, document, variables = op
        async with gate:
            response = await platform.client.post(
                f"{platform.gateway_url}/graphql",
                json={"query": document, "variables": variables},
                headers=headers,
            )
        typed, untyped = _typed(response)
        typed_total += typed
        untyped_all.extend(f"{label}: {u}" for u in untyped)

    try:
        await asyncio.gather(*(one(op) for op in generated))
    finally:
        upstreams.observers.remove(record)

    with capsys.disabled():
        print(
            f"\nGraphQL fuzz: {len(generated)} operations sent, {typed_total} typed "
            f"errors, {len(untyped_all)} untyped errors, {len(sent)} upstream calls"
        )
    assert untyped_all == []
    assert len(generated) > 500
    # Nothing the gateway sent left the routes of the service it went to.
    apps = platform.apps
    assert sent, "the well-formed profiles reach the services"
    assert not _route_of(apps["sessions"], "DELETE", "/admin/x")
    strays = [
        (service, method, path)
        for service, method, path in sent
        if ("/admin" in unquote(path) and not INTENDED_ADMIN.match(path))
        or "%2F" in path.upper()
        or not _route_of(apps[service], method, unquote(path))
    ]
    assert strays == []

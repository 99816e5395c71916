"""The gateway from an attacker's side: what it refuses before any service is called.

The services here are stand-ins (``httpx.MockTransport``) that record every request
the gateway makes, so each test can prove that a refused operation cost no upstream
call and that nothing outside the expected paths was ever asked for.
"""

from __future__ import annotations

import ast
import base64
import json
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse

from chassis.auth import mint_token
from chassis.settings import DEFAULT_DEV_SECRET
from gateway.ids import InvalidId
from gateway.main import build_app
from gateway.protection import operation_cost
from gateway.schema import build_schema
from gateway.settings import SERVICES, GatewaySettings
from gateway.upstream import upstream_path

ROOT = Path(__file__).resolve().parents[2]
Handler = Callable[[httpx.Request], httpx.Response]


def gid(type_name: str, local: str) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


def bearer(*roles: str) -> dict[str, str]:
    jwt = mint_token(
        DEFAULT_DEV_SECRET,
        "p-1",
        "acme",
        list(roles or ("admin", "coordinator")),
        "tandem-dev",
        "tandem",
    )
    return {"authorization": f"Bearer {jwt}"}


def not_found(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        404,
        json={"status": 404, "code": "NotFound", "detail": "no such thing"},
        headers={"content-type": "application/problem+json"},
    )


class Gateway:
    """A gateway in front of recording stand-in services."""

    def __init__(self, client: httpx.AsyncClient, seen: list[httpx.Request]) -> None:
        self.client = client
        self.seen = seen

    async def post(
        self, query: str, variables: Any = None, headers: Any = None
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=bearer() if headers is None else headers,
        )
        assert response.status_code == 200, response.text
        return response.json()


@asynccontextmanager
async def gateway(handler: Handler = not_found, **overrides: Any):
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    transport = httpx.MockTransport(record)
    clients = {
        name: httpx.AsyncClient(transport=transport, base_url=f"http://{name}")
        for name in SERVICES
    }
    settings = GatewaySettings(
        **{"environment": "test", "kafka_bootstrap_servers": None, **overrides}
    )
    app = build_app(settings, clients=clients)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw"
        ) as client:
            yield Gateway(client, seen)


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


# -- queries only over POST ------------------------------------------------------------


@pytest.mark.parametrize("with_token", [True, False])
async def test_operations_over_get_answer_405(with_token):
    async with gateway() as gw:
        headers = bearer() if with_token else {}
        for accept in ("application/json", "text/html"):
            response = await gw.client.get(
                "/graphql",
                params={"query": "{ me { id } }"},
                headers={**headers, "accept": accept},
            )
            assert response.status_code == 405
            assert response.headers["allow"] == "POST"
            assert response.json()["code"] == "MethodNotAllowed"
        mutation = await gw.client.get(
            "/graphql",
            params={
                "query": 'mutation { deleteNote(input: {noteId: "n"}) { __typename } }'
            },
            headers=headers,
        )
        assert mutation.status_code == 405
        # The IDE page (a browser's GET, no query) is still served outside production.
        page = await gw.client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        assert gw.seen == []


# -- document limits and cost --------------------------------------------------------------


async def test_a_thousand_unknown_directives_are_one_typed_refusal():
    async with gateway() as gw:
        body = await gw.post("{ me " + "@nope " * 1000 + "{ id } }")
        assert codes(body) == ["TooManyDirectives"]
        assert gw.seen == []
        # The everyday use of directives is untouched.
        fine = await gw.post(
            "query($a: Boolean!) { me @include(if: $a) { id } }", {"a": False}
        )
        assert "errors" not in fine


async def test_a_report_costs_far_more_than_a_name():
    async with gateway() as gw:
        names = await gw.post(
            "{ " + " ".join(f"n{i}: me {{ givenName }}" for i in range(25)) + " }"
        )
        assert "QueryTooExpensive" not in codes(names)
        cards = await gw.post(
            "{ "
            + " ".join(f"s{i}: programmeScorecard {{ asOf }}" for i in range(25))
            + " }"
        )
        assert codes(cards) == ["QueryTooExpensive"]
        assert not [r for r in gw.seen if "scorecards" in r.url.path]


async def test_one_batched_request_shares_one_cost_budget():
    ten_cards = (
        "{ "
        + " ".join(f"s{i}: programmeScorecard {{ asOf }}" for i in range(10))
        + " }"
    )
    async with gateway() as gw:
        response = await gw.client.post(
            "/graphql", json=[{"query": ten_cards}] * 5, headers=bearer()
        )
        assert response.status_code == 200
        answers = response.json()
        refused = [a for a in answers if "QueryTooExpensive" in codes(a)]
        ran = len(answers) - len(refused)
        # Each operation alone is within the limit; together they are not.
        assert ran >= 1 and refused
        computed = [r for r in gw.seen if r.url.path == "/scorecards/programme"]
        assert len(computed) == 10 * ran < 50


# -- ids parsed before they reach a URL --------------------------------------------------


HOSTILE_IDS = ["../../admin/x", "a?x=1", "", "x/y", "%2e%2e", "a#b", " ", "é"]


@pytest.mark.parametrize("note_id", HOSTILE_IDS)
async def test_a_hostile_note_id_never_reaches_a_service(note_id):
    async with gateway() as gw:
        body = await gw.post(
            """mutation($id: ID!) { deleteNote(input: {noteId: $id}) {
              __typename ... on Error { code message }
              ... on ValidationError { fields { path } } } }""",
            {"id": note_id},
        )
        result = body["data"]["deleteNote"]
        assert result["__typename"] == "ValidationError"
        assert result["code"] == "InvalidId"
        assert result["fields"] == [{"path": "input.noteId"}]
        assert "Note" in result["message"]
        assert gw.seen == []


async def test_a_wrong_type_or_malformed_global_id_is_invalid_id():
    async with gateway() as gw:
        for value, expected in (
            (gid("Person", "p-1"), "must be the id of a Cohort, not of a Person"),
            ("not base64!", "is not a global id"),
            (gid("Cohort", "../../admin"), "is not a valid Cohort id"),
            (gid("Cohort", ""), "is not a global id"),
        ):
            body = await gw.post(
                "query($id: ID!) { cohort(id: $id) { id } }", {"id": value}
            )
            (error,) = body["errors"]
            assert error["extensions"]["code"] == "InvalidId"
            assert error["extensions"]["expectedType"] == "Cohort"
            assert expected in error["message"]
            assert "GlobalID" not in error["message"]
        node = await gw.post('{ node(id: "") { id } }')
        assert codes(node) == ["InvalidId"]
        assert "GlobalID" not in node["errors"][0]["message"]
        assert gw.seen == []


async def test_a_valid_id_is_escaped_into_its_own_path_segment():
    async with gateway() as gw:
        await gw.post(
            """mutation($id: ID!) { deleteNote(input: {noteId: $id}) { __typename } }""",
            {"id": gid("Note", "n:1@x+y")},
        )
        (request,) = gw.seen
        assert request.method == "DELETE"
        assert request.url.raw_path == b"/notes/n%3A1%40x%2By"


def test_upstream_paths_come_from_a_template_and_checked_segments():
    assert upstream_path("/notes/{n}/x", n="abc-1") == "/notes/abc-1/x"
    for bad in ("../x", "a?x=1", "a/b", "", "a\x00", "." * 2, "x" * 500):
        with pytest.raises(InvalidId):
            upstream_path("/notes/{n}", n=bad)


def test_no_upstream_path_is_an_f_string():
    """Every path reaching ``Caller`` is built by ``upstream_path``: no f-string
    starting with ``/`` anywhere in the gateway's code."""
    offenders = []
    for path in (ROOT / "gateway").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.JoinedStr)
                and node.values
                and isinstance(node.values[0], ast.Constant)
                and str(node.values[0].value).startswith("/")
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


# -- internal errors are masked -------------------------------------------------------------


def a_survey(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "survey_id": "s-1",
            "cohort_id": None,
            "questions": ["How is it going?"],
            "closes_at": "2027-01-01T00:00:00+00:00",
            "k": 5,
            "closed": False,
        },
    )


@pytest.mark.parametrize("environment", ["test", "production", "development"])
async def test_an_unexpected_exception_is_masked_with_a_request_id(
    environment, monkeypatch
):
    from gateway.sessions.queries import PulseSurvey

    def bug(cls: type, m: object) -> None:  # a bug in the gateway, not input
        raise KeyError("survey_id")

    monkeypatch.setattr(PulseSurvey, "from_model", classmethod(bug))
    overrides: dict[str, Any] = {"environment": environment}
    if environment == "production":
        overrides["jwt_secret"] = DEFAULT_DEV_SECRET + "-but-a-real-one-0123456789"
    async with gateway(a_survey, **overrides) as gw:
        headers = bearer()
        if environment == "production":
            jwt = mint_token(
                overrides["jwt_secret"],
                "p-1",
                "acme",
                ["admin"],
                "tandem-dev",
                "tandem",
            )
            headers = {"authorization": f"Bearer {jwt}"}
        body = await gw.post(
            "query($id: ID!) { pulseSurvey(surveyId: $id) { id } }",
            {"id": gid("PulseSurvey", "s-1")},
            headers,
        )
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "InternalError"
        assert error["extensions"]["requestId"]
        if environment == "development":
            assert "surveyId" in error["message"] or "survey_id" in error["message"]
        else:
            assert "request id" in error["message"]
            assert "survey_id" not in error["message"]
            assert "KeyError" not in json.dumps(body)


# -- tokens and bodies ------------------------------------------------------------------


async def test_an_oversized_authorization_header_is_refused_unread():
    async with gateway() as gw:
        real = bearer()["authorization"]
        for header in (real + "x" * 9000, "Bearer " + "a" * 8200):
            response = await gw.client.post(
                "/graphql",
                json={"query": "{ me { id } }"},
                headers={"authorization": header},
            )
            assert response.status_code == 401
            assert response.json()["code"] == "Unauthenticated"
        assert gw.seen == []


@pytest.mark.parametrize("with_token", [True, False])
async def test_deep_and_huge_bodies_are_typed_refusals(with_token):
    deep = b'{"query": "{ me { id } }", "variables": {"x": ' + b"[" * 100_000
    deep += b"]" * 100_000 + b"}}"
    huge = json.dumps({"query": "{ me { id } }", "variables": {"x": "a" * 2_000_000}})
    async with gateway() as gw:
        headers = {"content-type": "application/json"}
        if with_token:
            headers.update(bearer())
        for content in (deep, huge.encode()):
            response = await gw.client.post(
                "/graphql", content=content, headers=headers
            )
            assert 400 <= response.status_code < 500, response.text[:200]
            assert response.json()["code"]
        assert gw.seen == []


# -- strings in arguments --------------------------------------------------------------


async def test_control_characters_and_long_strings_are_refused_before_any_call():
    query = (
        "query($n: String) { people(first: 2, businessUnit: $n) { edges { cursor } } }"
    )
    async with gateway() as gw:
        for value in ("a\x00b", "a\x1bb", "x" * 20_000):
            body = await gw.post(query, {"n": value})
            assert codes(body) == ["ValidationError"]
            assert body["errors"][0]["extensions"]["path"] == "$n"
        literal = await gw.post(
            '{ people(first: 2, businessUnit: "a\\u0000b") { edges { cursor } } }'
        )
        assert codes(literal) == ["ValidationError"]
        nested = await gw.post(
            """mutation($input: WriteNoteInput!) { writeNote(input: $input) {
            __typename } }""",
            {
                "input": {
                    "relationshipId": gid("Relationship", "r-1"),
                    "kind": "JOURNAL",
                    "body": "line\x00",
                    "visibility": "PRIVATE",
                }
            },
        )
        assert codes(nested) == ["ValidationError"]
        assert nested["errors"][0]["extensions"]["path"] == "$input.body"
        assert gw.seen == []
        # Free text keeps its newlines and tabs.
        await gw.post(
            """mutation($input: WriteNoteInput!) { writeNote(input: $input) {
            __typename } }""",
            {
                "input": {
                    "relationshipId": gid("Relationship", "r-1"),
                    "kind": "JOURNAL",
                    "body": "line one\n\tline two",
                    "visibility": "PRIVATE",
                }
            },
        )
        assert [r.url.path for r in gw.seen] == ["/relationships/r-1/notes"]


def test_every_dashboard_operation_fits_the_cost_limits():
    """The weights refuse a flood of reports, never the dashboard's own pages."""
    settings = GatewaySettings(environment="test")
    schema = build_schema(settings)._schema
    documents = sorted((ROOT / "portal" / "src" / "operations").glob("*.graphql"))
    assert documents
    for path in documents:
        document = parse(path.read_text())
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                name = definition.name.value if definition.name else None
                cost = operation_cost(schema, document, name, settings.max_page_size)
                assert cost <= settings.max_cost, (path.name, name, cost)


async def test_an_inline_hris_export_may_be_longer_than_a_text_field():
    rows = "\n".join(f"e{i},Ada,Lovelace,ada{i}@example.com" for i in range(2000))
    csv = "employee_id,given_name,family_name,email\n" + rows
    assert len(csv) > 20_000
    async with gateway() as gw:
        body = await gw.post(
            """mutation($input: ImportPeopleInput!) {
              importPeople(input: $input, idempotencyKey: "k-1") { __typename } }""",
            {"input": {"format": "CSV", "content": csv}},
        )
        assert "ValidationError" not in codes(body)
        assert [r.url.path for r in gw.seen] == ["/imports"]

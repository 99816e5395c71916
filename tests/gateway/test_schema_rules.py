"""Rules the whole schema keeps, checked by walking it (no service needed).

- Every ``ID`` argument (and ``ID`` field of an input) takes a global id of its type
  only: a raw UUID is a typed ``InvalidId`` naming the type expected, and nothing is
  changed upstream.
- A field that holds a closed set (a status, a kind, a mode …) is an enum, never a
  ``String``; the few strings with such a name are open sets, listed with why.
- Every path a mutation's typed error names is a field of its input, whatever path
  the service reported.
- The gateway's enums carry exactly the values of their source (contracts, a
  service's OpenAPI document, or the service module that holds the set).
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from pathlib import Path
from typing import Any, get_args

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

from gateway import enums
from gateway.errors import _leaves
from gateway.main import build_app
from gateway.schema import build_schema
from gateway.settings import GatewaySettings
from tests.gateway.test_hardening import SERVICES, bearer, gateway, gid, not_found

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = build_schema(GatewaySettings(environment="test"))._schema

# An ID argument's type, where its name alone does not say it.
ID_TYPES = {
    "subjectId": "Session",
    "roundId": "MatchingRound",
    "jobId": "ImportJob",
    "surveyId": "PulseSurvey",
    "memberId": "Advisor",
    "madeBy": "Advisor",
    "cohort": "Cohort",
    "endpoint": "WebhookEndpoint",
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
    "erasedPerson",
)


def id_type(name: str) -> str:
    """The Node type an ``ID`` argument names, from its name."""
    if name in ID_TYPES:
        return ID_TYPES[name]
    stem = re.sub(r"Ids?$", "", name)
    if not stem or stem == "id" or stem == "ids":
        return "Node"
    if any(stem.startswith(p) for p in PERSON_REFS):
        return "Person"
    return stem[:1].upper() + stem[1:]


def _unwrap(gql_type: Any) -> Any:
    while isinstance(gql_type, GraphQLNonNull):
        gql_type = gql_type.of_type
    return gql_type


def is_id(gql_type: Any) -> bool:
    named = get_named_type(gql_type)
    return isinstance(named, GraphQLScalarType) and named.name == "ID"


class Values:
    """Valid-looking values for every argument, with one ID location made raw."""

    def __init__(self, raw_at: tuple[str, ...]) -> None:
        self.raw_at = raw_at

    def value(self, gql_type: Any, path: tuple[str, ...]) -> Any:
        gql_type = _unwrap(gql_type)
        if isinstance(gql_type, GraphQLList):
            return [self.value(gql_type.of_type, path)]
        if isinstance(gql_type, GraphQLInputObjectType):
            return {
                name: self.value(field.type, (*path, name))
                for name, field in gql_type.fields.items()
            }
        if isinstance(gql_type, GraphQLEnumType):
            return next(iter(gql_type.values))
        assert isinstance(gql_type, GraphQLScalarType)
        return self.scalar(gql_type.name, path)

    def scalar(self, scalar: str, path: tuple[str, ...]) -> Any:
        if scalar == "ID":
            if path == self.raw_at:
                return str(uuid.uuid4())
            expected = id_type(path[-1])
            return gid("Person" if expected == "Node" else expected, "x-1")
        return {
            "String": "x",
            "Int": 1,
            "Float": 0.5,
            "Boolean": False,
            "Date": "2025-01-15",
            "DateTime": "2025-01-15T09:00:00Z",
            "Decimal": "1",
        }.get(scalar, {})


def id_locations(field: GraphQLField) -> list[tuple[str, ...]]:
    """Every place an ID goes in the arguments of ``field``."""
    found: list[tuple[str, ...]] = []

    def walk(gql_type: Any, path: tuple[str, ...], depth: int) -> None:
        if is_id(gql_type):
            found.append(path)
            return
        named = get_named_type(gql_type)
        if isinstance(named, GraphQLInputObjectType) and depth < 4:
            for name, sub in named.fields.items():
                walk(sub.type, (*path, name), depth + 1)

    for name, arg in field.args.items():
        walk(arg.type, (name,), 0)
    return found


def selection(field: GraphQLField) -> str:
    named = get_named_type(field.type)
    if isinstance(named, GraphQLUnionType):
        return (
            " { __typename ... on Error { code message }"
            " ... on ValidationError { fields { path message } } }"
        )
    if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
        return " { __typename }"
    return ""


def document(keyword: str, name: str, field: GraphQLField) -> str:
    defs = ", ".join(f"${a}: {arg.type}" for a, arg in field.args.items())
    args = ", ".join(f"{a}: ${a}" for a in field.args)
    return f"{keyword} Op({defs}) {{ {name}({args}){selection(field)} }}"


def raw_id_cases() -> list[tuple[str, str, tuple[str, ...]]]:
    cases = []
    for keyword, root in (
        ("query", SCHEMA.query_type),
        ("mutation", SCHEMA.mutation_type),
    ):
        assert root is not None
        for name, field in root.fields.items():
            for where in id_locations(field):
                cases.append((keyword, name, where))
    return cases


RAW_ID_CASES = raw_id_cases()


def subscription_id_cases() -> list[tuple[str, tuple[str, ...]]]:
    root = SCHEMA.subscription_type
    assert root is not None
    return [
        (name, where)
        for name, field in root.fields.items()
        for where in id_locations(field)
    ]


SUBSCRIPTION_ID_CASES = subscription_id_cases()


def test_the_walk_finds_the_id_arguments():
    names = {(k, n) for k, n, _ in RAW_ID_CASES}
    assert ("query", "relationshipHealth") in names
    assert ("mutation", "createPulseSurvey") in names
    assert ("mutation", "deleteNote") in names
    assert len(RAW_ID_CASES) > 100
    subscribed = {n for n, _ in SUBSCRIPTION_ID_CASES}
    assert {"pairingUpdates", "roundProgress", "importProgress"} <= subscribed


# Starlette's test client warns that it would rather run on another HTTP library.
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_no_subscription_id_argument_accepts_a_raw_uuid():
    """Every ID argument of a subscription, a raw UUID: the subscription ends with a
    typed InvalidId naming the type expected, and no service is asked anything."""
    from starlette.testclient import TestClient

    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return not_found(request)

    transport = httpx.MockTransport(record)
    clients = {
        name: httpx.AsyncClient(transport=transport, base_url=f"http://{name}")
        for name in SERVICES
    }
    settings = GatewaySettings(environment="test", kafka_bootstrap_servers=None)
    failures: list[str] = []
    with TestClient(build_app(settings, clients=clients)) as client:
        for n, (name, where) in enumerate(SUBSCRIPTION_ID_CASES):
            root = SCHEMA.subscription_type
            assert root is not None
            field = root.fields[name]
            values = Values(where)
            variables = {
                a: values.value(arg.type, (a,)) for a, arg in field.args.items()
            }
            label = f"{name}({'.'.join(where)})"
            with client.websocket_connect(
                "/graphql", subprotocols=["graphql-transport-ws"]
            ) as ws:
                ws.send_json({"type": "connection_init", "payload": bearer()})
                assert ws.receive_json()["type"] == "connection_ack"
                ws.send_json(
                    {
                        "id": str(n),
                        "type": "subscribe",
                        "payload": {
                            "query": document("subscription", name, field),
                            "variables": variables,
                        },
                    }
                )
                answer = ws.receive_json()
            payload = answer.get("payload")
            errors = (
                payload
                if isinstance(payload, list)
                else ((payload or {}).get("errors") or [])
            )
            found = [
                e
                for e in errors
                if (e.get("extensions") or {}).get("code") == "InvalidId"
            ]
            expected = id_type(where[-1])
            if not found:
                failures.append(f"{label}: no InvalidId in {answer}")
            elif expected != "Node" and (
                found[0]["extensions"].get("expectedType") != expected
            ):
                failures.append(f"{label}: expected {expected}, got {found[0]}")
    assert seen == [], [str(r.url) for r in seen]
    assert failures == [], "\n".join(failures)


@pytest.mark.asyncio(loop_scope="module")
async def test_no_id_argument_accepts_a_raw_uuid():
    """Every ID argument, one at a time a raw UUID: typed InvalidId, nothing changed."""
    failures: list[str] = []
    async with gateway() as gw:
        for keyword, name, where in RAW_ID_CASES:
            root = SCHEMA.query_type if keyword == "query" else SCHEMA.mutation_type
            assert root is not None
            field = root.fields[name]
            values = Values(where)
            variables = {
                a: values.value(arg.type, (a,)) for a, arg in field.args.items()
            }
            gw.seen.clear()
            body = await gw.post(document(keyword, name, field), variables)
            label = f"{name}({'.'.join(where)})"
            writes = [r for r in gw.seen if r.method != "GET"]
            if writes:
                failures.append(f"{label}: called {writes[0].method} {writes[0].url}")
                continue
            expected = id_type(where[-1])
            if keyword == "query":
                found = [
                    e
                    for e in body.get("errors") or []
                    if (e.get("extensions") or {}).get("code") == "InvalidId"
                ]
                if not found:
                    failures.append(f"{label}: no InvalidId in {body}")
                elif expected != "Node" and (
                    found[0]["extensions"].get("expectedType") != expected
                ):
                    failures.append(f"{label}: expected {expected}, got {found[0]}")
                continue
            result = (body.get("data") or {}).get(name) or {}
            if result.get("code") != "InvalidId":
                failures.append(f"{label}: answered {result or body}")
                continue
            paths = [f["path"] for f in result.get("fields") or []]
            sent = [
                ".".join(p for p in path.split(".") if not p.isdigit())
                for path in paths
            ]
            if sent != [".".join(where)]:
                failures.append(f"{label}: path {paths}")
            if expected != "Node" and expected not in result["message"]:
                failures.append(f"{label}: message {result['message']!r}")
    assert failures == [], "\n".join(failures)


# -- closed sets are enums ------------------------------------------------------------

CLOSED_SET = re.compile(
    r"(status|state|kind|mode|visibility|role|roles|type|level|format|stage|scope"
    r"|category|outcome|decision|decisionRights|severity|about|phase|interval)$",
    re.IGNORECASE,
)
# Strings named like a closed set that are open on purpose.
OPEN_STRINGS = {
    "Competency.category": "the organisation's own grouping of its competencies",
    "DefineCompetencyInput.category": "the organisation's own grouping",
    "Risk.category": "the programme team's own register categories",
    "RegisterRiskInput.category": "the programme team's own register categories",
    "RoundProgressUpdate.phase": "the optimiser's phase names, informative only",
    "RoundProgress.phase": "the optimiser's phase names, informative only",
    "Person.level": "an Int, not a String",
}


def closed_set_strings() -> list[str]:
    found = []
    for type_name, gql_type in SCHEMA.type_map.items():
        if type_name.startswith("__"):
            continue
        if not isinstance(
            gql_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
        ):
            continue
        for name, field in gql_type.fields.items():
            if getattr(field, "deprecation_reason", None):
                continue
            named = get_named_type(field.type)
            if (
                isinstance(named, GraphQLScalarType)
                and named.name == "String"
                and CLOSED_SET.search(name)
                and f"{type_name}.{name}" not in OPEN_STRINGS
            ):
                found.append(f"{type_name}.{name}")
            args = getattr(field, "args", None) or {}
            for arg_name, arg in args.items():
                arg_type = get_named_type(arg.type)
                if (
                    isinstance(arg_type, GraphQLScalarType)
                    and arg_type.name == "String"
                    and CLOSED_SET.search(arg_name)
                ):
                    found.append(f"{type_name}.{name}({arg_name})")
    return found


def test_no_field_that_holds_a_closed_set_is_a_string():
    assert closed_set_strings() == []


def test_no_reference_is_a_raw_string_id():
    """An object referred to is a field returning it; raw ids only where deprecated
    or where the id is not an object of the graph (codes, keys, HR ids)."""
    keys = {
        "competencyId": "a competency's code, chosen by the organisation",
        "goalCompetencyIds": "competency codes",
        "meetingId": "a meeting's key within its council",
        "employeeId": "the HR system's id",
        "promptId": "a journal prompt's key",
        "planId": "a rotation plan's key within its round",
    }
    found = []
    for type_name, gql_type in SCHEMA.type_map.items():
        if not isinstance(
            gql_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
        ):
            continue
        for name, field in gql_type.fields.items():
            named = get_named_type(field.type)
            if (
                re.search(r"Ids?$", name)
                and isinstance(named, GraphQLScalarType)
                and named.name == "String"
                and not getattr(field, "deprecation_reason", None)
                and name not in keys
            ):
                found.append(f"{type_name}.{name}")
    assert found == []


# -- error paths point at input fields --------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _resolves(input_type: Any, path: str) -> bool:
    if path == "input":
        return True
    current = input_type
    for segment in path.split(".")[1:]:
        current = _unwrap(current)
        if isinstance(current, GraphQLList):
            if not segment.isdigit():
                return False
            current = current.of_type
            continue
        if not isinstance(current, GraphQLInputObjectType):
            return False
        if segment not in current.fields:
            return False
        current = current.fields[segment].type
    return True


def problem(request: httpx.Request) -> httpx.Response:
    """Every write refused with the service's own field paths (and some it made up)."""
    if request.method == "GET":
        return httpx.Response(404, json={"status": 404, "code": "NotFound"})
    try:
        sent = json.loads(request.content or b"{}")
    except ValueError:
        sent = {}
    paths = [f"body.{key}" for key in (sent if isinstance(sent, dict) else {})]
    paths += ["body.no_such_field", "details.geography", "session_id", "query.x"]
    return httpx.Response(
        422,
        json={
            "status": 422,
            "code": "ValidationError",
            "detail": "; ".join(f"{p}: bad value of {p}" for p in paths),
            "errors": [{"path": p, "message": f"bad {p}"} for p in paths],
        },
        headers={"content-type": "application/problem+json"},
    )


MUTATIONS = sorted(
    name for name, f in (SCHEMA.mutation_type.fields.items()) if "input" in f.args
)


@pytest.mark.asyncio(loop_scope="module")
async def test_every_mutation_error_path_is_a_field_of_its_input():
    failures: list[str] = []
    checked = 0
    async with gateway(problem) as gw:
        for name in MUTATIONS:
            field = SCHEMA.mutation_type.fields[name]
            values = Values(raw_at=())
            variables = {
                a: values.value(arg.type, (a,)) for a, arg in field.args.items()
            }
            body = await gw.post(document("mutation", name, field), variables)
            result = (body.get("data") or {}).get(name) or {}
            input_type = field.args["input"].type
            checked += bool(result.get("fields"))
            for f in result.get("fields") or []:
                if not _resolves(input_type, f["path"]):
                    failures.append(f"{name}: {f['path']}")
                if re.search(r"\b[a-z]+_[a-z_]+\b", f["message"] + result["message"]):
                    failures.append(f"{name}: snake_case in {result['message']!r}")
    assert failures == [], "\n".join(failures)
    assert checked > len(MUTATIONS) * 3 // 4  # most reached the service


@pytest.mark.asyncio(loop_scope="module")
async def test_a_service_path_is_reported_where_the_client_sent_the_field():
    def geography(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            422,
            json={
                "status": 422,
                "code": "ValidationError",
                "detail": "geography: not an ISO 3166 code",
                "errors": [
                    {"path": "geography", "message": "not an ISO 3166 code"},
                    {"path": "body.time_zone", "message": "time_zone is unknown"},
                ],
            },
            headers={"content-type": "application/problem+json"},
        )

    field = SCHEMA.mutation_type.fields["updatePerson"]
    values = Values(raw_at=())
    variables = {a: values.value(arg.type, (a,)) for a, arg in field.args.items()}
    async with gateway(geography) as gw:
        body = await gw.post(document("mutation", "updatePerson", field), variables)
    result = body["data"]["updatePerson"]
    assert result["code"] == "ValidationError"
    assert result["fields"] == [
        {"path": "input.details.geography", "message": "not an ISO 3166 code"},
        {"path": "input.details.timeZone", "message": "timeZone is unknown"},
    ]
    assert "_" not in result["message"]


@pytest.mark.asyncio(loop_scope="module")
async def test_feedback_on_a_person_names_the_field_sent():
    async with gateway() as gw:
        body = await gw.post(
            """mutation($input: GiveFeedbackInput!) { giveFeedback(input: $input) {
              __typename ... on ValidationError { code fields { path } } } }""",
            {
                "input": {
                    "relationshipId": gid("Relationship", "r-1"),
                    "subjectId": gid("Person", "p-1"),
                    "rating": 4,
                }
            },
        )
    result = body["data"]["giveFeedback"]
    assert result["code"] == "InvalidId"
    assert result["fields"] == [{"path": "input.subjectId"}]
    assert gw.seen == []


def test_the_leaves_of_an_input_are_its_fields():
    person = SCHEMA.mutation_type.fields["updatePerson"].args["input"].type
    assert ("details", "geography") in set(_leaves(person))


# -- enums carry their source's values --------------------------------------------------


def _document(service: str) -> Any:
    return json.loads((ROOT / "docs" / "openapi" / f"{service}.json").read_text())


def _values(document: Any, schema: Any) -> set[str]:
    """The enum a schema allows, through ``$ref`` and a nullable ``anyOf``."""

    def resolved(node: Any) -> Any:
        while "$ref" in node:
            node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
        return node

    schema = resolved(schema)
    if "anyOf" in schema:
        schema = next(resolved(d) for d in schema["anyOf"] if "enum" in resolved(d))
    return set(schema["enum"])


def _openapi(service: str, *path: str) -> set[str]:
    document = _document(service)
    node = document
    for key in path:
        node = node[key]
    return _values(document, node)


def _param(service: str, route: str, name: str) -> set[str]:
    document = _document(service)
    for op in document["paths"][route].values():
        for param in op.get("parameters", []):
            if param["name"] == name:
                return _values(document, param["schema"])
    raise KeyError(name)


def _sources() -> dict[type[enum.Enum], set[str]]:
    from contracts import insights, matching, notifications, profiles
    from contracts.advisors import councils
    from contracts.api import history as history_api
    from contracts.api.matching import NoteAction
    from contracts.sessions import development, meetings, notes, relationships
    from contracts.sessions.development import ConfirmerRole
    from gateway.history import document as history_document
    from gateway.history import jobs as history_jobs
    from gateway.history import types as history_types
    from gateway.insights import types as insights_types
    from gateway.matching import weights as weights_types
    from gateway.notifications import types as notifications_types
    from services.advisors.domain import council as council_domain
    from services.advisors.domain import diligence
    from services.notifications.domain import preferences as notification_preferences
    from services.notifications.domain import webhooks as notification_webhooks
    from services.sessions.domain import (
        checkin,
        meeting,
        milestone,
        relationship,
        rotation,
    )

    def lit(t: Any) -> set[str]:
        """The values of a contract's closed set (a StrEnum, or a Literal)."""
        if isinstance(t, type) and issubclass(t, enum.Enum):
            return {str(member.value) for member in t}
        return set(get_args(t))

    return {
        enums.ProgrammeRole: lit(profiles.ProgrammeRole),
        enums.CoachingFormat: lit(profiles.CoachingFormat),
        enums.OutcomeKind: lit(profiles.OutcomeKind),
        enums.PathwayStage: lit(profiles.PathwayStage),
        enums.ProgrammeType: lit(profiles.ProgrammeType)
        | lit(matching.ProgrammeType)
        | lit(relationships.RelationshipKind),
        enums.MatchingMode: lit(matching.Mode),
        enums.EquityDimension: lit(insights.EquityDimension) | {"demographics"},
        enums.ImportStatus: _openapi(
            "profiles", "components", "schemas", "ImportReport", "properties", "status"
        ),
        enums.ImportFormat: _openapi(
            "profiles", "components", "schemas", "ImportReport", "properties", "format"
        ),
        enums.PersonStatus: _param("profiles", "/people", "status"),
        enums.PairingStatus: _param("matching", "/pairings", "state"),
        enums.PairingStep: {a.value for a in NoteAction},
        enums.RelationshipStatus: {
            relationship.ACTIVE,
            relationship.PAUSED,
            relationship.CONCLUDED,
        },
        enums.ConclusionReason: lit(relationships.ConclusionReason) - {"erased"},
        enums.SessionState: {
            meeting.SCHEDULED,
            meeting.HELD,
            meeting.CANCELLED,
            meeting.MISSED,
        },
        enums.CancellationReason: lit(meetings.CancellationReason),
        enums.SessionFormat: lit(meetings.SessionFormat),
        enums.MilestoneState: {milestone.OPEN, milestone.ACHIEVED, milestone.MISSED},
        enums.MilestoneProgress: _openapi(
            "sessions", "components", "schemas", "StatusIn", "properties", "status"
        ),
        enums.CheckInKind: lit(development.CheckInKind),
        enums.ConfirmerRole: {r.value for r in ConfirmerRole},
        enums.RotationState: {
            rotation.ASSIGNED,
            rotation.DEBRIEFED,
            rotation.COMPLETED,
        },
        enums.ProjectKind: lit(development.ProjectKind),
        enums.EscalationState: {checkin.OPEN, checkin.RESOLVED},
        enums.EscalationCategory: lit(development.EscalationCategory),
        enums.EscalationOutcome: lit(development.EscalationOutcome),
        enums.PartyRole: lit(notes.PartyRole),
        enums.NoteKind: lit(notes.NoteKind),
        enums.NoteVisibility: lit(notes.Visibility),
        enums.FeedbackAbout: lit(notes.FeedbackAbout),
        enums.CheckStatus: lit(diligence.CheckStatus) | {"expired"},
        enums.CheckResult: _openapi(
            "advisors", "components", "schemas", "CheckResult", "properties", "status"
        ),
        enums.CouncilMemberKind: lit(councils.MemberKind),
        enums.DecisionRights: {council_domain.ADVISE},
        enums.RecommendationStatus: set(council_domain.STATUSES),
        enums.RecommendationDecision: _param(
            "advisors", "/recommendations/{recommendation_id}/{decision}", "decision"
        ),
        enums.RiskStatus: lit(councils.RiskStatus),
        enums.MitigationStatus: _openapi(
            "advisors", "components", "schemas", "MitigationIn", "properties", "status"
        ),
        enums.HealthState: lit(insights.HealthState),
        enums.WarningLevel: lit(insights.WarningLevel),
        insights_types.ImpactVerdict: lit(insights.ImpactVerdict),
        insights_types.MentorStatus: lit(insights.MentorStatus),
        history_types.HistoryRecordOutcome: lit(history_api.HistoryOutcome)
        | {history_document.NOT_CHECKED},
        history_types.HistorySection: set(history_document.SECTIONS),
        history_types.HistoryImportStage: set(history_jobs.STAGES),
        weights_types.MatchingCriterion: lit(matching.Criterion),
        weights_types.WeightsBasis: lit(matching.WeightsSource),
        notifications_types.NotificationKind: lit(notifications.NotificationKind),
        notifications_types.NotificationChannel: lit(notifications.Channel),
        notifications_types.WebhookDeliveryStatus: lit(notifications.DeliveryStatus),
        notifications_types.NotificationLocale: set(notification_preferences.LOCALES),
        notifications_types.WebhookEventType: set(notification_webhooks.WEBHOOK_TYPES),
    }


def test_every_enum_has_the_values_of_its_source():
    drift = {
        cls.__name__: (sorted(m.value for m in cls), sorted(source))
        for cls, source in _sources().items()
        if {m.value for m in cls} != source
    }
    assert drift == {}


# Enums the gateway defines itself, with no upstream set to follow (a GraphQL-only
# choice, such as a direction or a view): each with its reason.
OWN_ENUMS = {
    "AgreementScope": "a contracts enum served as is: its members are the source's",
    "HoursKind": "a contracts enum served as is: its members are the source's",
    "HealthInterval": "a choice of the query (week or month), no upstream set",
    "ScorecardScope": "which scorecard the gateway asked for, no upstream set",
    "PairingUpdateKind": "the gateway's name for the pairing events it follows",
}
# Served enums whose source is not mapped yet: a ratchet (this set only shrinks).
NOT_YET_MAPPED = {
    "AdvisorStatus",
    "AgreementStatus",
    "MembershipStatus",
    "RiskSeverity",
    "RoundStatus",
    "SurveyState",
}


def test_every_enum_of_the_schema_is_checked_against_its_source():
    """A new enum cannot escape the check above: each one the schema serves maps to
    a source in ``_sources`` (or is listed, with its reason, as the gateway's own)."""
    checked = {cls.__dict__.get("__strawberry_definition__") for cls in _sources()}
    checked_names = {d.name for d in checked if d is not None}
    served = {
        name
        for name, t in SCHEMA.type_map.items()
        if isinstance(t, GraphQLEnumType) and not name.startswith("__")
    }
    assert sorted(served - checked_names - set(OWN_ENUMS) - NOT_YET_MAPPED) == []
    assert NOT_YET_MAPPED <= served - checked_names  # mapped since: drop it here


def test_every_enum_value_is_described():
    for type_name, gql_type in SCHEMA.type_map.items():
        if isinstance(gql_type, GraphQLEnumType) and not type_name.startswith("__"):
            assert gql_type.description, type_name
            if type_name in ("AgreementScope", "HoursKind"):
                continue  # members of a contracts enum: described by the type
            for value_name, value in gql_type.values.items():
                assert value.description, f"{type_name}.{value_name}"


def test_every_notification_kind_names_its_subjects_type():
    """A notification's subject is a global id of a known type, for every kind."""
    from contracts.notifications import NotificationKind
    from gateway.notifications.types import SUBJECT_TYPES

    assert set(SUBJECT_TYPES) == {k.value for k in NotificationKind}
    assert set(SUBJECT_TYPES.values()) <= set(SCHEMA.type_map)

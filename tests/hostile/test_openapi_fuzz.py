"""Property-based fuzzing of each service's OpenAPI document with schemathesis.

For every operation of every service, schemathesis generates requests from the
document: valid ones (``positive``) and ones that break it (``negative``), a few of
each (``EXAMPLES``, derandomised so CI sees the same cases every run), sent in-process
to the app on real PostgreSQL and Kafka with an admin + coordinator token.

What is checked on every answer:

- never a 5xx (schemathesis' ``not_a_server_error``);
- the body is JSON: ``application/json`` for a 2xx (or a media type the operation
  documents, or the one the request named: ``/equity.csv``, ``?format=csv``, ``.ics``),
  ``application/problem+json`` with a ``code`` for a 4xx (on the SCIM routes, the
  SCIM error ``application/scim+json`` that RFC 7644 prescribes);
- every status is one the operation documents (405, a method the path does not
  have, is the router's), and an error comes in the media type documented for it;
- a 2xx matches the response schema the operation documents for its status
  (schemathesis' ``response_schema_conformance``).

All failures of a service are collected and reported together (not shrunk), so one
run lists every operation that breaks.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.hostile.document import operations
from tests.hostile.platform import CALLER_ROLES, SERVICES, build
from tests.hostile.verdicts import SCIM_ERROR
from tests.profiles.conftest import token

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.postgres,
    # schemathesis draws from `random` inside its strategies (its own business).
    pytest.mark.filterwarnings(
        "ignore::hypothesis.errors.HypothesisDeprecationWarning"
    ),
]

EXAMPLES = 5  # per operation and generation mode
SELF_DESCRIBING = {"application/json", "application/problem+json"}
SCIM_JSON = "application/scim+json"
# A route that names its format answers in it (``/equity.csv``, ``?format=csv``,
# ``/calendar/{id}.ics``) even where the document does not say so yet.
ASKED_FOR = {"csv": "text/csv", "ics": "text/calendar"}


def documented(operation: Any, status: int) -> dict[str, Any]:
    """The operation's documented response for ``status`` (or its range)."""
    responses = operation.definition.raw.get("responses", {})
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            return responses[key] or {}
    return {}


def media_type(response: Any) -> str:
    return (response.headers.get("content-type") or [""])[0].split(";")[0].strip()


def judge(operation: Any, case: Any, response: Any) -> str | None:
    """Why this answer is wrong, or None."""
    status = response.status_code
    if status >= 500:
        return f"{status} server error"
    if not documented(operation, status) and status != 405:
        return f"{status} is not a status the operation documents"
    if status == 204 or not response.content:
        return None
    kind = media_type(response)
    scim = operation.path.startswith("/scim/")
    if 400 <= status < 600:
        # SCIM routes answer SCIM errors (RFC 7644 section 3.12), the rest problems;
        # either way, in the media type the operation documents for the status.
        if kind not in ("application/problem+json", *((SCIM_JSON,) if scim else ())):
            return f"{status} answered as {kind or 'no content type'}, not problem+json"
        promised = set(documented(operation, status).get("content", {}))
        if status != 405 and promised and kind not in promised:
            return f"{status} answered as {kind}, documented as {sorted(promised)}"
        try:
            body = response.json()
        except ValueError:
            body = {}
        typed = body.get("code") if isinstance(body, dict) else None
        if scim and isinstance(body, dict):
            typed = typed or SCIM_ERROR in (body.get("schemas") or [])
        return None if typed else f"{status} problem without a code"
    described = documented(operation, status).get("content", {})
    asked = {
        ASKED_FOR[fmt]
        for fmt in (
            operation.path.rsplit(".", 1)[-1],
            str((case.query or {}).get("format", "")),
        )
        if fmt in ASKED_FOR
    }
    allowed = (
        SELF_DESCRIBING | set(described) | asked | ({SCIM_JSON} if scim else set())
    )
    if kind not in allowed:
        return f"{status} answered as {kind!r}, which the operation does not document"
    schema = (described.get(kind) or {}).get("schema")
    if schema and 200 <= status < 300:
        try:
            case.validate_response(response, checks=[response_schema_conformance])
        except Exception as exc:
            first = " ".join(str(exc).split())[:300]
            return f"{status} does not match its documented schema: {first}"
    return None


class Fuzzer:
    """Runs one operation's generated cases and keeps what went wrong."""

    def __init__(self, auth: dict[str, str]) -> None:
        self.auth = auth
        self.sent = 0
        self.problems: dict[str, list[str]] = {}

    def run(self, operation: Any) -> None:
        label = f"{operation.method.upper()} {operation.path}"
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=2 * EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def fuzz(case: Any) -> None:
            response = case.call(headers=self.auth)
            self.sent += 1
            wrong = judge(operation, case, response)
            if wrong:
                body = " ".join(response.text.split())[:200]
                self.problems.setdefault(label, []).append(
                    f"{wrong}: {case.formatted_path} "
                    f"query={case.query} body={str(case.body)[:120]!r} -> {body}"
                )

        fuzz()


@pytest.mark.parametrize("service", SERVICES)
def test_schemathesis_finds_no_server_error_and_no_untyped_answer(
    service: str, postgres_server, kafka_bootstrap
) -> None:
    app = build(service, postgres_server.create_database(), kafka_bootstrap)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    fuzzer = Fuzzer(token(f"fuzz-{service}", *CALLER_ROLES, sub="fuzz-admin"))
    fuzzed = 0
    try:
        for result in schema.get_all_operations():
            fuzzer.run(result.ok())
            fuzzed += 1
    finally:
        asgi.shutdown_lifespans()
    print(f"schemathesis[{service}]: {fuzzer.sent} requests to {fuzzed} operations")
    assert fuzzed == len(operations(service, app.openapi())), "operations left out"
    assert fuzzer.sent >= fuzzed, "some operation got no request"
    if fuzzer.problems:
        lines = [
            f"{service}: {len(fuzzer.problems)} operations answered wrongly "
            f"({fuzzer.sent} requests sent)"
        ]
        for label, found in fuzzer.problems.items():
            lines.append(f"  {label}")
            lines.extend(f"    {p}" for p in found[:3])
            if len(found) > 3:
                lines.append(f"    … and {len(found) - 3} more")
        pytest.fail("\n".join(lines), pytrace=False)

"""``admitParticipant(input: {admittedOn})`` (issue 20): the gateway sends the day an
admission took effect to profiles and answers it; profiles' typed refusal naming the
field comes back as a ValidationError on ``input.admittedOn``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.gateway.test_graph_pieces import gid
from tests.gateway.test_hardening import gateway, not_found

pytestmark = pytest.mark.asyncio(loop_scope="module")

ADMIT = """mutation($i: AdmitParticipantInput!) { admitParticipant(input: $i) {
  __typename ... on AdmitParticipantSuccess { status waitingPosition admittedOn }
  ... on ValidationError { code fields { path message } } } }"""


def profiles(status: int = 201, answer: dict[str, Any] | None = None):
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "profiles" and request.url.path == (
            "/cohorts/c-1/participants"
        ):
            body = json.loads(request.content)
            return httpx.Response(
                status,
                json=answer
                or {
                    "cohort_id": "c-1",
                    "person_id": body["person_id"],
                    "status": "admitted",
                    "waiting_position": None,
                    "admitted_on": body.get("admitted_on", "2026-12-03"),
                },
            )
        if request.url.host == "profiles" and request.url.path in (
            "/cohorts/batch",
            "/people/batch",
        ):
            return httpx.Response(200, json={"items": []})
        return not_found(request)

    return handle


def admit(**extra: Any) -> dict[str, Any]:
    return {
        "i": {"cohortId": gid("Cohort", "c-1"), "personId": gid("Person", "p-1")}
        | extra
    }


def sent(gw) -> list[dict[str, Any]]:
    return [
        json.loads(r.content)
        for r in gw.seen
        if r.url.path == "/cohorts/c-1/participants"
    ]


async def test_a_past_admission_day_is_sent_and_answered():
    async with gateway(profiles()) as gw:
        body = await gw.post(ADMIT, admit(admittedOn="2025-09-01"))
        assert sent(gw) == [
            {"person_id": "p-1", "role": "mentee", "admitted_on": "2025-09-01"}
        ]
    assert body["data"]["admitParticipant"] == {
        "__typename": "AdmitParticipantSuccess",
        "status": "ADMITTED",
        "waitingPosition": None,
        "admittedOn": "2025-09-01",
    }


async def test_without_a_day_none_is_sent_and_the_services_day_is_answered():
    async with gateway(profiles()) as gw:
        body = await gw.post(ADMIT, admit())
        assert sent(gw) == [{"person_id": "p-1", "role": "mentee"}]
    assert body["data"]["admitParticipant"]["admittedOn"] == "2026-12-03"


async def test_the_services_refusal_names_the_field():
    refusal = {
        "type": "about:blank",
        "code": "ValidationError",
        "title": "Invalid input",
        "status": 422,
        "detail": "admitted_on: before the person's hire date (2015-03-01)",
        "errors": [
            {
                "path": "admitted_on",
                "message": "before the person's hire date (2015-03-01)",
            }
        ],
    }
    async with gateway(profiles(422, refusal)) as gw:
        body = await gw.post(ADMIT, admit(admittedOn="2014-01-01"))
    answer = body["data"]["admitParticipant"]
    assert answer["__typename"] == "ValidationError"
    assert [f["path"] for f in answer["fields"]] == ["input.admittedOn"]

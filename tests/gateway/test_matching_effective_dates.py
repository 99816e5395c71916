"""``approvePairing(input: {startsOn})`` (issue 20): the gateway sends the coordinator's
start to matching, shows the pairing's ``startsOn``, refuses it on any other step
before calling anyone, and passes matching's typed refusal through."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.gateway.test_graph_pieces import gid
from tests.gateway.test_hardening import gateway, not_found
from tests.gateway.test_matching_answers import PAIRING

pytestmark = pytest.mark.asyncio(loop_scope="module")

APPROVE = """mutation($i: PairingInput!) { approvePairing(input: $i) {
  __typename ... on PairingSuccess { pairing { status startsOn } }
  ... on ValidationError { code fields { path message } } } }"""
ACCEPT = """mutation($i: PairingInput!) { acceptPairing(input: $i) {
  __typename ... on ValidationError { code fields { path } } } }"""


def approving(status: int = 200, answer: dict[str, Any] | None = None):
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "matching" and request.url.path == (
            "/pairings/p-1/approve"
        ):
            body = json.loads(request.content) if request.content else {}
            starts = body.get("starts_on")
            return httpx.Response(
                status,
                json=answer
                or PAIRING | {"state": "approved", "notes": [], "starts_on": starts},
            )
        return not_found(request)

    return handle


async def test_approval_sends_the_start_and_the_pairing_shows_it():
    async with gateway(approving()) as gw:
        body = await gw.post(
            APPROVE,
            {"i": {"pairingId": gid("Pairing", "p-1"), "startsOn": "2025-09-01"}},
        )
        sent = [r for r in gw.seen if r.url.path.endswith("/approve")]
    assert body["data"]["approvePairing"] == {
        "__typename": "PairingSuccess",
        "pairing": {"status": "APPROVED", "startsOn": "2025-09-01"},
    }
    assert [json.loads(r.content) for r in sent] == [{"starts_on": "2025-09-01"}]


async def test_approval_without_a_start_sends_none_and_shows_null():
    async with gateway(approving()) as gw:
        body = await gw.post(APPROVE, {"i": {"pairingId": gid("Pairing", "p-1")}})
        sent = [r for r in gw.seen if r.url.path.endswith("/approve")]
    assert body["data"]["approvePairing"]["pairing"] == {
        "status": "APPROVED",
        "startsOn": None,
    }
    assert len(sent) == 1 and json.loads(sent[0].content or b"null") in (None, {})


async def test_matchings_refusal_of_a_start_is_a_validation_error_naming_it():
    refusal = {
        "type": "about:blank",
        "code": "ValidationError",
        "title": "Invalid input",
        "status": 422,
        "detail": "starts_on: must not be more than a year ahead",
        "errors": [{"path": "starts_on", "message": "must not be more than a year"}],
    }
    async with gateway(approving(422, refusal)) as gw:
        body = await gw.post(
            APPROVE,
            {"i": {"pairingId": gid("Pairing", "p-1"), "startsOn": "2029-01-01"}},
        )
    answer = body["data"]["approvePairing"]
    assert answer["__typename"] == "ValidationError" and answer["code"] == (
        "ValidationError"
    )
    assert [f["path"] for f in answer["fields"]] == ["input.startsOn"]


async def test_a_start_on_acceptance_is_refused_before_any_call():
    async with gateway() as gw:
        body = await gw.post(
            ACCEPT,
            {"i": {"pairingId": gid("Pairing", "p-1"), "startsOn": "2025-09-01"}},
        )
        calls = [r for r in gw.seen if r.url.host == "matching"]
    assert body["data"]["acceptPairing"] == {
        "__typename": "ValidationError",
        "code": "ValidationError",
        "fields": [{"path": "input.startsOn"}],
    }
    assert calls == []

"""The gateway joins insights' suggested weights with matching's preview and apply:
matching never asks insights, the gateway hands the suggestions over (weights, and
their evidence as the change's basis). Stand-in services (``httpx.MockTransport``)
record what the gateway sends."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.gateway.platform import new_tenant
from tests.gateway.test_graph_pieces import gid
from tests.gateway.test_hardening import gateway, not_found

pytestmark = pytest.mark.asyncio(loop_scope="module")

PRESET = {
    "skills": 0.3,
    "experience": 0.15,
    "perspective": 0.15,
    "style": 0.1,
    "formats": 0.05,
    "availability": 0.1,
    "goals": 0.15,
}
CURRENT = {
    "cohort_id": "c-1",
    "programme_type": "standard",
    "preset": True,
    "weights": [{"criterion": c, "weight": w} for c, w in PRESET.items()],
    "history": [],
}


def side(label: str, pairings: int, healthy: int) -> dict[str, Any]:
    return {
        "label": label,
        "pairings": pairings,
        "healthy": healthy,
        "rate": healthy / pairings,
        "interval": [0.1, 0.9],
    }


PATTERNS = {
    "pairings": 40,
    "confidence": 0.95,
    "characteristics": {},
    "suggested_weights": [
        {
            "criterion": "perspective",
            "change": 0.05,
            "basis": "cross_function vs same_function",
            "reason": "15 of 20 against 4 of 20 healthy",
            "evidence": {
                "outcome": "healthy",
                "characteristic": "function",
                "favoured": side("cross_function", 20, 15),
                "other": side("same_function", 20, 4),
                "p_value": 0.0012,
                "alpha": 0.05,
            },
        },
        {
            "criterion": "style",
            "change": 0.0,
            "basis": "style combinations",
            "reason": "not enough evidence: 0 against 0 pairings",
            "evidence": {
                "outcome": "healthy",
                "characteristic": "style",
                "favoured": side("x", 1, 1),
                "other": side("y", 1, 0),
                "p_value": 1.0,
                "alpha": 0.05,
            },
        },
    ],
}
PREVIEW_SIDE = {
    "weights": [{"criterion": "skills", "weight": 1.0}],
    "paired": 2,
    "unmatched": 0,
    "total_score": 1.2,
    "mean_score": 0.6,
}
PREVIEW = {
    "cohort_id": "c-1",
    "current": PREVIEW_SIDE,
    "proposed": {**PREVIEW_SIDE, "total_score": 1.4, "mean_score": 0.7},
    "differing": 1,
    "pairs": [
        {
            "mentee_id": "e-1",
            "current_mentor_id": "m-1",
            "current_score": 0.5,
            "proposed_mentor_id": "m-2",
            "proposed_score": 0.7,
            "differs": True,
        }
    ],
}
APPLIED = {
    **CURRENT,
    "preset": False,
    "history": [
        {
            "version": 1,
            "applied_at": "2026-12-03T08:00:00+00:00",
            "applied_by": "coordinator-1",
            "source": "pairing_patterns",
            "suggested_on": "2026-12-03",
            "weights": CURRENT["weights"],
            "previous": [],
            "basis": [
                {
                    "criterion": "perspective",
                    "change": 0.05,
                    "characteristic": "function",
                    "favoured_pairings": 20,
                    "favoured_healthy": 15,
                    "other_pairings": 20,
                    "other_healthy": 4,
                    "p_value": 0.0012,
                }
            ],
        }
    ],
}
SUGGESTED = {
    "skills": 0.3,
    "experience": 0.15,
    "perspective": 0.2,
    "style": 0.1,
    "formats": 0.05,
    "availability": 0.1,
    "goals": 0.15,
}


def services(request: httpx.Request) -> httpx.Response:
    key = (request.url.host, request.method, request.url.path)
    answers = {
        ("matching", "GET", "/cohorts/c-1/weights"): CURRENT,
        ("insights", "GET", "/patterns"): PATTERNS,
        ("matching", "POST", "/cohorts/c-1/weights/preview"): PREVIEW,
        ("matching", "PUT", "/cohorts/c-1/weights"): APPLIED,
    }
    if key in answers:
        return httpx.Response(200, json=answers[key])
    return not_found(request)


def sent(seen: list[httpx.Request], method: str) -> list[Any]:
    return [json.loads(r.content) for r in seen if r.method == method]


PREVIEW_QUERY = """query($c: ID!, $w: [CriterionWeightInput!]) {
  matchingWeightsPreview(cohort: $c, weights: $w) {
    differing
    current { paired unmatched totalScore meanScore weights { criterion weight } }
    proposed { totalScore meanScore }
    pairs { currentScore proposedScore differs } } }"""


async def test_a_preview_without_weights_uses_the_suggestions_on_the_current_ones():
    async with gateway(services) as gw:
        body = await gw.post(PREVIEW_QUERY, {"c": gid("Cohort", "c-1")})
    assert "errors" not in body, body
    preview = body["data"]["matchingWeightsPreview"]
    assert preview["differing"] == 1
    assert preview["current"] == {
        "paired": 2,
        "unmatched": 0,
        "totalScore": 1.2,
        "meanScore": 0.6,
        "weights": [{"criterion": "SKILLS", "weight": 1.0}],
    }
    assert preview["proposed"] == {"totalScore": 1.4, "meanScore": 0.7}
    assert preview["pairs"] == [
        {"currentScore": 0.5, "proposedScore": 0.7, "differs": True}
    ]
    # The current weights plus the one significant change (perspective +0.05).
    (posted,) = sent(gw.seen, "POST")
    assert posted == {"weights": pytest.approx(SUGGESTED)}
    assert not sent(gw.seen, "PUT")


async def test_a_preview_with_weights_asks_nobody_else_and_records_nothing():
    async with gateway(services) as gw:
        body = await gw.post(
            PREVIEW_QUERY,
            {
                "c": gid("Cohort", "c-1"),
                "w": [{"criterion": "PERSPECTIVE", "weight": 2}],
            },
        )
    assert "errors" not in body, body
    assert [r.url.host for r in gw.seen] == ["matching"]
    assert sent(gw.seen, "POST") == [{"weights": {"perspective": 2.0}}]


APPLY = """mutation($input: ApplyMatchingWeightsInput!) {
  applyMatchingWeights(input: $input) {
    __typename
    ... on ApplyMatchingWeightsSuccess { weights { preset weights { criterion weight }
      history { version appliedAt source suggestedOn
        basis { criterion change characteristic favouredPairings favouredHealthy
                otherPairings otherHealthy pValue } } } }
    ... on ValidationError { code fields { path message } } } }"""


async def test_applying_the_suggestions_sends_their_evidence_along():
    async with gateway(services) as gw:
        body = await gw.post(APPLY, {"input": {"cohortId": gid("Cohort", "c-1")}})
    assert "errors" not in body, body
    result = body["data"]["applyMatchingWeights"]
    assert result["__typename"] == "ApplyMatchingWeightsSuccess"
    (change,) = result["weights"]["history"]
    assert change["source"] == "PAIRING_PATTERNS"
    assert change["basis"] == [
        {
            "criterion": "PERSPECTIVE",
            "change": 0.05,
            "characteristic": "function",
            "favouredPairings": 20,
            "favouredHealthy": 15,
            "otherPairings": 20,
            "otherHealthy": 4,
            "pValue": 0.0012,
        }
    ]
    (put,) = sent(gw.seen, "PUT")
    assert put["weights"] == pytest.approx(SUGGESTED)
    assert put["source"] == "pairing_patterns" and put["suggested_on"]
    assert put["basis"] == [
        {
            "criterion": "perspective",
            "change": 0.05,
            "characteristic": "function",
            "favoured_pairings": 20,
            "favoured_healthy": 15,
            "other_pairings": 20,
            "other_healthy": 4,
            "p_value": 0.0012,
        }
    ]


async def test_weights_set_by_hand_are_recorded_without_evidence():
    async with gateway(services) as gw:
        body = await gw.post(
            APPLY,
            {
                "input": {
                    "cohortId": gid("Cohort", "c-1"),
                    "basis": "COORDINATOR",
                    "weights": [{"criterion": "SKILLS", "weight": 1}],
                }
            },
        )
    assert body["data"]["applyMatchingWeights"]["__typename"] == (
        "ApplyMatchingWeightsSuccess"
    )
    assert [r.url.host for r in gw.seen] == ["matching"]
    assert sent(gw.seen, "PUT") == [
        {"weights": {"skills": 1.0}, "source": "coordinator"}
    ]


@pytest.mark.parametrize(
    ("weights", "path"),
    [
        (
            [
                {"criterion": "SKILLS", "weight": 1},
                {"criterion": "SKILLS", "weight": 2},
            ],
            "input.weights.1.criterion",
        ),
        ([{"criterion": "GOALS", "weight": -1}], "input.weights.0.weight"),
        ([{"criterion": "GOALS", "weight": 101}], "input.weights.0.weight"),
        ([{"criterion": "GOALS", "weight": 0}], "input.weights"),
        ([], "input.weights"),
    ],
)
async def test_bad_weights_are_refused_with_their_path_and_nothing_is_sent(
    weights, path
):
    async with gateway(services) as gw:
        body = await gw.post(
            APPLY,
            {
                "input": {
                    "cohortId": gid("Cohort", "c-1"),
                    "basis": "COORDINATOR",
                    "weights": weights,
                }
            },
        )
        preview = await gw.post(
            PREVIEW_QUERY, {"c": gid("Cohort", "c-1"), "w": weights}
        )
    result = body["data"]["applyMatchingWeights"]
    assert result["code"] == "ValidationError"
    assert [f["path"] for f in result["fields"]] == [path]
    assert [e["extensions"]["code"] for e in preview["errors"]] == ["ValidationError"]
    assert gw.seen == []


async def test_a_raw_cohort_id_is_refused():
    async with gateway(services) as gw:
        body = await gw.post(APPLY, {"input": {"cohortId": "c-1"}})
    assert body["data"]["applyMatchingWeights"]["code"] == "InvalidId"
    assert gw.seen == []


# -- on the whole platform ---------------------------------------------------------

PLATFORM_PREVIEW = """query($c: ID!, $w: [CriterionWeightInput!]) {
  matchingWeightsPreview(cohort: $c, weights: $w) {
    differing current { paired totalScore } proposed { paired totalScore }
    pairs { mentee { id } currentMentor { id } proposedMentor { id } differs } } }"""
HISTORY = """query($c: ID!) { matchingWeights(cohort: $c) {
  preset weights { criterion weight }
  history { version source appliedBy { id } weights { criterion weight } } } }"""
PATTERNS_QUERY = """{ pairingPatterns { pairings
  suggestedWeights { criterion change reason
    evidence { favoured { pairings healthy } other { pairings } pValue alpha } } } }"""


@pytest.mark.kafka
async def test_on_the_platform_no_history_suggests_nothing_and_a_hand_change_is_kept(
    platform,
):
    from tests.gateway.test_matching import build_cohort

    tenant = new_tenant()
    org = await build_cohort(platform, tenant, mentees=3)
    admin = org["admin"]
    cohort = gid("Cohort", org["cohort"])

    patterns = (await platform.graphql(PATTERNS_QUERY, bearer=admin))["data"]
    for suggestion in patterns["pairingPatterns"]["suggestedWeights"]:
        assert suggestion["change"] == 0
        assert suggestion["reason"].startswith("not enough evidence")
        assert suggestion["evidence"]["alpha"] == 0.05

    preview = await platform.graphql(
        PLATFORM_PREVIEW,
        {"c": cohort, "w": [{"criterion": "PERSPECTIVE", "weight": 1}]},
        bearer=admin,
    )
    assert "errors" not in preview, preview
    answer = preview["data"]["matchingWeightsPreview"]
    # Everyone shares unit, geography and function: perspective alone scores every
    # pair 0, so that weighting pairs nobody, and the preview says so.
    assert answer["current"]["paired"] == 3 and answer["current"]["totalScore"] > 0
    assert answer["proposed"] == {"paired": 0, "totalScore": 0.0}
    assert answer["differing"] == 3
    for pair in answer["pairs"]:
        assert pair["mentee"] and pair["currentMentor"] and pair["differs"]
        assert pair["proposedMentor"] is None
    # Nothing to apply from an empty history: the suggestions are the weights now.
    refused = await platform.graphql(
        APPLY, {"input": {"cohortId": cohort}}, bearer=admin
    )
    refusal = refused["data"]["applyMatchingWeights"]
    assert refusal["code"] == "ValidationError"
    assert [f["path"] for f in refusal["fields"]] == ["input.basis"]
    preset = await platform.graphql(
        APPLY,
        {
            "input": {
                "cohortId": cohort,
                "basis": "COORDINATOR",
                "weights": [
                    {"criterion": c.upper(), "weight": w} for c, w in PRESET.items()
                ],
            }
        },
        bearer=admin,
    )
    assert preset["data"]["applyMatchingWeights"]["code"] == "ValidationError"
    history = (await platform.graphql(HISTORY, {"c": cohort}, bearer=admin))["data"]
    assert history["matchingWeights"]["preset"] is True

    done = await platform.graphql(
        APPLY,
        {
            "input": {
                "cohortId": cohort,
                "basis": "COORDINATOR",
                "weights": [{"criterion": "SKILLS", "weight": 3},
                            {"criterion": "GOALS", "weight": 1}],
            }
        },
        bearer=admin,
    )  # fmt: skip
    assert done["data"]["applyMatchingWeights"]["__typename"] == (
        "ApplyMatchingWeightsSuccess"
    ), done
    kept = (await platform.graphql(HISTORY, {"c": cohort}, bearer=admin))["data"]
    weights = {
        w["criterion"]: w["weight"]
        for w in kept["matchingWeights"]["weights"]
        if w["weight"]
    }
    assert weights == {"SKILLS": 3.0, "GOALS": 1.0}
    (change,) = kept["matchingWeights"]["history"]
    assert change["version"] == 1 and change["source"] == "COORDINATOR"

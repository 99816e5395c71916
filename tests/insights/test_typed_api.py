"""Insights' typed API: the response models answer exactly what the domain computed
(same fields, same nulls, same numbers), and the document says what the routes do
(CSV beside JSON, the closed sets as enums, the error statuses)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from pydantic import BaseModel

from contracts.api import insights as api
from contracts.insights import EquityDimension, HealthInterval, HealthState
from launcher.openapi_export import current
from services.insights.domain import equity, health, stats
from tests.insights.test_equity_domain import organisation
from tests.insights.test_scorecard_domain import ORG, card

pytestmark = pytest.mark.unit

DOCUMENT = current("insights")


def answered(model: type[BaseModel], computed: object) -> object:
    """``computed`` as the route answers it through ``model`` (JSON text, decoded)."""
    return json.loads(model.model_validate(computed).model_dump_json(by_alias=True))


def as_json(computed: object) -> object:
    return json.loads(json.dumps(computed))


MODELS: dict[str, type[BaseModel]] = {
    "mentee": api.MenteeScorecard,
    "relationship": api.RelationshipScorecard,
    "cohort": api.CohortScorecard,
    "programme": api.ProgrammeScorecard,
}


@pytest.mark.parametrize("key", list(ORG.expected), ids=str)
def test_every_scorecard_answers_through_its_model_unchanged(key):
    computed = card(ORG.envelopes, *key)
    assert answered(MODELS[key[0]], computed) == as_json(computed)
    # Ints stay ints and floats floats: the JSON text is the same, not just equal.
    assert json.dumps(answered(MODELS[key[0]], computed), sort_keys=True) == (
        json.dumps(as_json(computed), sort_keys=True)
    )


def test_an_equity_report_answers_through_its_model_unchanged():
    people = organisation({"Retail": (20, 19), "Finance": (14, 9), "Legal": (2, 2)})
    for dimension in ("business_unit", "level_band", "demographics.gender"):
        report = equity.equity_report(people, dimension, k=5, as_of=date(2027, 6, 1))
        assert answered(api.EquityReport, report) == as_json(report)
    small = equity.equity_report(
        organisation({"Legal": (2, 2)}), "business_unit", k=5, as_of=date(2027, 6, 1)
    )
    assert answered(api.EquityReport, small)["total"] == {"suppressed": True}


def test_pairing_patterns_answer_through_their_model_unchanged():
    obs: list[stats.Observation] = [
        {
            "traits": {"function": "cross_function"},
            "progressed": i < 9,
            "completed": i < 5,
        }
        for i in range(10)
    ]
    rates = stats.pattern_rates(obs)
    report = {
        "pairings": len(obs),
        "confidence": 0.95,
        "characteristics": rates,
        "suggested_weights": stats.suggested_weights(obs),
    }
    assert answered(api.PairingPatterns, report) == as_json(report)


def test_a_health_state_and_a_mentor_impact_answer_unchanged():
    facts = health.fold(
        [
            (
                "RelationshipStarted",
                {
                    "relationship_id": "r1",
                    "mentor_id": "m1",
                    "mentee_id": "e1",
                    "starts_on": "2027-01-04",
                },
                "2027-01-04T09:00:00+00:00",
            ),
            (
                "SessionHeld",
                {"relationship_id": "r1", "session_id": "s1"},
                "2027-02-01T09:00:00+00:00",
            ),
        ]
    )
    impact = health.impact("m1", "2027Q1", list(facts.values()))
    assert answered(api.MentorImpact, impact.__dict__) == as_json(impact.__dict__)
    assessed = health.assess(facts["r1"], health.moment("2027-06-01T00:00:00"))
    assert assessed.state == HealthState.AT_RISK == "at_risk"


def _operation(path: str, method: str = "get") -> dict:
    return DOCUMENT["paths"][path][method]


def _param(path: str, name: str) -> dict:
    return next(p for p in _operation(path)["parameters"] if p["name"] == name)


def _schema(ref: dict) -> dict:
    return DOCUMENT["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


@pytest.mark.parametrize(
    "path",
    [
        "/scorecards/programme",
        "/scorecards/cohorts/{cohort_id}",
        "/scorecards/mentees/{person_id}",
        "/scorecards/relationships/{rel_id}",
    ],
)
def test_a_scorecard_documents_its_csv_beside_its_json(path):
    content = _operation(path)["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    assert content["text/csv"]["schema"] == {"type": "string"}
    assert "$ref" in content["application/json"]["schema"]
    assert _schema(_param(path, "format")["schema"])["enum"] == ["json", "csv"]


def test_the_equity_csv_documents_text_csv_only():
    content = _operation("/equity.csv")["responses"]["200"]["content"]
    assert content == {"text/csv": {"schema": {"type": "string"}}}


def test_closed_sets_are_enums_in_the_document():
    dimension = _param("/equity", "dimension")["schema"]["anyOf"]
    assert _schema(dimension[0])["enum"] == [d.value for d in EquityDimension]
    assert dimension[1]["pattern"] == r"^demographics\.[A-Za-z0-9_]+$"
    state = _param("/relationships/health", "state")["schema"]["anyOf"][0]
    assert _schema(state)["enum"] == [s.value for s in HealthState]
    every = _param("/relationships/health/history", "every")["schema"]
    assert _schema(every)["enum"] == [i.value for i in HealthInterval]


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/relationships/{relationship_id}/health", "get", {"403", "404"}),
        ("/scorecards/programme", "get", {"403"}),
        ("/equity", "get", {"403"}),
        ("/admin/rebuild", "post", {"403", "409"}),
        ("/admin/erasures/{person_id}", "get", {"403", "404"}),
    ],
)
def test_routes_document_the_errors_they_answer(path, method, statuses):
    responses = _operation(path, method)["responses"]
    assert statuses <= set(responses)
    for status in statuses:
        assert "application/problem+json" in responses[status]["content"]

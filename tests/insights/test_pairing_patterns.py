"""Pairing patterns with a planted history: the suggestion follows the criterion that
predicts healthy relationships, with its evidence; too little history says so.

A healthy relationship concluded as planned or its mentee progressed (promotion or
role change on or after the confirmation). The people view is folded from events as
the projection folds them, then read as the service reads it."""

from __future__ import annotations

import pytest

from services.insights.domain import equity, stats

pytestmark = pytest.mark.unit

JAN = "2026-01-10T09:00:00+00:00"
FEB = "2026-02-01T09:00:00+00:00"
OCT = "2026-10-30T09:00:00+00:00"


def history(groups: list[tuple[str, int, int, int]]) -> list[stats.Observation]:
    """``(mentee function, pairings, concluded, promoted-but-not-concluded)``; every
    mentor is in ``sales`` and leads ``coaching``, every mentee learns ``reflective``.
    The other pairings end ``stalled`` and nobody in them progresses."""
    events: list[tuple[str, dict, str]] = [
        (
            "PersonRegistered",
            {"person_id": "mentor", "business_unit": "bu", "function": "sales"},
            JAN,
        ),
        ("MentorProfileSet", {"person_id": "mentor", "max_mentees": 99,
                              "leadership_style": "coaching"}, JAN),
    ]  # fmt: skip
    for function, pairings, concluded, promoted in groups:
        for i in range(pairings):
            pid = f"{function}-{i}"
            events += [
                ("PersonRegistered", {"person_id": pid, "business_unit": "bu",
                                      "function": function}, JAN),
                ("IntakeSubmitted", {"person_id": pid,
                                     "learning_style": "reflective"}, JAN),
                ("PairingConfirmed", {"pairing_id": f"p-{pid}", "mentor_id": "mentor",
                                      "mentee_id": pid}, FEB),
            ]  # fmt: skip
            if i < concluded:
                end = "concluded"
            else:
                end = "stalled"
                if i < concluded + promoted:
                    events.append(
                        ("CareerOutcomeRecorded", {"person_id": pid,
                         "kind": "promotion", "effective_on": "2026-09-01"}, OCT)
                    )  # fmt: skip
            events.append(
                ("PairingEnded", {"pairing_id": f"p-{pid}", "mentor_id": "mentor",
                                  "mentee_id": pid, "reason": end}, OCT)
            )  # fmt: skip
    rows: dict[str, equity.Row] = {}
    for kind, data, at in events:
        for person in equity.touched(kind, data):
            rows[person] = equity.apply(
                rows.get(person) or equity.new_row(person), person, kind, data, at
            )
    return equity.pairing_observations(rows)


def by_criterion(observations: list[stats.Observation]) -> dict[str, stats.Suggestion]:
    return {s["criterion"]: s for s in stats.suggested_weights(observations)}


def test_cross_function_pairings_that_thrive_raise_the_perspective_weight():
    # 20 cross-function pairings: 10 concluded, 5 more whose mentee was promoted
    # (15 healthy); 20 same-function pairings: 4 concluded (4 healthy).
    observations = history([("finance", 20, 10, 5), ("sales", 20, 4, 0)])
    assert len(observations) == 40
    perspective = by_criterion(observations)["perspective"]
    assert perspective["change"] == 0.05
    evidence = perspective["evidence"]
    assert evidence["outcome"] == "healthy" and evidence["characteristic"] == "function"
    assert evidence["favoured"]["label"] == "cross_function"
    assert (evidence["favoured"]["pairings"], evidence["favoured"]["healthy"]) == (
        20,
        15,
    )
    assert evidence["favoured"]["rate"] == 0.75
    assert evidence["favoured"]["interval"] == pytest.approx((0.5313, 0.8881), abs=1e-4)
    assert (evidence["other"]["pairings"], evidence["other"]["healthy"]) == (20, 4)
    assert evidence["other"]["rate"] == 0.2
    assert evidence["other"]["interval"] == pytest.approx((0.0807, 0.4160), abs=1e-4)
    # Fisher's exact test, two-sided, of [[15, 5], [4, 16]]: 0.0012.
    assert evidence["p_value"] == pytest.approx(0.0012, abs=1e-4)
    assert "15 of 20 against 4 of 20" in perspective["reason"]
    # One style combination only (coaching/reflective): nothing to compare it with.
    style = by_criterion(observations)["style"]
    assert style["change"] == 0 and style["reason"].startswith("not enough evidence")


def test_same_function_pairings_that_thrive_lower_the_perspective_weight():
    observations = history([("finance", 20, 3, 0), ("sales", 20, 14, 2)])
    perspective = by_criterion(observations)["perspective"]
    assert perspective["change"] == -0.05
    assert perspective["evidence"]["favoured"]["healthy"] == 3
    assert perspective["evidence"]["other"]["healthy"] == 16


def test_a_significant_difference_is_suggested_though_the_intervals_overlap():
    # 12 of 20 against 4 of 20: the Wilson intervals (0.39-0.78, 0.08-0.42) overlap,
    # which used to read "not enough evidence"; Fisher's p = 0.0225 is below 0.05.
    observations = history([("finance", 20, 12, 0), ("sales", 20, 4, 0)])
    evidence = by_criterion(observations)["perspective"]["evidence"]
    assert evidence["favoured"]["interval"][0] < evidence["other"]["interval"][1]
    assert evidence["p_value"] == pytest.approx(0.0225, abs=1e-4)
    assert by_criterion(observations)["perspective"]["change"] == 0.05


def test_too_little_history_says_not_enough_evidence():
    # 3 cross-function pairings all healthy, 3 same-function none: p = 0.1 at best.
    observations = history([("finance", 3, 3, 0), ("sales", 3, 0, 0)])
    perspective = by_criterion(observations)["perspective"]
    assert perspective["change"] == 0
    assert perspective["reason"].startswith(
        "not enough evidence: 3 of 3 against 0 of 3"
    )
    assert perspective["evidence"]["p_value"] == pytest.approx(0.1, abs=1e-9)
    # No history at all: nothing compared, still an answer with its evidence.
    empty = by_criterion([])
    assert empty["perspective"]["change"] == 0
    assert empty["perspective"]["evidence"]["p_value"] is None
    assert empty["perspective"]["reason"] == "not enough evidence: 0 against 0 pairings"


def test_the_best_style_combination_is_raised_only_on_evidence():
    good = [
        {"traits": {"style": "coaching/reflective"}, "progressed": i < 18,
         "completed": False}
        for i in range(20)
    ] + [
        {"traits": {"style": "directive/reflective"}, "progressed": i < 3,
         "completed": False}
        for i in range(20)
    ]  # fmt: skip
    style = by_criterion(good)["style"]
    assert style["change"] == 0.05
    assert (
        style["evidence"]["favoured"]["label"]
        == "style combination coaching/reflective"
    )
    assert (
        style["evidence"]["other"]["pairings"],
        style["evidence"]["other"]["healthy"],
    ) == (20, 3)

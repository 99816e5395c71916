"""Equity arithmetic by hand: suppression below k, complementary suppression,
adverse-impact ratios and Wilson intervals (pure functions, no infrastructure)."""

from __future__ import annotations

from datetime import date

import pytest

from services.insights.domain import equity, stats

AS_OF = date(2027, 6, 1)


def fold(events: list[tuple[str, dict, str]]) -> list[dict]:
    rows: dict[str, dict] = {}
    for kind, data, at in events:
        for person in equity.touched(kind, data):
            row = rows.get(person) or equity.new_row(person)
            rows[person] = equity.apply(row, person, kind, data, at)
    return list(rows.values())


def organisation(sizes: dict[str, tuple[int, int]]) -> list[dict]:
    """``unit -> (participants, matched)``; joined 1 March, matched 11 March."""
    events = []
    for unit, (participants, matched) in sizes.items():
        for i in range(participants):
            pid = f"{unit}-{i}"
            events += [
                (
                    "PersonRegistered",
                    {
                        "person_id": pid,
                        "business_unit": unit,
                        "level": 5,
                        "geography": "FR",
                        "function": "ops",
                    },
                    "2027-01-01T00:00:00+00:00",
                ),
                (
                    "ParticipantAdmitted",
                    {"cohort_id": "c1", "person_id": pid, "role": "mentee"},
                    "2027-03-01T00:00:00+00:00",
                ),
            ]
            if i < matched:
                events.append(
                    (
                        "PairingConfirmed",
                        {
                            "pairing_id": f"p-{pid}",
                            "mentor_id": "m-1",
                            "mentee_id": pid,
                            "score": 0.5 + i / 10,
                        },
                        "2027-03-11T00:00:00+00:00",
                    )
                )
    return fold(events)


def by_group(report: dict) -> dict[str, dict]:
    return {g["group"]: g for g in report["groups"]}


def test_a_small_planted_group_is_reported_as_suppressed_only():
    report = equity.equity_report(
        organisation({"Retail": (6, 5), "Finance": (7, 3), "Legal": (2, 2)}),
        "business_unit",
        k=5,
        as_of=AS_OF,
    )
    assert by_group(report)["Legal"] == {"group": "Legal", "suppressed": True}
    retail = by_group(report)["Retail"]
    assert (retail["participants"], retail["matched"]) == (6, 5)
    assert retail["median_days_to_match"] == 10
    assert retail["mean_match_score"] == pytest.approx(
        (0.5 + 0.6 + 0.7 + 0.8 + 0.9) / 5
    )


def test_the_total_is_withheld_when_it_would_reveal_the_one_suppressed_group():
    report = equity.equity_report(
        organisation({"Retail": (6, 5), "Finance": (7, 3), "Legal": (2, 2)}),
        "business_unit",
        k=5,
        as_of=AS_OF,
    )
    # 15 participants in total minus 6 and 7 shown would give Legal's 2 (and its
    # 2 matched): the total is withheld.
    assert report["total"] == {"suppressed": True}


def test_the_total_is_shown_when_the_suppressed_remainder_is_at_least_k():
    rule = stats.suppress({"A": 10, "B": 3, "C": 2}, k=5)
    assert rule.suppressed == {"B", "C"} and rule.total_shown
    assert not stats.suppress({"A": 10, "B": 1, "C": 2}, k=5).total_shown
    assert stats.suppress({"A": 10, "B": 6}, k=5) == stats.Suppression(
        frozenset(), True
    )
    report = equity.equity_report(
        organisation({"Retail": (6, 5), "Legal": (3, 1), "Tax": (2, 0)}),
        "business_unit",
        k=5,
        as_of=AS_OF,
    )
    assert report["total"]["participants"] == 11  # reveals only Legal + Tax together


def test_adverse_impact_ratio_is_each_rate_over_the_best_and_flags_below_four_fifths():
    report = equity.equity_report(
        organisation({"Retail": (6, 5), "Finance": (6, 3)}),
        "business_unit",
        k=5,
        as_of=AS_OF,
    )
    finance, retail = by_group(report)["Finance"], by_group(report)["Retail"]
    assert finance["match_rate"] == pytest.approx(0.5)
    assert finance["match_rate_impact"] == pytest.approx(0.5 / (5 / 6))  # 0.6
    assert finance["match_rate_flagged"] is True
    assert retail["match_rate_impact"] == 1 and retail["match_rate_flagged"] is False
    impacts = stats.adverse_impact({"a": 0.5, "b": 0.41, "c": 0.39})
    assert impacts["b"].ratio == pytest.approx(0.82) and not impacts["b"].flagged
    assert impacts["c"].flagged


def test_wilson_interval_matches_known_values():
    low, high = stats.wilson_interval(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    low, high = stats.wilson_interval(0, 3)
    assert low == 0 and round(high, 4) == 0.5615
    low, high = stats.wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert stats.wilson_interval(0, 0) is None


def test_demographics_count_only_people_who_consented_and_did_not_withdraw():
    rows = organisation({"Retail": (7, 4)})
    events = [
        (
            "DemographicsShared",
            {"person_id": f"Retail-{i}", "attributes": {"gender": "woman"}},
            "2027-02-01T00:00:00+00:00",
        )
        for i in range(6)
    ]
    events.append(
        (
            "DemographicsWithdrawn",
            {"person_id": "Retail-5"},
            "2027-02-02T00:00:00+00:00",
        )
    )
    by_id = {r["person_id"]: r for r in rows}
    for kind, data, at in events:
        by_id[data["person_id"]] = equity.apply(
            by_id[data["person_id"]], data["person_id"], kind, data, at
        )
    report = equity.equity_report(
        list(by_id.values()), "demographics.gender", k=5, as_of=AS_OF
    )
    assert [(g["group"], g["participants"]) for g in report["groups"]] == [("woman", 5)]


def test_bands():
    assert equity.level_band(5) == "4-6" and equity.level_band(12) == "10-12"
    assert equity.tenure_band("2026-07", AS_OF) == "<1y"
    assert equity.tenure_band("2022-06", AS_OF) == "5-10y"
    assert equity.tenure_band(None, AS_OF) == "unknown"


def test_pattern_rates_carry_counts_and_intervals_and_weights_need_evidence():
    obs = [
        {
            "traits": {"function": "cross_function"},
            "progressed": i < 18,
            "completed": True,
        }
        for i in range(20)
    ] + [
        {
            "traits": {"function": "same_function"},
            "progressed": i < 4,
            "completed": False,
        }
        for i in range(20)
    ]
    rates = stats.pattern_rates(obs)
    cross = rates["function"][0]
    assert cross["value"] == "cross_function" and cross["pairings"] == 20
    assert cross["progressed"]["count"] == 18
    assert cross["progressed"]["interval"] == stats.wilson_interval(18, 20)
    weights = {w["criterion"]: w for w in stats.suggested_weights(rates)}
    assert weights["perspective"]["change"] == 0.05
    few = stats.pattern_rates(obs[:3] + obs[20:23])
    assert stats.suggested_weights(few)[0]["change"] == 0

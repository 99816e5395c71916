"""Equity arithmetic by hand: suppression below k, complementary suppression,
adverse-impact ratios and Wilson intervals (pure functions, no infrastructure)."""

from __future__ import annotations

from datetime import date

import pytest

from chassis import disclosure
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


def near(value: int) -> set[int]:
    """What a count may be published as: perturbed by at most 2, rounded to 5."""
    return {5 * ((2 * (value + d) + 5) // 10) for d in range(-2, 3)}


def by_group(report: dict) -> dict[str, dict]:
    return {g["group"]: g for g in report["groups"]}


def test_a_small_group_is_withheld_and_the_shown_counts_are_rounded_to_five():
    # Groups of nine or more clear every keyed threshold (k to k + 4).
    report = equity.equity_report(
        organisation({"Retail": (20, 19), "Finance": (14, 9), "Legal": (2, 2)}),
        "business_unit",
        k=5,
        as_of=AS_OF,
    )
    legal = by_group(report)["Legal"]
    assert legal == {"group": "Legal", "suppressed": True}
    retail, finance = by_group(report)["Retail"], by_group(report)["Finance"]
    # Legal alone withheld would be the total minus the rest: the next smallest
    # group (Finance) is withheld with it (complementary suppression).
    assert finance == {"group": "Finance", "suppressed": True}
    assert report["suppressed_groups"] == 2
    assert retail["participants"] in near(20) and retail["matched"] in near(19)
    assert retail["median_days_to_match"] == 10
    assert retail["mean_match_score"] == pytest.approx(
        round(sum(0.5 + i / 10 for i in range(19)) / 19, 2)
    )


def test_two_small_groups_holding_k_together_need_no_complement():
    report = equity.equity_report(
        organisation(
            {"Retail": (20, 19), "Finance": (14, 9), "Legal": (2, 2), "Tax": (3, 3)}
        ),
        "business_unit",
        k=5,
        as_of=AS_OF,
    )
    groups = by_group(report)
    assert groups["Legal"]["suppressed"] and groups["Tax"]["suppressed"]
    finance = groups["Finance"]
    assert finance["participants"] in near(14) and finance["matched"] in near(9)
    # Rates come from the published (rounded) counts: nothing finer leaks. (The
    # withheld groups hold 5 matched together: no complement needed there either.)
    assert finance["match_rate"] == pytest.approx(
        min(finance["matched"] / finance["participants"], 1)
    )
    retail = groups["Retail"]
    assert retail["match_rate"] == min(retail["matched"] / retail["participants"], 1)
    assert finance["match_rate_impact"] == pytest.approx(finance["match_rate"])
    assert finance["match_rate_flagged"] is (finance["match_rate"] < 0.8)
    # The total is published rounded (39 participants → 40): it is a cell like the
    # others, and no exact figure remains to subtract the shown groups from.
    assert report["total"]["participants"] in near(39)
    assert report["total"]["registered"] == report["total"]["participants"]  # a set


def test_small_counts_inside_a_shown_group_are_withheld_in_pairs():
    # Retail's 2 matched and Finance's 3 are below any threshold: both withheld,
    # together at least k (5), so matched in total minus the rest gives neither.
    report = equity.equity_report(
        organisation({"Retail": (20, 2), "Finance": (14, 3), "Ops": (12, 12)}),
        "business_unit",
        k=5,
        as_of=AS_OF,
    )
    groups = by_group(report)
    assert (
        groups["Retail"]["matched"] is None and groups["Retail"]["match_rate"] is None
    )
    assert groups["Finance"]["matched"] is None
    assert groups["Retail"]["mean_match_score"] is None  # beside a withheld count
    assert groups["Ops"]["matched"] in near(12)


def test_disclosure_rules():
    assert [disclosure.rounded(n) for n in (5, 7, 8, 12, 13, 19)] == [
        5,
        5,
        10,
        10,
        15,
        20,
    ]
    thresholds = {disclosure.threshold({f"p{i}", "q"}, 5, b"key") for i in range(200)}
    assert thresholds == {5, 6, 7, 8, 9}  # keyed: every value of k..k+4 occurs
    offsets = {disclosure.offset({f"p{i}", "q"}, b"key") for i in range(200)}
    assert offsets == {-2, -1, 0, 1, 2}
    ten = {f"p{i}" for i in range(10)}
    assert disclosure.published(ten, 5, b"key") in near(10)
    assert disclosure.published(set(list(ten)[:4]), 5, b"key") is None  # under k
    # Another key, other thresholds and offsets: a reader without it cannot
    # recompute them from the members' ids.
    assert len({disclosure.offset(ten, bytes([b])) for b in range(50)}) == 5
    assert disclosure.threshold({"a", "b"}, 5, b"key") == disclosure.threshold(
        ["b", "a"], 5, b"key"
    )  # a set, not an order
    assert disclosure.complementary({"A": 10, "B": 3, "C": 2}, {"B", "C"}, 5) == {
        "B",
        "C",
    }
    assert disclosure.complementary({"A": 10, "B": 1, "C": 2}, {"B", "C"}, 5) == {
        "A",
        "B",
        "C",
    }
    assert disclosure.complementary({"A": 10, "B": 6, "C": 2}, {"C"}, 5) == {
        "B",
        "C",
    }
    assert disclosure.complementary({"A": 10, "B": 6}, set(), 5) == frozenset()


def test_wilson_interval_matches_known_values():
    low, high = stats.wilson_interval(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    low, high = stats.wilson_interval(0, 3)
    assert low == 0 and round(high, 4) == 0.5615
    low, high = stats.wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert stats.wilson_interval(0, 0) is None


def test_demographics_count_only_people_who_consented_and_did_not_withdraw():
    rows = organisation({"Retail": (14, 4)})
    # Eleven consent as "woman", one of them withdraws; one consents as "man".
    events = [
        (
            "DemographicsShared",
            {"person_id": f"Retail-{i}", "attributes": {"gender": "woman"}},
            "2027-02-01T00:00:00+00:00",
        )
        for i in range(11)
    ]
    events.append(
        (
            "DemographicsShared",
            {"person_id": "Retail-13", "attributes": {"gender": "man"}},
            "2027-02-01T00:00:00+00:00",
        )
    )
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
    # The man is withheld, so the women must be too (one hidden group would be the
    # total minus the other); a withheld demographic group is neither named nor
    # counted.
    assert report["groups"] == [] and report["suppressed_groups"] is None
    del by_id["Retail-13"]  # without him, the ten women are shown
    report = equity.equity_report(
        list(by_id.values()), "demographics.gender", k=5, as_of=AS_OF
    )
    (woman,) = report["groups"]
    assert woman["group"] == "woman" and woman["participants"] in near(10)
    assert woman["registered"] == woman["participants"]  # the same ten people
    # No mean score or median days by demographic group: they would move with the
    # one person a coordinator just matched.
    assert woman["mean_match_score"] is None and woman["median_days_to_match"] is None


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

"""Equity arithmetic by hand: suppression below k, complementary suppression,
adverse-impact ratios and Wilson intervals (pure functions, no infrastructure)."""

from __future__ import annotations

import math
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
    weights = {w["criterion"]: w for w in stats.suggested_weights(obs)}
    assert weights["perspective"]["change"] == 0.05
    assert stats.suggested_weights(obs[:3] + obs[20:23])[0]["change"] == 0


# -- evidence: Wilson intervals, Fisher's exact test, verdicts --------------------


def test_fisher_and_wilson_equal_the_hand_computed_values():
    # Small (5 of 10) against Big (15 of 20). Fixed margins: 20 successes, 10
    # failures, 30 people; the number k of Small's successes is hypergeometric:
    # P(k) = C(10, k) C(20, 20 - k) / C(30, 20), C(30, 20) = 30045015, numerators
    # (k = 0..10): 1, 200, 8550, 136800, 1017450, 3907008, 8139600, 9302400,
    # 5668650, 1679600, 184756 (they add up to 30045015). Two-sided p: every k no
    # more likely than the observed 5 (3907008): k = 0..5, 9, 10:
    # (1 + 200 + 8550 + 136800 + 1017450 + 3907008 + 1679600 + 184756) / 30045015
    # = 6934365 / 30045015 = 0.230800...
    assert stats.fisher_p((5, 10), (15, 20)) == pytest.approx(6934365 / 30045015)
    # Wilson, z = 1.959964, z² = 3.841459: 15 of 20: p̂ = 0.75,
    # centre = (0.75 + 3.841459 / 40) / (1 + 3.841459 / 20) = 0.846036 / 1.192073
    #        = 0.709719,
    # half = 1.959964 · sqrt(0.75 · 0.25 / 20 + 3.841459 / 1600) / 1.192073
    #      = 1.959964 · 0.108517 / 1.192073 = 0.178420: (0.5313, 0.8881).
    low, high = stats.wilson_interval(15, 20)
    assert (round(low, 4), round(high, 4)) == (0.5313, 0.8881)


def _hypergeometric_p(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Fisher's two-sided p written out from its definition (not scipy)."""
    n1, n2, x = a[1], b[1], a[0]
    successes = a[0] + b[0]
    total = math.comb(n1 + n2, successes)
    prob = {
        k: math.comb(n1, k) * math.comb(n2, successes - k) / total
        for k in range(max(0, successes - n2), min(n1, successes) + 1)
    }
    return sum(p for p in prob.values() if p <= prob[x] * (1 + 1e-7))


def test_a_small_group_with_a_lower_rate_is_too_few_to_tell():
    # k = 1 so every cell is shown: this is about the statistics, not disclosure.
    # Counts are multiples of 5, which a perturbation of ±2 and rounding to 5
    # leave as they are: the published counts are the true ones here.
    report = equity.equity_report(
        organisation({"Big": (20, 15), "Small": (10, 5)}),
        "business_unit",
        k=1,
        as_of=AS_OF,
    )
    big, small = by_group(report)["Big"], by_group(report)["Small"]
    assert (small["participants"], small["matched"]) == (10, 5)
    # ratio (5/10) / (15/20) = 0.5 / 0.75 = 2/3 < 0.8, but p = 0.2308 >= 0.05.
    assert small["match_rate_impact"] == pytest.approx(2 / 3)
    assert small["match_rate_p_value"] == pytest.approx(6934365 / 30045015)
    assert small["match_rate_verdict"] == "too_few_to_tell"
    assert small["match_rate_flagged"] is False  # was True: ratio below 0.8 alone
    assert small["match_rate_interval"] == pytest.approx((0.236593, 0.763407))
    # The best group is the reference: ratio 1, not tested against itself.
    assert big["match_rate_impact"] == 1.0 and big["match_rate_p_value"] is None
    assert big["match_rate_verdict"] == "no_adverse_impact"
    assert big["match_rate_interval"] == pytest.approx((0.531299, 0.888138))
    # Nobody promoted: the empty cell is withheld, so no rate, interval, test or
    # verdict.
    assert small["promoted"] is None and small["promotion_rate"] is None
    assert small["promotion_rate_verdict"] is None
    assert small["promotion_rate_p_value"] is None
    assert small["promotion_rate_interval"] is None
    assert small["promotion_rate_flagged"] is False
    assert report["alpha"] == 0.05


def test_a_large_group_with_a_significantly_lower_rate_is_flagged():
    report = equity.equity_report(
        organisation({"Big": (100, 75), "Lagging": (100, 40), "Near": (100, 65)}),
        "business_unit",
        k=5,
        as_of=AS_OF,
    )
    groups = by_group(report)
    lagging, near = groups["Lagging"], groups["Near"]
    # Lagging: 40/100 against 75/100: ratio 0.4 / 0.75 = 0.5333; Fisher, from its
    # definition: p = 8.83e-07 < 0.05: adverse impact.
    assert lagging["match_rate_impact"] == pytest.approx(0.4 / 0.75)
    want = _hypergeometric_p((40, 100), (75, 100))
    assert want == pytest.approx(8.826e-07, rel=1e-3)
    assert lagging["match_rate_p_value"] == pytest.approx(want)
    assert lagging["match_rate_verdict"] == "adverse_impact"
    assert lagging["match_rate_flagged"] is True
    # Wilson of 40/100: centre (0.4 + 0.019207) / 1.038415 = 0.403700, half
    # 1.959964 · sqrt(0.0024 + 0.0000960) / 1.038415 = 0.094330: (0.3094, 0.4980).
    low, high = lagging["match_rate_interval"]
    assert (round(low, 4), round(high, 4)) == (0.3094, 0.4980)
    # Near: 0.65 / 0.75 = 0.8667 >= 0.8: no adverse impact whatever p says.
    assert near["match_rate_verdict"] == "no_adverse_impact"
    assert near["match_rate_p_value"] == pytest.approx(
        _hypergeometric_p((65, 100), (75, 100))
    )


def test_the_significance_level_is_a_setting():
    rows = organisation({"Big": (20, 15), "Small": (10, 5)})
    lax = equity.equity_report(rows, "business_unit", k=1, as_of=AS_OF, alpha=0.25)
    assert by_group(lax)["Small"]["match_rate_verdict"] == "adverse_impact"
    assert lax["alpha"] == 0.25


def test_a_suppressed_group_shows_no_interval_or_test():
    # Legal (2 people) and Finance (its complement) are withheld: their entries are
    # exactly as before, with no interval, p-value or verdict to leak a count.
    report = equity.equity_report(
        organisation({"Retail": (20, 19), "Finance": (14, 9), "Legal": (2, 2)}),
        "business_unit",
        k=5,
        as_of=AS_OF,
    )
    groups = by_group(report)
    assert groups["Legal"] == {"group": "Legal", "suppressed": True}
    assert groups["Finance"] == {"group": "Finance", "suppressed": True}
    # A withheld count inside a shown group has no rate, interval or verdict.
    small_cells = equity.equity_report(
        organisation({"Retail": (20, 2), "Finance": (14, 3), "Ops": (12, 12)}),
        "business_unit",
        k=5,
        as_of=AS_OF,
    )
    retail = by_group(small_cells)["Retail"]
    assert retail["matched"] is None
    assert retail["match_rate_interval"] is None
    assert retail["match_rate_p_value"] is None and retail["match_rate_verdict"] is None


def test_intervals_and_tests_come_from_the_published_counts():
    # Finance's 9 matched of 14 are published perturbed and rounded: the interval
    # is the one of the published counts, never of the true 9 and 14.
    report = equity.equity_report(
        organisation(
            {"Retail": (20, 19), "Finance": (14, 9), "Legal": (2, 2), "Tax": (3, 3)}
        ),
        "business_unit",
        k=5,
        as_of=AS_OF,
    )
    finance = by_group(report)["Finance"]
    x, n = finance["matched"], finance["participants"]
    assert finance["match_rate_interval"] == pytest.approx(
        stats.wilson_interval(min(x, n), n)
    )
    if (x, n) != (9, 14):
        assert finance["match_rate_interval"] != pytest.approx(
            stats.wilson_interval(9, 14)
        )


def test_every_group_at_a_best_rate_of_zero_has_no_verdict():
    got = stats.compare_rates({"A": (0, 10), "B": (0, 20), "C": (None, 5)})
    assert got["A"].ratio is None and got["A"].verdict is None
    # 0 of 10: (0, z² / (10 + z²)) = (0, 3.841459 / 13.841459) = (0, 0.277533)
    assert got["A"].interval == pytest.approx((0.0, 0.277533))
    assert got["C"] == stats.Comparison(None, None, None, None, None)
    # A tie at the best rate goes to the larger group (more evidence).
    tie = stats.compare_rates({"A": (5, 10), "B": (10, 20)})
    assert tie["B"].p_value is None and tie["A"].p_value == pytest.approx(1.0)


def test_as_of_a_past_day_every_fact_counts_from_its_effective_day():
    """Registered from the earlier of registration and the hire month, admitted on
    ``admitted_on``, matched from ``starts_on``, promoted by ``effective_on``: as of
    2027-02-28 nobody had joined; as of 03-05 everyone had, nobody was matched; as
    of 03-31 the ten matched on 03-11 and the five promoted on 03-20 count."""
    events: list[tuple[str, dict, str]] = []
    for i in range(10):
        pid = f"Retail-{i}"
        events += [
            (
                "PersonRegistered",
                {
                    "person_id": pid,
                    "business_unit": "Retail",
                    "level": 5,
                    "tenure_start": "2020-01",
                },
                "2027-06-01T00:00:00+00:00",  # recorded long after the hire
            ),
            (
                "ParticipantAdmitted",
                {
                    "cohort_id": "c1",
                    "person_id": pid,
                    "role": "mentee",
                    "admitted_on": "2027-03-01",
                },
                "2027-06-01T00:00:00+00:00",
            ),
            (
                "PairingConfirmed",
                {
                    "pairing_id": f"p-{pid}",
                    "mentor_id": "m-1",
                    "mentee_id": pid,
                    "starts_on": "2027-03-11",
                },
                "2027-06-01T00:00:00+00:00",
            ),
        ]
        if i < 5:
            events.append(
                (
                    "CareerOutcomeRecorded",
                    {
                        "person_id": pid,
                        "kind": "promotion",
                        "effective_on": "2027-03-20",
                    },
                    "2027-06-01T00:00:00+00:00",
                )
            )
    rows = fold(events)

    def counts(day: date) -> dict:
        report = equity.equity_report(
            rows, "business_unit", k=5, as_of=day, key=b"k", past=True
        )
        assert report["as_of"] == day.isoformat()
        total = report["total"]
        return {
            n: total.get(n)
            for n in ("suppressed", "registered", "participants", "matched")
        }

    # Ten registered since 2020 (shown: 10 clears every threshold), nobody joined.
    assert counts(date(2027, 2, 28)) == {
        "suppressed": True,
        "registered": None,
        "participants": None,
        "matched": None,
    }
    assert counts(date(2027, 3, 5)) == {
        "suppressed": False,
        "registered": 10,
        "participants": 10,
        "matched": None,
    }
    march = equity.equity_report(
        rows, "business_unit", k=5, as_of=date(2027, 3, 31), key=b"k", past=True
    )
    assert by_group(march)["Retail"]["matched"] == 10
    assert by_group(march)["Retail"]["promoted"] in near(5) | {None}
    assert march["total"]["matched"] == 10
    # Now (no past day): the same as the end of March, and no as_of.
    now = equity.equity_report(rows, "business_unit", k=5, as_of=AS_OF, key=b"k")
    assert now["as_of"] is None
    assert by_group(now)["Retail"]["matched"] == 10

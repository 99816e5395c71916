"""Fairness reports against a differencing attacker: every report of a cohort
(grouped by business unit and by gender, before and after one person's change)
combined, and no withheld group's size or matched count can be computed. The
attacker is the one set on equity reports (``tests/insights/attacker.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.matching.domain.fairness import disclose, distribution
from services.matching.domain.optimiser import UNMATCHED
from tests.insights.attacker import Attacker

K = 5
GROUPINGS = ("business_unit", "demographics.gender")
METRICS = ("size", "matched")
Mentee = dict[str, Any]


def published(mentees: list[Mentee], grouping: str, key: bytes) -> dict[str, Any]:
    """The fairness report as a coordinator reads it (as ``FairnessOutcome.as_dict``),
    even when they asked for groups of one (the floor is the service's)."""
    field = "unit" if grouping == "business_unit" else "gender"
    labels = [m[field] for m in mentees]
    mentor_of = np.array([0 if m["matched"] else UNMATCHED for m in mentees])
    scores = np.array([[m["score"]] for m in mentees])
    exact = distribution(labels, scores, mentor_of, K, ids=[m["id"] for m in mentees])
    groups = [
        {**g.as_dict(), "members": g.members, "matched_members": g.matched_members}
        for g in exact
    ]
    return disclose({"group_by": grouping, "groups": groups, "iterations": []}, K, key)


def truth(mentees: list[Mentee], grouping: str) -> dict[str, dict[str, int]]:
    field = "unit" if grouping == "business_unit" else "gender"
    out: dict[str, dict[str, int]] = {}
    for m in mentees:
        if m[field] is None:
            continue
        cell = out.setdefault(m[field], dict.fromkeys(METRICS, 0))
        cell["size"] += 1
        cell["matched"] += m["matched"]
    return out


def attack(states: dict[str, list[Mentee]], key: bytes | None) -> Attacker:
    """``key=None``: nothing published (the attacker's prior knowledge alone).
    The attacker knows each mentee's unit and match (the roster and the round's
    proposals), the gender options but not who holds which, and the direction of
    each change to the number of people who shared a gender."""
    spy = Attacker(k=K, error=4)
    options = {g for s in states.values() for g in truth(s, GROUPINGS[1])}
    for state, mentees in states.items():
        for grouping in GROUPINGS:
            secret = grouping != "business_unit"
            exact = truth(mentees, grouping)
            for option in options if secret else ():
                exact.setdefault(option, dict.fromkeys(METRICS, 0))
            report = published(mentees, grouping, key) if key is not None else {}
            shown = {g["group"]: g for g in report.get("groups", [])}
            for metric in METRICS:
                parts = []
                for group, cell in exact.items():
                    var = (state, grouping, group, metric)
                    floor = 1 if metric == "size" and not secret else 0
                    spy.observe(
                        var, shown.get(group, {}).get(metric), cell[metric], floor
                    )
                    parts.append(var)
                if not secret:
                    spy.add_sum(parts, sum(c[metric] for c in exact.values()))
            for group in exact:
                spy.at_most(
                    (state, grouping, group, "matched"),
                    (state, grouping, group, "size"),
                )
    for var in list(spy.truth):
        state, grouping, group, metric = var
        before = ("before", grouping, group, metric)
        if state == "before" or before not in spy.truth:
            continue
        if grouping == "business_unit":
            delta = spy.truth[var] - spy.truth[before]
            spy.change(var, before, delta, delta)
        else:
            shared = sum(m["gender"] is not None for m in states[state]) - sum(
                m["gender"] is not None for m in states["before"]
            )
            spy.change(var, before, min(0, shared), max(0, shared))
    return spy


def disclosed(states: dict[str, list[Mentee]], key: bytes) -> list:
    """As for equity: within one state no withheld cell, across states no withheld
    gender cell, beyond what the attacker knew without any report."""
    found = []
    for scope in [{s: states[s]} for s in states] + [states]:
        known = {v for v, _ in attack(scope, None).disclosed()}
        found += [
            (var, value)
            for var, value in attack(scope, key).disclosed()
            if var not in known and (len(scope) == 1 or var[1] != "business_unit")
        ]
    return found


def cohort(sizes: list[int]) -> list[Mentee]:
    mentees = []
    for u, size in enumerate(sizes):
        for j in range(size):
            i = len(mentees)
            mentees.append(
                {
                    "id": f"m{i:03}",
                    "unit": f"u{u}",
                    "gender": ("a" if j % 3 == 0 else "b" if j % 3 == 1 else "c")
                    if i % 4
                    else None,
                    "matched": j % 4 != 3,
                    "score": 0.5 + (i % 7) / 20,
                }
            )
    return mentees


def states_of(mentees: list[Mentee]) -> dict[str, list[Mentee]]:
    flipped = [dict(m) for m in mentees]
    for m in flipped[:1] + [m for m in flipped if m["gender"] is not None][:1]:
        m["gender"] = None  # the first who shared a gender withdraws consent
    joined = [
        *mentees,
        {"id": "new", "unit": "u0", "gender": "c", "matched": True, "score": 0.6},
    ]
    return {"before": mentees, "consent": flipped, "admission": joined}


def test_a_coordinator_never_reads_a_group_under_k_in_a_fairness_report():
    mentees = cohort([14, 3, 2])
    for grouping in GROUPINGS:
        report = published(mentees, grouping, b"key")
        for group in report["groups"]:
            assert group["size"] >= K and set(group) >= {"group", "size"}
        names = {g["group"] for g in report["groups"]}
        assert "u1" not in names and "u2" not in names  # 3 and 2 mentees
        assert report["suppressed_groups"] >= 2 or report["suppressed_groups"] == 0
        assert "members" not in str(report)


def test_no_withheld_fairness_cell_can_be_computed_across_reports():
    assert disclosed(states_of(cohort([14, 3, 2, 9])), b"alpha") == []


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 16), min_size=1, max_size=5),
    key=st.binary(min_size=1, max_size=8),
)
def test_no_withheld_fairness_cell_can_be_computed_for_any_cohort(sizes, key):
    assert disclosed(states_of(cohort(sizes)), key) == []

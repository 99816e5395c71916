"""Scoring: every criterion does what its name says, and every score explains itself."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chassis.errors import ValidationFailed
from contracts.matching import PairingProposed
from services.matching.domain.candidates import (
    Goal,
    MenteeProfile,
    MentorProfile,
    Window,
)
from services.matching.domain.config import CRITERIA, PRESET_WEIGHTS, MatchingConfig
from services.matching.domain.encoding import encode
from services.matching.domain.round import run_round
from services.matching.domain.scoring import (
    EXPLAIN_BLOCK,
    explain,
    explain_pairs,
    score_matrix,
)

NAMES = {"strategy": "Strategic thinking", "negotiation": "Negotiation"}


def mentee(pid: str = "ada", **kw) -> MenteeProfile:
    base = {
        "person_id": pid,
        "level": 5,
        "business_unit": "Retail",
        "function": "Finance",
        "geography": "GB",
        "time_zone": "Europe/London",
        "languages": ("en",),
        "goals": (Goal("strategy", 2, 4),),
        "hours_per_month": 4,
    }
    base.update(kw)
    return MenteeProfile(**base)


def mentor(pid: str = "grace", **kw) -> MentorProfile:
    base = {
        "person_id": pid,
        "level": 9,
        "business_unit": "Retail",
        "function": "Finance",
        "geography": "GB",
        "time_zone": "Europe/London",
        "languages": ("en",),
        "strengths": {},
        "capacity": 2,
        "hours_per_month": 8,
    }
    base.update(kw)
    return MentorProfile(**base)


def scored(mentees, mentors, config=None):
    enc = encode(mentees, mentors, config or MatchingConfig(), NAMES)
    return enc, score_matrix(enc)


def part(enc, i, j, criterion):
    return next(p for p in explain(enc, i, j).parts if p.criterion == criterion)


def test_skill_complementarity_picks_the_mentor_strong_where_the_mentee_wants_to_grow():
    ada = mentee(goals=(Goal("strategy", 2, 4), Goal("negotiation", 3, 4)))
    strong = mentor("grace", strengths={"strategy": 5, "negotiation": 2})
    weak = mentor("linus", strengths={"strategy": 2, "negotiation": 5})
    enc, scores = scored([ada], [strong, weak])
    skills = [part(enc, 0, j, "skills") for j in range(2)]
    # Strategy is two thirds of the growth Ada wants (gap 2 of 3): it weighs more.
    assert skills[0].value == pytest.approx(2 / 3)
    assert skills[1].value == pytest.approx(1 / 3)
    assert scores[0, 0] > scores[0, 1]
    text = explain(enc, 0, 0, names={"ada": "Ada"}).parts[0].reason
    assert (
        "strong in Strategic thinking (5/5) where Ada wants to grow from 2 to 4" in text
    )


def test_goal_alignment_counts_the_goals_the_mentor_can_take_all_the_way():
    ada = mentee(goals=(Goal("strategy", 2, 5), Goal("negotiation", 3, 4)))
    grace = mentor(strengths={"strategy": 4, "negotiation": 4})
    enc, _ = scored([ada], [grace])
    goals = part(enc, 0, 0, "goals")
    # Negotiation's target (4) is reached, strategy's (5) is not: 1/(3+1) of the gap.
    assert goals.value == pytest.approx(1 / 4)
    assert "1 of 2 growth goals" in goals.reason and "short of it" in goals.reason


def test_experiential_breadth_is_the_share_of_what_the_mentee_lacks():
    ada = mentee(experiences_lacking=("APAC", "turnaround", "M&A integration"))
    grace = mentor(markets=("apac",), crisis_experience=("Turnaround",))
    enc, _ = scored([ada], [grace])
    experience = part(enc, 0, 0, "experience")
    assert experience.value == pytest.approx(2 / 3)
    assert "market experience 'apac'" in experience.reason
    assert "crisis experience 'turnaround'" in experience.reason


def test_perspective_diversity_counts_division_geography_function_generation():
    ada = mentee(generation="millennial")
    same = mentor("same", generation="millennial")
    different = mentor(
        "diff",
        business_unit="Energy",
        geography="SG",
        time_zone="Asia/Singapore",
        function="Sales",
        generation="gen_x",
    )
    no_generation = mentor("nogen", business_unit="Energy")
    enc, _ = scored([ada], [same, different, no_generation])
    assert part(enc, 0, 0, "perspective").value == 0.0
    assert part(enc, 0, 1, "perspective").value == 1.0
    assert part(enc, 0, 2, "perspective").value == pytest.approx(1 / 3)


def test_style_and_formats_fit():
    ada = mentee(learning_style="reflective", preferred_formats=("one_to_one", "group"))
    coach = mentor("coach", leadership_style="coaching", formats=("one_to_one",))
    boss = mentor("boss", leadership_style="directive", formats=("shadowing",))
    silent = mentor("silent")
    enc, _ = scored([ada], [coach, boss, silent])
    assert part(enc, 0, 0, "style").value == 1.0
    assert part(enc, 0, 1, "style").value == pytest.approx(0.3)
    assert part(enc, 0, 2, "style").value == 0.5  # not stated: neutral
    assert part(enc, 0, 0, "formats").value == pytest.approx(0.5)
    assert part(enc, 0, 1, "formats").value == 0.0
    assert part(enc, 0, 2, "formats").value == 0.5


def test_availability_follows_time_zones_and_summer_time():
    ada = mentee(time_zone="Europe/London")
    kolkata = mentor("in", time_zone="Asia/Kolkata", geography="IN")
    tokyo_evenings = mentor(
        "jp",
        time_zone="Asia/Tokyo",
        availability=tuple(Window(d, "18:00", "20:00") for d in range(5)),
    )
    winter = MatchingConfig(availability_week=date(2026, 1, 12))
    summer = MatchingConfig(availability_week=date(2026, 7, 15))
    enc, _ = scored([ada], [kolkata, tokyo_evenings], winter)
    # Office hours: London 09-17 UTC in winter, Kolkata 03:30-11:30 UTC: 2.5 h a day.
    assert float(enc.shared_hours[enc.mentee_pattern[0], enc.mentor_pattern[0]]) == 12.5
    # Tokyo 18-20 is 09-11 UTC: 2 h a day with London in winter.
    assert float(enc.shared_hours[enc.mentee_pattern[0], enc.mentor_pattern[1]]) == 10
    enc, _ = scored([ada], [kolkata, tokyo_evenings], summer)
    # London is UTC+1 in July: 08-16 UTC, one more hour a day with Kolkata; Tokyo's
    # 09-11 UTC (Japan keeps no summer time) stays inside London's day.
    assert float(enc.shared_hours[enc.mentee_pattern[0], enc.mentor_pattern[0]]) == 17.5
    assert float(enc.shared_hours[enc.mentee_pattern[0], enc.mentor_pattern[1]]) == 10
    assert (
        "17.5 h a week of shared availability" in part(enc, 0, 0, "availability").reason
    )


def test_weights_are_per_cohort_and_normalised():
    for preset in PRESET_WEIGHTS.values():
        assert sum(preset.values()) == pytest.approx(1.0)
    config = MatchingConfig(weights={"skills": 3, "perspective": 1})
    weights = config.validated().normalised_weights
    assert weights["skills"] == 0.75 and weights["perspective"] == 0.25
    assert set(weights) == set(CRITERIA)
    ada = mentee()
    grace = mentor(strengths={"strategy": 5}, business_unit="Energy")
    _, scores = scored([ada], [grace], config)
    assert scores[0, 0] == pytest.approx(0.75 * 1.0 + 0.25 * (1 / 3))


def test_a_perfect_pair_scores_exactly_one_and_fits_the_published_contract():
    ada = mentee(
        generation="gen_z",
        learning_style="reflective",
        preferred_formats=("one_to_one",),
        experiences_lacking=("APAC",),
        availability=tuple(Window(d, "09:00", "17:00") for d in range(5)),
    )
    grace = mentor(
        business_unit="Energy",
        geography="SG",
        function="Sales",
        generation="gen_x",
        strengths={"strategy": 5},
        markets=("APAC",),
        leadership_style="coaching",
        formats=("one_to_one",),
        capacity=1,
    )
    enc, scores = scored([ada], [grace])
    why = explain(enc, 0, 0)
    assert scores[0, 0] == 1.0 and why.score == 1.0
    event = PairingProposed(
        pairing_id="p1",
        mentor_id="grace",
        mentee_id="ada",
        score=why.score,
        parts=why.contract_parts(),
        expires_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert [p.criterion for p in event.parts] == list(CRITERIA)


def test_bad_configuration_and_profiles_are_typed_errors():
    with pytest.raises(ValidationFailed) as bad:
        MatchingConfig(weights={"charisma": 1.0}, min_score=2).validated()
    assert {e.path for e in bad.value.errors} == {"weights", "min_score"}
    with pytest.raises(ValidationFailed) as bad:
        mentee(time_zone="Mars/Olympus", goals=(Goal("strategy", 0, 9),))
    assert {e.path for e in bad.value.errors} == {"ada.time_zone", "ada.goals[0]"}
    with pytest.raises(ValidationFailed):
        mentor(strengths={"strategy": 7})


def test_profiles_build_from_the_published_payloads():
    person = {
        "person_id": "p1",
        "level": 4,
        "business_unit": "Retail",
        "function": "Finance",
        "geography": "FR",
        "time_zone": "Europe/Paris",
        "manager_id": "p0",
        "languages": ["fr", "en"],
        "roles": ["mentee", "reverse_mentor"],
    }
    intake = {
        "person_id": "p1",
        "goals": [{"competency_id": "strategy", "current": 2, "target": 4}],
        "learning_style": "reflective",
        "preferred_formats": ["one_to_one"],
        "hours_per_month": 6,
        "experiences_lacking": ["APAC"],
    }
    profile = {
        "person_id": "p1",
        "strengths": [{"competency_id": "digital", "proficiency": 5}],
        "markets": ["EMEA"],
        "formats": ["one_to_one"],
        "max_mentees": 2,
        "hours_per_month": 6,
        "availability": [{"weekday": 0, "start": "09:00", "end": "11:00"}],
    }
    as_mentee = MenteeProfile.from_records(person, intake, {"generation": "gen_z"})
    as_mentor = MentorProfile.from_records(person, profile)
    assert (
        as_mentee.goals == (Goal("strategy", 2, 4),) and as_mentee.generation == "gen_z"
    )
    assert as_mentor.kind == "reverse" and as_mentor.strengths == {"digital": 5}
    assert as_mentor.availability == (Window(0, "09:00", "11:00"),)


def test_reverse_mentoring_pairs_the_senior_with_the_junior_who_knows_technology():
    """The junior person is the mentor, chosen for what the senior wants to learn."""
    ceo = mentee(
        "ceo",
        level=11,
        generation="boomer",
        goals=(Goal("digital", 1, 4), Goal("customer", 2, 3)),
    )
    tech_junior = mentor(
        "dev",
        level=3,
        kind="reverse",
        generation="gen_z",
        business_unit="Digital",
        strengths={"digital": 5, "customer": 3},
    )
    finance_junior = mentor(
        "analyst", level=3, kind="reverse", strengths={"finance": 5, "customer": 3}
    )
    senior_tech = mentor("cto", level=12, strengths={"digital": 5, "customer": 4})
    config = MatchingConfig.for_programme("reverse")
    result = run_round([ceo], [finance_junior, tech_junior, senior_tech], config)
    assert [(p.mentee_id, p.mentor_id) for p in result.pairs] == [("ceo", "dev")]
    assert "a reverse mentor must be at least 1 level(s) more junior" in result.why_not(
        "ceo", "cto"
    )
    skills = result.explain("ceo", "dev").parts[0]
    assert "strong in digital (5/5)" in skills.reason


# -- every score explains itself ---------------------------------------------------

COMPETENCIES = ["strategy", "negotiation", "digital", "customer", "finance"]
EXPERIENCES = ["APAC", "EMEA", "turnaround", "recall", "Sales"]
ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Asia/Tokyo"]


@st.composite
def people(draw, kind: str, n: int):
    out = []
    for k in range(n):
        common = {
            "person_id": f"{kind}{k}",
            "level": draw(st.integers(1, 12)),
            "business_unit": draw(st.sampled_from(["A", "B", "C"])),
            "function": draw(st.sampled_from(["Finance", "Sales"])),
            "geography": draw(st.sampled_from(["GB", "US", "IN"])),
            "time_zone": draw(st.sampled_from(ZONES)),
            "languages": tuple(draw(st.sets(st.sampled_from(["en", "fr", "hi"])))),
            "generation": draw(st.sampled_from([None, "gen_x", "gen_z"])),
            "availability": tuple(
                Window(d, f"{h:02d}:00", f"{h + length:02d}:00")
                for d, h, length in draw(
                    st.lists(
                        st.tuples(
                            st.integers(0, 6), st.integers(0, 20), st.integers(1, 3)
                        ),
                        max_size=3,
                    )
                )
            ),
        }
        if kind == "e":
            goals = []
            for c in draw(st.sets(st.sampled_from(COMPETENCIES), max_size=3)):
                current = draw(st.integers(1, 5))
                goals.append(Goal(c, current, draw(st.integers(1, 5))))
            out.append(
                mentee(
                    **common,
                    goals=tuple(goals),
                    experiences_lacking=tuple(
                        draw(st.sets(st.sampled_from(EXPERIENCES)))
                    ),
                    learning_style=draw(
                        st.sampled_from([None, "reflective", "social"])
                    ),
                    preferred_formats=tuple(
                        draw(
                            st.sets(st.sampled_from(["one_to_one", "group", "project"]))
                        )
                    ),
                    hours_per_month=draw(st.integers(0, 10)),
                )
            )
        else:
            out.append(
                mentor(
                    **common,
                    strengths=draw(
                        st.dictionaries(
                            st.sampled_from(COMPETENCIES), st.integers(1, 5)
                        )
                    ),
                    markets=tuple(draw(st.sets(st.sampled_from(["apac", "emea"])))),
                    crisis_experience=tuple(
                        draw(st.sets(st.sampled_from(["Turnaround"])))
                    ),
                    leadership_style=draw(
                        st.sampled_from([None, "coaching", "directive"])
                    ),
                    formats=tuple(
                        draw(st.sets(st.sampled_from(["one_to_one", "group"])))
                    ),
                    capacity=draw(st.integers(0, 3)),
                    hours_per_month=draw(st.integers(0, 12)),
                )
            )
    return out


@st.composite
def cohorts(draw):
    n, m = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    weights = draw(
        st.one_of(
            st.just({}),
            st.dictionaries(st.sampled_from(CRITERIA), st.floats(0.01, 5), min_size=1),
        )
    )
    programme = draw(st.sampled_from(["standard", "reverse", "external", "group"]))
    config = MatchingConfig(programme_type=programme, weights=weights)
    return draw(people("e", n)), draw(people("r", m)), config


@settings(max_examples=60, deadline=None)
@given(cohorts())
def test_every_score_equals_the_sum_of_its_explained_parts(cohort):
    mentees, mentors, config = cohort
    enc, scores = scored(mentees, mentors, config)
    assert np.all((scores >= 0) & (scores <= 1 + 1e-12))
    for i in range(len(mentees)):
        for j in range(len(mentors)):
            why = explain(enc, i, j)
            assert abs(why.score - scores[i, j]) <= 1e-9
            assert abs(sum(p.contribution for p in why.parts) - scores[i, j]) <= 1e-9
            for p in why.parts:
                assert 0 <= p.value <= 1 and p.reason
                assert p.contribution == p.weight * p.value


@settings(max_examples=30, deadline=None)
@given(cohorts(), st.randoms(use_true_random=False))
def test_a_round_of_pairs_is_explained_as_each_pair_alone(cohort, rng):
    """``explain_pairs`` (a round's proposals, criteria run on blocks of pairs) says
    of every pair what ``explain`` says of it alone, in the order asked, across
    more than one block."""
    mentees, mentors, config = cohort
    enc, scores = scored(mentees, mentors, config)
    every = [(i, j) for i in range(len(mentees)) for j in range(len(mentors))]
    pairs = [rng.choice(every) for _ in range(EXPLAIN_BLOCK * 2 + 3)]
    together = explain_pairs(enc, pairs, {"e0": "Ada"})
    assert len(together) == len(pairs)
    for (i, j), why in zip(pairs, together, strict=True):
        alone = explain(enc, i, j, {"e0": "Ada"})
        assert (why.mentee_id, why.mentor_id) == (alone.mentee_id, alone.mentor_id)
        assert [p.reason for p in why.parts] == [p.reason for p in alone.parts]
        for a, b in zip(why.parts, alone.parts, strict=True):
            assert a.criterion == b.criterion and abs(a.value - b.value) <= 1e-12
        assert abs(why.score - scores[i, j]) <= 1e-9

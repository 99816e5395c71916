"""Profiles domain: given events → when command → then events (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chassis.errors import Conflict, ValidationFailed
from contracts import profiles as c
from contracts.api.profiles import CohortIn, IntakeIn, MentorProfileIn
from services.profiles.domain import events as ev
from services.profiles.domain.cohort import Cohort
from services.profiles.domain.competencies import CompetencyFramework
from services.profiles.domain.eligibility import Applicant
from services.profiles.domain.errors import (
    AlreadyParticipating,
    CapacityBelowLoad,
    ConsentRequired,
    InvalidTransition,
    NotEligible,
    PersonGone,
    UnknownCompetency,
)
from services.profiles.domain.person import Person, PersonDetails

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def details(**overrides) -> PersonDetails:
    base = {
        "given_name": "Grace",
        "family_name": "Hopper",
        "email": "grace@acme.example",
        "level": 6,
        "business_unit": "Retail",
        "function": "Technology",
        "geography": "US",
        "time_zone": "America/New_York",
        "employee_id": "E1",
        "title": "VP Engineering",
        "hire_date": date(2016, 1, 4),
    }
    base.update(overrides)
    return PersonDetails(**base)


def registered(**overrides) -> ev.PersonRegistered:
    d = details(**overrides)
    return ev.PersonRegistered(
        person_id="p-1", roles=["mentee", "mentor"], **d.event_fields()
    )


def given(*events) -> Person:
    return Person.rebuild("p-1", "acme", events)


# -- person ---------------------------------------------------------------------------


def test_register_records_the_details_and_roles():
    person = Person.register("p-1", "acme", details(), ["mentor", "mentee"])
    (event,) = person.pending_events
    assert isinstance(event, ev.PersonRegistered)
    assert event.roles == ["mentee", "mentor"]
    assert event.tenure_start == "2016-01"
    assert set(event.personal_fields) >= {"email", "given_name", "employee_id"}


@pytest.mark.parametrize(
    "overrides, path",
    [
        ({"email": "nope"}, "email"),
        ({"geography": "Germany"}, "geography"),
        ({"time_zone": "Mars/Base"}, "time_zone"),
        ({"level": 0}, "level"),
        ({"given_name": " "}, "given_name"),
    ],
)
def test_invalid_details_name_the_field(overrides, path):
    with pytest.raises(ValidationFailed) as info:
        Person.register("p-1", "acme", details(**overrides), ["mentee"])
    assert [e.path for e in info.value.errors] == [path]


def test_a_level_rise_from_the_hris_is_a_promotion():
    person = given(registered())
    person.update_details(details(level=7, title="SVP Engineering"), effective_on=TODAY)
    updated, outcome = person.pending_events
    assert isinstance(updated, ev.PersonDetailsUpdated)
    assert isinstance(outcome, ev.CareerOutcomeRecorded)
    assert (outcome.kind, outcome.from_level, outcome.to_level) == ("promotion", 6, 7)
    assert outcome.to_title == "SVP Engineering"


def test_a_title_change_at_the_same_level_is_a_role_change():
    person = given(registered())
    person.update_details(details(title="CTO Retail"), effective_on=TODAY)
    assert person.pending_events[-1].kind == "role_change"


def test_unchanged_details_record_nothing():
    person = given(registered())
    person.update_details(details())
    assert person.pending_events == []


def test_departure_is_recorded_as_an_outcome():
    person = given(registered())
    person.deactivate("departure", effective_on=TODAY)
    deactivated, outcome = person.pending_events
    assert isinstance(deactivated, c.PersonDeactivated)
    assert outcome.kind == "departure"


PROFILE = MentorProfileIn.model_validate(
    {
        "strengths": [{"competency_id": "strategy", "proficiency": 5}],
        "formats": ["one_to_one"],
        "max_mentees": 2,
        "hours_per_month": 6,
    }
)


def test_mentor_profile_needs_known_competencies():
    person = given(registered())
    with pytest.raises(UnknownCompetency) as info:
        person.set_mentor_profile(
            PROFILE, known_competencies={"finance"}, current_load=0
        )
    assert info.value.extra["competency_ids"] == ["strategy"]
    assert person.pending_events == []


def test_capacity_cannot_fall_below_current_load():
    person = given(registered())
    with pytest.raises(CapacityBelowLoad):
        person.set_mentor_profile(PROFILE, {"strategy"}, current_load=3)
    person.set_mentor_profile(PROFILE, {"strategy"}, current_load=2)
    with pytest.raises(CapacityBelowLoad):
        person.change_capacity(1, 4, current_load=2)


def test_only_mentors_have_a_mentor_profile():
    person = given(
        ev.PersonRegistered(
            person_id="p-1", roles=["mentee"], **details().event_fields()
        )
    )
    with pytest.raises(InvalidTransition):
        person.set_mentor_profile(PROFILE, {"strategy"}, current_load=0)


def test_intake_goals_must_aim_above_the_current_level():
    person = given(registered())
    intake = IntakeIn.model_validate(
        {
            "goals": [{"competency_id": "strategy", "current": 3, "target": 3}],
            "hours_per_month": 4,
        }
    )
    with pytest.raises(ValidationFailed) as info:
        person.submit_intake(intake, {"strategy"})
    assert info.value.errors[0].path == "goals.0.target"


def test_demographics_need_consent_and_withdrawal_removes_them():
    person = given(registered())
    with pytest.raises(ConsentRequired):
        person.share_demographics({"gender": "woman"}, {"gender"})
    person.give_consent("demographics", NOW)
    person.share_demographics({"gender": "woman"}, {"gender"})
    with pytest.raises(ValidationFailed):
        person.share_demographics({"religion": "x"}, {"gender"})
    person.withdraw_consent("demographics", NOW)
    kinds = [type(e).__name__ for e in person.pending_events]
    assert kinds == [
        "ConsentGiven",
        "DemographicsShared",
        "ConsentWithdrawn",
        "DemographicsWithdrawn",
    ]
    assert person.demographics is None


def test_an_erased_person_accepts_no_command():
    person = given(registered(), c.PersonErased(person_id="p-1", erased_at=NOW))
    with pytest.raises(PersonGone):
        person.update_details(details())
    assert person.details is None


# -- competencies -------------------------------------------------------------------


def test_defining_the_same_competency_twice_is_a_no_op_but_a_clash_is_refused():
    framework = CompetencyFramework.start("acme")
    framework.define("strategy", "Strategic thinking", "leadership")
    framework.define("strategy", "Strategic thinking", "leadership")
    assert len(framework.pending_events) == 1
    with pytest.raises(Conflict):
        framework.define("strategy", "Something else")
    with pytest.raises(ValidationFailed):
        framework.define("Not An Id!", "x")


# -- cohorts --------------------------------------------------------------------------


def applicant(pid: str, **overrides) -> Applicant:
    base = {
        "person_id": pid,
        "level": 6,
        "business_unit": "Retail",
        "geography": "GB",
        "hire_date": date(2020, 1, 1),
        "roles": ("mentee",),
    }
    base.update(overrides)
    return Applicant(**base)


def cohort(capacity: int = 2, **eligibility) -> Cohort:
    return Cohort.create(
        "c-1",
        "acme",
        CohortIn.model_validate(
            {"name": "Leaders 2027", "capacity": capacity, "eligibility": eligibility}
        ),
    )


def test_seats_fill_then_the_waiting_list_keeps_arrival_order():
    co = cohort(capacity=2)
    for pid in ("a", "b", "c", "d"):
        co.apply(applicant(pid), "mentee", TODAY)
    assert co.mentees == ["a", "b"]
    assert [co.waiting_position(p) for p in ("c", "d")] == [1, 2]


def test_a_withdrawal_admits_the_first_in_line():
    co = cohort(capacity=1)
    for pid in ("a", "b", "c"):
        co.apply(applicant(pid), "mentee", TODAY)
    co.collect_pending()
    co.withdraw("a")
    withdrew, admitted = co.pending_events
    assert isinstance(withdrew, c.ParticipantWithdrew)
    assert (admitted.person_id, admitted.from_waiting_list) == ("b", True)
    assert co.waiting_position("c") == 1


def test_raising_capacity_admits_from_the_waiting_list_and_lowering_below_load_fails():
    co = cohort(capacity=1)
    for pid in ("a", "b", "c"):
        co.apply(applicant(pid), "mentee", TODAY)
    co.change_capacity(2)
    assert co.mentees == ["a", "b"]
    with pytest.raises(CapacityBelowLoad):
        co.change_capacity(1)


def test_every_eligibility_reason_is_given():
    co = cohort(
        business_units=["Retail"], min_level=7, geographies=["GB"], min_tenure_months=24
    )
    who = applicant(
        "x",
        business_unit="Insurance",
        level=5,
        geography="FR",
        hire_date=date(2026, 1, 1),
    )
    with pytest.raises(NotEligible) as info:
        co.apply(who, "mentee", TODAY)
    reasons = info.value.reasons
    assert len(reasons) == 4
    assert any("business unit Insurance" in r for r in reasons)
    assert any("level 5 is below the minimum level 7" in r for r in reasons)
    assert any("geography FR" in r for r in reasons)
    assert any("tenure of 10 months" in r for r in reasons)
    assert co.pending_events[1:] == []


def test_applying_twice_is_refused_and_a_role_must_be_held():
    co = cohort()
    co.apply(applicant("a"), "mentee", TODAY)
    with pytest.raises(AlreadyParticipating):
        co.apply(applicant("a"), "mentee", TODAY)
    with pytest.raises(NotEligible):
        co.apply(applicant("b"), "mentor", TODAY)


def test_stages_only_move_forward():
    co = cohort()
    co.advance("pairing")
    with pytest.raises(InvalidTransition):
        co.advance("intake")


def test_a_new_deactivation_reason_is_recorded_but_the_same_one_is_not():
    person = given(
        registered(), c.PersonDeactivated(person_id="p-1", reason="inactive")
    )
    person.deactivate("inactive")
    assert person.pending_events == []
    person.deactivate("deprovisioned")
    assert [e.reason for e in person.pending_events] == ["deprovisioned"]


def test_a_deactivation_told_after_the_fact_carries_its_day():
    person = given(registered())
    person.deactivate("inactive", effective_on=date(2024, 5, 31))
    (event,) = person.pending_events
    assert isinstance(event, c.PersonDeactivated)
    assert event.deactivated_on == date(2024, 5, 31)
    today = given(registered())
    today.deactivate("inactive")
    assert today.pending_events[0].deactivated_on is None  # the day it is recorded


@pytest.mark.parametrize(
    "day, message",
    [
        (date(2099, 1, 1), "must not be in the future"),
        (date(2016, 1, 3), "before the person's hire date (2016-01-04)"),
    ],
)
def test_a_deactivation_dated_in_the_future_or_before_hire_is_refused(day, message):
    person = given(registered())
    with pytest.raises(ValidationFailed) as refused:
        person.deactivate("inactive", effective_on=day)
    assert [(f.path, f.message) for f in refused.value.errors] == [
        ("effective_on", message)
    ]
    assert person.pending_events == []
    assert person.active

"""The advisor lifecycle's rules: given events → when a command → then events."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from contracts.advisors import lifecycle as c
from contracts.api.advisors import (
    AdvisorProfile,
    CheckState,
    DeclaredConflicts,
    ExpertiseProfile,
)
from services.advisors.domain.advisor import Advisor, AdvisorProposed, WrongStatus
from services.advisors.domain.diligence import (
    ApprovalBlocked,
    Check,
    ConflictsDeclared,
    DiligenceCheckRecorded,
    DiligencePolicy,
    DiligenceStarted,
    default_checklist,
)
from services.advisors.projections.advisors import row_of

TODAY = date(2026, 11, 21)
PROFILE = ExpertiseProfile(geography="GB", time_zone="Europe/London", languages=["en"])


def given(*events) -> Advisor:
    return Advisor.rebuild("adv-1", "acme", events)


def proposed() -> AdvisorProposed:
    return AdvisorProposed(
        advisor_id="adv-1",
        expertise_sought=["turnarounds"],
        proposed_by="sponsor-1",
        name="Grace Hopper",
        email="grace@navy.example",
    )


def started() -> DiligenceStarted:
    return DiligenceStarted(advisor_id="adv-1", checks=default_checklist())


def passed(check: str, expires_on: date | None = None) -> DiligenceCheckRecorded:
    return DiligenceCheckRecorded(
        advisor_id="adv-1", check=check, status="passed", expires_on=expires_on
    )


def test_approval_names_the_open_the_failed_and_the_expired_check():
    advisor = given(
        proposed(),
        started(),
        passed("background", expires_on=TODAY - timedelta(days=1)),
        DiligenceCheckRecorded(advisor_id="adv-1", check="compliance", status="failed"),
        passed("confidentiality"),
    )

    with pytest.raises(ApprovalBlocked) as refused:
        advisor.approve(PROFILE, TODAY)

    assert refused.value.extra["blockers"] == [
        {"check": "background", "state": "expired"},
        {"check": "conflict_of_interest", "state": "open"},
        {"check": "compliance", "state": "failed"},
    ]
    assert "background (expired)" in refused.value.detail
    assert advisor.pending_events == []


def test_approval_with_every_check_passed_records_the_expertise_for_matching():
    advisor = given(
        proposed(),
        started(),
        *(passed(s.name, TODAY + timedelta(days=365)) for s in default_checklist()),
    )

    advisor.approve(PROFILE, TODAY)

    [approved] = advisor.pending_events
    assert isinstance(approved, c.AdvisorApproved)
    assert approved.geography == "GB" and advisor.status == "approved"
    assert "name" not in c.AdvisorApproved.model_fields


def test_a_declared_restricted_organisation_fails_the_conflict_check():
    advisor = given(proposed(), started())

    hits = advisor.declare_conflicts(
        ["Globex Corporation", "Initech"],
        employers=["Acme Consulting"],
        board_seats=["  globex   CORPORATION "],
        competitors=[],
        vendors=[],
    )

    assert hits == ["globex   CORPORATION"]
    declared, failed = advisor.pending_events
    assert declared.restricted_matches == 1
    assert (failed.check, failed.status, failed.reason_code) == (
        "conflict_of_interest",
        "failed",
        "restricted_organisation",
    )
    with pytest.raises(ApprovalBlocked):
        advisor.approve(PROFILE, TODAY)


def test_a_clean_declaration_leaves_the_conflict_check_to_its_owner():
    advisor = given(proposed(), started())
    advisor.declare_conflicts(["Globex"], employers=["Acme"], vendors=["Initech"])
    assert [e.event_type for e in advisor.pending_events] == ["ConflictsDeclared"]
    assert advisor.checks["conflict_of_interest"].status == "open"


def test_an_expired_check_suspends_an_active_advisor_in_the_sweep():
    expiry = TODAY + timedelta(days=30)
    advisor = given(
        proposed(),
        started(),
        *(passed(s.name, expiry) for s in default_checklist()),
        c.AdvisorApproved(advisor_id="adv-1", **PROFILE.model_dump()),
        c.AdvisorActivated(advisor_id="adv-1"),
    )

    assert advisor.sweep(expiry) is False  # still valid on its expiry day
    assert advisor.sweep(expiry + timedelta(days=1)) is True

    [suspended] = advisor.pending_events
    assert suspended == c.AdvisorSuspended(
        advisor_id="adv-1", reason_code="check_expired"
    )
    assert advisor.status == "suspended"
    with pytest.raises(ApprovalBlocked):
        advisor.reinstate(expiry + timedelta(days=1))
    advisor.record_check(
        "background", status="passed", today=expiry, expires_on=TODAY.replace(2028)
    )
    for name in ("conflict_of_interest", "confidentiality", "compliance"):
        advisor.record_check(name, status="passed", today=expiry)
    advisor.reinstate(expiry + timedelta(days=1))
    assert advisor.status == "active"  # back where the suspension found them


def test_erasure_forgets_the_personal_fields_and_refuses_further_commands():
    advisor = given(proposed(), started())
    advisor.erase()
    assert advisor.personal == {
        "name": None,
        "email": None,
        "organisation": None,
        "bio": None,
    }
    with pytest.raises(Exception) as gone:
        advisor.reject("late")
    assert getattr(gone.value, "code", "") == "PersonErased"


def test_lifecycle_order_is_enforced():
    with pytest.raises(WrongStatus):
        given(proposed()).approve(PROFILE, TODAY)
    with pytest.raises(WrongStatus):
        given(proposed()).offboard()


def test_the_tenant_checklist_is_the_default_until_configured():
    policy = DiligencePolicy("advisor-policy-acme", "acme")
    assert [s.name for s in policy.checklist] == [
        "background",
        "conflict_of_interest",
        "confidentiality",
        "compliance",
    ]
    policy.restrict([" Globex ", "globex", "Initech"])
    assert sorted(o.casefold() for o in policy.restricted) == ["globex", "initech"]


def test_the_api_views_carry_every_field_the_advisor_state_keeps():
    """A response model drops what it does not name: the views name every field."""
    assert set(AdvisorProfile.model_fields) == set(c.AdvisorApproved.model_fields) - {
        "advisor_id"
    }
    assert set(DeclaredConflicts.model_fields) == set(
        ConflictsDeclared.model_fields
    ) - {"advisor_id", "restricted_matches"}
    assert set(ExpertiseProfile.model_fields) == set(AdvisorProfile.model_fields)
    advisor = given(proposed(), DiligenceStarted(advisor_id="adv-1", checks=[]))
    advisor.checks["background"] = Check(name="background")
    (check,) = json.loads(row_of(advisor)["checks"]).values()
    assert set(CheckState.model_fields) == set(check) | {"evidence"}

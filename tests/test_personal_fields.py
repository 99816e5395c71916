"""Every string a contract carries is declared personal or, with a reason, not.

The walk covers every event model of every producer (the AsyncAPI generator's list),
the values nested in them, and the events profiles stores beside its contracts. A
string field (``str``, or a list or map of them; a closed ``Literal`` is a vocabulary,
not free text) passes only if it is in its model's ``personal_fields`` (encrypted with
the person's key, so erasure shreds it), sits inside such a field, or is declared not
personal with why: ``@not_personal`` on the model (``contracts/__init__.py``) or, for
the producers whose contracts have not yet declared theirs, ``NOT_PERSONAL`` below. A
new undeclared string field fails ``test_every_string_field_is_declared``.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from chassis.events import EventPayload
from contracts import not_personal_fields
from contracts.asyncapi import PRODUCERS
from services.profiles.domain.events import registry as profiles_stored

ID = "pseudonymous id"


def _same(model: str, why: str, *fields: str) -> dict[str, str]:
    return {f"{model}.{field}": why for field in fields}


# Not personal, for the producers that keep no declarations in their contracts yet:
# "module.Model.field" -> why (module relative to contracts/). Move these onto the
# models (@not_personal) when the owning service next touches its contracts.
NOT_PERSONAL: dict[str, str] = {
    # insights: ids and machine reason codes with numbers (its contract's promise)
    **_same(
        "insights.EarlyWarningRaised", ID, "mentee_id", "mentor_id", "relationship_id"
    ),
    "insights.EarlyWarningRaised.reasons": "machine reason codes",
    "insights.RelationshipHealthChanged.relationship_id": ID,
    "insights.RelationshipHealthChanged.reasons": "machine reason codes",
    # matching
    **_same("matching.NotProposed", ID, "mentee_id", "mentor_id"),
    "matching.NotProposed.reason": "one of the service's two fixed sentences",
    **_same("matching.PairForbidden", ID, "cohort_id", "mentee_id", "mentor_id"),
    **_same("matching.PairPinned", ID, "mentee_id", "mentor_id", "round_id"),
    **_same("matching.PairingAccepted", ID, "pairing_id", "person_id"),
    **_same("matching.PairingApproved", ID, "mentee_id", "mentor_id", "pairing_id"),
    **_same(
        "matching.PairingConfirmed",
        ID,
        "cohort_id",
        "mentee_id",
        "mentor_id",
        "pairing_id",
    ),
    **_same("matching.PairingDeclined", ID, "pairing_id", "person_id"),
    **_same("matching.PairingEnded", ID, "mentee_id", "mentor_id", "pairing_id"),
    "matching.PairingExpired.pairing_id": ID,
    **_same(
        "matching.PairingProposed",
        ID,
        "cohort_id",
        "mentee_id",
        "mentor_id",
        "pairing_id",
        "replaces",
        "round_id",
    ),
    "matching.PairingWithdrawn.pairing_id": ID,
    **_same("matching.RepairingRequested", ID, "mentee_id", "pairing_id"),
    "matching.RotationCycle.mentor_id": ID,
    **_same("matching.RotationPlanned", ID, "cohort_id", "mentee_id", "plan_id"),
    **_same("matching.RoundCompleted", ID, "cohort_id", "round_id"),
    "matching.RoundCompleted.unmatched": "mentee ids (pseudonymous)",
    **_same("matching.RoundFailed", ID, "cohort_id", "round_id"),
    "matching.RoundFailed.error": "the service's own error message about the round",
    "matching.RoundProgressed.round_id": ID,
    "matching.RoundProgressed.phase": "a phase name of the round",
    **_same("matching.RoundStarted", ID, "cohort_id", "round_id"),
    "matching.ScorePart.criterion": "a criterion name of the scoring",
    **_same("matching.SuggestionDismissed", ID, "mentee_id", "mentor_id"),
    # sessions: ids, dates, statuses, ratings and counts (its contract's promise)
    **_same(
        "sessions.development.CheckInRecorded",
        ID,
        "check_in_id",
        "relationship_id",
        "sponsor_id",
    ),
    **_same(
        "sessions.development.EscalationRaised", ID, "escalation_id", "relationship_id"
    ),
    **_same(
        "sessions.development.EscalationResolved",
        ID,
        "escalation_id",
        "relationship_id",
        "resolved_by",
    ),
    **_same(
        "sessions.development.MilestoneAchieved",
        ID,
        "confirmed_by",
        "mentee_id",
        "milestone_id",
        "relationship_id",
    ),
    **_same(
        "sessions.development.MilestoneMissed", ID, "milestone_id", "relationship_id"
    ),
    **_same(
        "sessions.development.MilestoneProgressed",
        ID,
        "milestone_id",
        "relationship_id",
    ),
    **_same(
        "sessions.development.MilestoneSet",
        ID,
        "mentee_id",
        "milestone_id",
        "relationship_id",
    ),
    **_same(
        "sessions.development.RotationAssigned",
        ID,
        "host_id",
        "mentee_id",
        "relationship_id",
        "rotation_id",
    ),
    "sessions.development.RotationAssigned.function": "the organisation's function",
    "sessions.development.RotationAssigned.market": "the organisation's market",
    **_same(
        "sessions.development.RotationCompleted", ID, "relationship_id", "rotation_id"
    ),
    **_same(
        "sessions.development.RotationDebriefed", ID, "relationship_id", "rotation_id"
    ),
    "sessions.development.RotationDebriefed.goal_competency_ids": "competency ids",
    **{
        f"sessions.meetings.{model}.{field}": ID
        for model, actor in (
            ("SessionAgendaSet", "set_by"),
            ("SessionCancelled", "cancelled_by"),
            ("SessionHeld", "recorded_by"),
            ("SessionMissed", "reported_by"),
            ("SessionRescheduled", "rescheduled_by"),
            ("SessionScheduled", "scheduled_by"),
        )
        for field in ("relationship_id", "session_id", actor)
    },
    "sessions.meetings.SessionMissed.absent_ids": "person ids (pseudonymous)",
    **_same("sessions.notes.FeedbackGiven", ID, "feedback_id", "relationship_id"),
    "sessions.notes.FeedbackGiven.subject_id": ID,
    **_same("sessions.notes.NoteDeleted", ID, "note_id", "relationship_id"),
    **_same("sessions.notes.NoteEdited", ID, "note_id", "relationship_id"),
    **_same(
        "sessions.notes.NoteWritten",
        ID,
        "author_id",
        "note_id",
        "prompt_id",
        "relationship_id",
        "session_id",
    ),
    "sessions.notes.PulseSurveyClosed.survey_id": ID,
    **_same("sessions.notes.PulseSurveyOpened", ID, "cohort_id", "survey_id"),
    "sessions.notes.QuestionAggregate.distribution": "rating '1'..'5' -> answer count",
    **_same("sessions.relationships.ContractDrafted", ID, "relationship_id"),
    **_same("sessions.relationships.ContractInForce", ID, "relationship_id"),
    **_same(
        "sessions.relationships.ContractSigned", ID, "person_id", "relationship_id"
    ),
    **{
        f"sessions.relationships.{model}.relationship_id": ID
        for model in (
            "RelationshipConcluded",
            "RelationshipPaused",
            "RelationshipResumed",
        )
    },
    **_same(
        "sessions.relationships.RelationshipStarted",
        ID,
        "cohort_id",
        "mentee_id",
        "mentor_id",
        "pairing_id",
        "relationship_id",
    ),
}

# Personal (or free text people write, which may name someone), yet published and
# stored in clear: the owning service must encrypt it with the person's key or stop
# publishing it. Visible on purpose: review, then empty it. Empty since issue 16
# (``test_no_known_gap_remains`` keeps it so).
KNOWN_GAPS: dict[str, str] = {}

# These declare everything on their models: no entry above may name them.
FULLY_DECLARED = ("profiles", "advisors")


def _name(model: type[BaseModel], field: str) -> str:
    module = model.__module__.removeprefix("contracts.")
    module = module.replace("services.profiles.domain.events", "profiles.stored")
    return f"{module}.{model.__name__}.{field}"


def _parts(annotation: Any) -> Iterator[Any]:
    """Every type an annotation is made of (through unions, lists, maps, Annotated)."""
    origin = get_origin(annotation)
    if origin is Literal:
        return
    if origin is Annotated:
        yield from _parts(get_args(annotation)[0])
        return
    if origin in (Union, types.UnionType) or origin is not None:
        for arg in get_args(annotation):
            yield from _parts(arg)
        return
    yield annotation


def _holds_text(annotation: Any) -> bool:
    return any(
        part is str
        or (
            isinstance(part, type)
            and issubclass(part, str)
            and not issubclass(part, enum.Enum)
        )
        for part in _parts(annotation)
    )


def _nested(annotation: Any) -> list[type[BaseModel]]:
    return [
        p
        for p in _parts(annotation)
        if isinstance(p, type) and issubclass(p, BaseModel)
    ]


def _models() -> dict[str, type[EventPayload]]:
    models = {
        f"{producer}/{event_type}": registry.model(event_type)
        for producer, registry in PRODUCERS.items()
        for event_type in registry.event_types
    }
    models.update(
        {
            f"profiles-stored/{event_type}": profiles_stored.model(event_type)
            for event_type in profiles_stored.event_types
        }
    )
    return models


def _string_fields() -> dict[str, tuple[type[BaseModel], str, str]]:
    """Every string field outside a personal field: name -> (model, field, status).

    status: ``personal``, ``declared`` (on the model), ``listed`` (NOT_PERSONAL),
    ``gap`` (KNOWN_GAPS) or ``undeclared``.
    """
    found: dict[str, tuple[type[BaseModel], str, str]] = {}
    seen: set[type[BaseModel]] = set()

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        personal = set(getattr(model, "personal_fields", ()))
        declared = not_personal_fields(model)
        for field, info in model.model_fields.items():
            name = _name(model, field)
            if field in personal:
                found[name] = (model, field, "personal")
                continue  # encrypted whole, nested values included
            if _holds_text(info.annotation):
                status = (
                    "declared"
                    if field in declared
                    else "listed"
                    if name in NOT_PERSONAL
                    else "gap"
                    if name in KNOWN_GAPS
                    else "undeclared"
                )
                found[name] = (model, field, status)
            for nested in _nested(info.annotation):
                walk(nested)

    for model in _models().values():
        walk(model)
    return found


FIELDS = _string_fields()


def test_every_string_field_is_declared():
    undeclared = sorted(n for n, (_m, _f, s) in FIELDS.items() if s == "undeclared")
    assert not undeclared, (
        "string fields neither personal nor declared not personal (add the field to "
        "the model's personal_fields, or @not_personal(field='why')): "
        + ", ".join(undeclared)
    )


def test_the_lists_name_only_fields_that_exist_and_need_them():
    for listing in (NOT_PERSONAL, KNOWN_GAPS):
        stale = sorted(set(listing) - set(FIELDS))
        assert not stale, f"listed but no such string field: {stale}"
        assert all(why.strip() for why in listing.values())
    both = set(NOT_PERSONAL) & set(KNOWN_GAPS)
    assert not both, f"listed as not personal and as a gap: {sorted(both)}"
    redundant = sorted(
        n
        for n, (_m, _f, s) in FIELDS.items()
        if s in ("declared", "personal") and (n in NOT_PERSONAL or n in KNOWN_GAPS)
    )
    assert not redundant, f"declared on the model and listed here: {redundant}"


@pytest.mark.parametrize("producer", FULLY_DECLARED)
def test_a_fully_declared_producer_has_no_gaps_and_no_outside_list(producer):
    outside = sorted(
        n for n in (*NOT_PERSONAL, *KNOWN_GAPS) if n.split(".", 1)[0] == producer
    )
    assert not outside, f"{producer} declares on its models, not here: {outside}"


def test_profiles_free_text_is_personal():
    """What a person writes about themselves is encrypted with their key."""
    wanted = {
        "profiles.MentorProfileSet.industries",
        "profiles.MentorProfileSet.markets",
        "profiles.MentorProfileSet.functions_led",
        "profiles.MentorProfileSet.crisis_experience",
        "profiles.MentorProfileSet.leadership_style",
        "profiles.IntakeSubmitted.learning_style",
        "profiles.IntakeSubmitted.experiences_lacking",
        "profiles.DemographicsShared.attributes",
        "profiles.ParticipantWithdrew.reason",
        "profiles.stored.IntakeSubmitted.motivations",
        "profiles.stored.PersonRegistered.email",
        "profiles.stored.PersonRegistered.employee_id",
        "profiles.stored.PersonRegistered.given_name",
        "profiles.stored.PersonRegistered.family_name",
    }
    status = {n: s for n, (_m, _f, s) in FIELDS.items()}
    assert {n: status.get(n) for n in wanted} == dict.fromkeys(wanted, "personal")


def test_no_known_gap_remains():
    assert not KNOWN_GAPS, f"personal yet stored in clear: {sorted(KNOWN_GAPS)}"
    assert not [n for n, (_m, _f, s) in FIELDS.items() if s == "gap"]


def test_an_advisors_own_experience_is_personal():
    """What describes the advisor is encrypted with their key; the council's and the
    risk register's texts are the organisation's records, declared so."""
    personal = {
        "advisors.lifecycle.AdvisorProposed.expertise_sought",
        "advisors.lifecycle.AdvisorApproved.industries",
        "advisors.lifecycle.AdvisorApproved.markets",
        "advisors.lifecycle.AdvisorApproved.functions_led",
        "advisors.lifecycle.AdvisorApproved.crisis_experience",
    }
    records = {
        "advisors.councils.CouncilChartered.purpose",
        "advisors.councils.RecommendationMade.title",
        "advisors.councils.RiskRaised.title",
    }
    status = {n: s for n, (_m, _f, s) in FIELDS.items()}
    assert {n: status.get(n) for n in personal} == dict.fromkeys(personal, "personal")
    assert {n: status.get(n) for n in records} == dict.fromkeys(records, "declared")
    for name in records:
        model, field, _ = FIELDS[name]
        assert "organisation's record" in not_personal_fields(model)[field]


def test_a_new_undeclared_string_field_fails_the_walk():
    class Probe(EventPayload):
        person_id: str
        notes: list[str] = []

    global FIELDS
    saved = FIELDS
    PRODUCERS["probe"] = type(PRODUCERS["profiles"])()
    PRODUCERS["probe"].register(Probe)
    try:
        FIELDS = _string_fields()
        with pytest.raises(AssertionError, match=r"Probe\.notes"):
            test_every_string_field_is_declared()
    finally:
        del PRODUCERS["probe"]
        FIELDS = saved

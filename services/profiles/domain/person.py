"""A person in the programme: HR details, programme roles, mentor profile, intake,
consent and demographics, outcomes, and erasure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from zoneinfo import available_timezones

from chassis.aggregate import Aggregate
from chassis.errors import FieldError, ValidationFailed
from chassis.inputs import (
    EARLIEST,
    FEW_ITEMS,
    MAX_CODE,
    MAX_EMAIL,
    MAX_NAME,
    MAX_REF,
    has_control_characters,
)
from contracts import profiles as c
from contracts.api.profiles import IntakeIn, MentorProfileIn
from contracts.profiles import ChangeSource, OutcomeKind, ProgrammeRole
from services.profiles.domain import events as ev
from services.profiles.domain.errors import (
    CapacityBelowLoad,
    ConsentRequired,
    InvalidTransition,
    PersonGone,
    UnknownCompetency,
)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# ISO 3166-1 alpha-2 country codes, plus XK (Kosovo), which HR systems use.
COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL
    BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW
    CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF
    GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ
    IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU
    LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC
    NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE
    RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD
    TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU
    WF WS YE YT ZA ZM ZW XK""".split()
)
ROLES = tuple(ProgrammeRole)
SOURCES = frozenset(ChangeSource)
DEMOGRAPHICS = "demographics"
_ZONES: set[str] = set()


# The input policy's bound for each text field of a person, for what reaches the domain
# without a request model (SCIM, HRIS imports): one-line, no control characters.
DETAIL_LIMITS = {
    "given_name": MAX_NAME,
    "family_name": MAX_NAME,
    "email": MAX_EMAIL,
    "business_unit": MAX_NAME,
    "function": MAX_NAME,
    "geography": MAX_CODE,
    "time_zone": MAX_CODE,
    "employee_id": MAX_REF,
    "title": MAX_NAME,
    "manager_id": MAX_REF,
}


def _bounds(details: PersonDetails) -> list[FieldError]:
    problems = []
    for name, limit in DETAIL_LIMITS.items():
        value = getattr(details, name)
        if value is None:
            continue
        if len(value) > limit:
            problems.append(FieldError(name, f"longer than {limit} characters"))
        elif has_control_characters(value):
            problems.append(FieldError(name, "must not hold control characters"))
    if len(details.languages) > FEW_ITEMS:
        problems.append(FieldError("languages", f"more than {FEW_ITEMS} languages"))
    for i, language in enumerate(details.languages):
        if len(language) > MAX_CODE or has_control_characters(language):
            problems.append(FieldError(f"languages.{i}", "not a language code"))
    return problems


def _valid_zone(name: str) -> bool:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return name in _ZONES


@dataclass(frozen=True)
class PersonDetails:
    """What the HRIS knows about a person."""

    given_name: str
    family_name: str
    email: str
    level: int
    business_unit: str
    function: str
    geography: str
    time_zone: str
    employee_id: str | None = None
    title: str | None = None
    manager_id: str | None = None
    hire_date: date | None = None
    languages: tuple[str, ...] = field(default_factory=tuple)

    def validated(self) -> PersonDetails:
        """The details, or ``ValidationFailed`` naming every bad field."""
        problems = _bounds(self)
        if problems:  # the rules below need sane values to say anything useful
            raise ValidationFailed(problems)
        return self.within_bounds()

    def within_bounds(self) -> PersonDetails:
        """``validated`` for details whose every text is known to keep the input
        policy's bounds already (built from a model of ``chassis.inputs`` types that
        checked them, as an import record is): the domain's own rules alone."""
        problems: list[FieldError] = []
        if not self.given_name.strip():
            problems.append(FieldError("given_name", "must not be empty"))
        if not self.family_name.strip():
            problems.append(FieldError("family_name", "must not be empty"))
        if not EMAIL.match(self.email):
            problems.append(
                FieldError("email", f"{self.email!r} is not an email address")
            )
        if not 1 <= self.level <= 12:
            problems.append(FieldError("level", "must be between 1 and 12"))
        if not self.business_unit.strip():
            problems.append(FieldError("business_unit", "must not be empty"))
        if not self.function.strip():
            problems.append(FieldError("function", "must not be empty"))
        if self.geography not in COUNTRIES:
            problems.append(
                FieldError(
                    "geography", f"{self.geography!r} is not an ISO 3166-1 country"
                )
            )
        if not _valid_zone(self.time_zone):
            problems.append(
                FieldError("time_zone", f"unknown time zone {self.time_zone!r}")
            )
        if self.hire_date and self.hire_date > datetime.now(UTC).date():
            problems.append(FieldError("hire_date", "must not be in the future"))
        if self.hire_date and self.hire_date < EARLIEST:
            problems.append(
                FieldError("hire_date", f"must not be before {EARLIEST.isoformat()}")
            )
        if problems:
            raise ValidationFailed(problems)
        return self

    def event_fields(self) -> dict[str, object]:
        # Shallow (every value is immutable): ``asdict`` deep-copies each one.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["languages"] = list(self.languages)
        data["tenure_start"] = (
            self.hire_date.strftime("%Y-%m") if self.hire_date else None
        )
        return data


def check_roles(roles: Sequence[str]) -> list[ProgrammeRole]:
    """The roles as enums, sorted and once each; ``ValidationFailed`` for any other
    word (SCIM and HRIS imports send roles as plain text)."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValidationFailed(
            [
                FieldError("roles", f"unknown role {r!r}; one of {', '.join(ROLES)}")
                for r in unknown
            ]
        )
    return sorted({ProgrammeRole(r) for r in roles})


def check_competencies(ids: list[str], known: set[str]) -> None:
    missing = sorted({i for i in ids if i not in known})
    if missing:
        raise UnknownCompetency(missing)


class Person(Aggregate):
    def initial_state(self) -> None:
        self.details: PersonDetails | None = None
        self.roles: list[ProgrammeRole] = []
        self.mentor_profile: c.MentorProfileSet | None = None
        self.intake: ev.IntakeSubmitted | None = None
        # Every goal of every intake, in order: what a reassessment may revisit.
        self.assessed_goals: list[c.DevelopmentGoal] = []
        self.consents: set[str] = set()
        self.demographics: dict[str, str] | None = None
        self.active = True
        self.inactive_reason: str | None = None
        self.erased = False
        self.outcomes: list[ev.CareerOutcomeRecorded] = []
        # Every employee id the person was known by: what erasure must find them by.
        self.employee_ids: set[str] = set()

    # -- commands --------------------------------------------------------------------

    @classmethod
    def register(
        cls, person_id: str, tenant: str, details: PersonDetails, roles: Sequence[str]
    ) -> Person:
        person = cls(person_id, tenant)
        person.initial_state()
        details = details.validated()
        person._record(
            ev.PersonRegistered(
                person_id=person_id, roles=check_roles(roles), **details.event_fields()
            )
        )
        return person

    def update_details(
        self,
        details: PersonDetails,
        *,
        source: str = ChangeSource.HRIS,
        effective_on: date | None = None,
    ) -> None:
        """Apply new HR details; a level or title change also records the outcome,
        dated ``effective_on`` (default today; not before the hire date)."""
        self._alive()
        details = details.validated()
        before = self.details
        if details == before:
            return
        events: list[ev.PersonDetailsUpdated | ev.CareerOutcomeRecorded] = [
            ev.PersonDetailsUpdated(
                person_id=self.id, roles=self.roles, **details.event_fields()
            )
        ]
        if before is None:
            self._record(events[0])
            return
        kind = None
        if details.level > before.level:
            kind = OutcomeKind.PROMOTION
        elif details.level < before.level or (details.title or "") != (
            before.title or ""
        ):
            kind = OutcomeKind.ROLE_CHANGE
        elif (
            details.business_unit != before.business_unit
            or details.function != before.function
        ):
            kind = OutcomeKind.LATERAL_MOVE
        if kind:
            problems = self._dated_after_hire(effective_on, details.hire_date)
            if problems:
                raise ValidationFailed(problems)
            events.append(
                ev.CareerOutcomeRecorded(
                    person_id=self.id,
                    kind=kind,
                    from_level=before.level,
                    to_level=details.level,
                    from_title=before.title,
                    to_title=details.title,
                    effective_on=effective_on or datetime.now(UTC).date(),
                    source=ChangeSource(source)
                    if source in SOURCES
                    else ChangeSource.HRIS,
                )
            )
        for event in events:
            self._record(event)

    def change_roles(self, roles: Sequence[str]) -> None:
        self._alive()
        checked = check_roles(roles)
        if checked != self.roles:
            self._record(c.ProgrammeRolesChanged(person_id=self.id, roles=checked))

    def set_mentor_profile(
        self, profile: MentorProfileIn, known_competencies: set[str], current_load: int
    ) -> None:
        """List this person in the mentor catalogue (strengths, formats, capacity)."""
        self._alive()
        if not {ProgrammeRole.MENTOR, ProgrammeRole.REVERSE_MENTOR} & set(self.roles):
            raise InvalidTransition(
                "only a mentor or reverse mentor has a mentor profile"
            )
        event = c.MentorProfileSet(person_id=self.id, **profile.model_dump())
        check_competencies(
            [s.competency_id for s in event.strengths], known_competencies
        )
        if event.max_mentees < current_load:
            raise CapacityBelowLoad("mentor", event.max_mentees, current_load)
        self._record(event)

    def change_capacity(
        self, max_mentees: int, hours_per_month: int, current_load: int
    ) -> None:
        self._alive()
        if self.mentor_profile is None:
            raise InvalidTransition("set a mentor profile before changing capacity")
        if max_mentees < current_load:
            raise CapacityBelowLoad("mentor", max_mentees, current_load)
        self._record(
            c.MentorCapacityChanged(
                person_id=self.id,
                max_mentees=max_mentees,
                hours_per_month=hours_per_month,
            )
        )

    def submit_intake(self, intake: IntakeIn, known_competencies: set[str]) -> None:
        """Record the mentee's development goals and preferences.

        A later intake is a reassessment: a goal whose competency an earlier intake
        of this person already named may record its level at or above the target
        (the goal is reached; insights reads ``reached`` from the latest
        assessment). A goal assessed for the first time must still aim above its
        current level: a goal already reached is not a development goal.
        """
        self._alive()
        event = ev.IntakeSubmitted(person_id=self.id, **intake.model_dump())
        if not event.goals:
            raise ValidationFailed(
                [FieldError("goals", "at least one goal is required")]
            )
        check_competencies([g.competency_id for g in event.goals], known_competencies)
        assessed = {g.competency_id for g in self.assessed_goals}
        bad = [
            FieldError(
                f"goals.{i}.target",
                "target must be above the current level (only a reassessment of a "
                "goal named in an earlier intake may record it reached)",
            )
            for i, g in enumerate(event.goals)
            if g.target <= g.current and g.competency_id not in assessed
        ]
        if bad:
            raise ValidationFailed(bad)
        self._record(event)

    def give_consent(self, purpose: str, at: datetime) -> None:
        self._alive()
        if purpose not in self.consents:
            self._record(
                ev.ConsentGiven(person_id=self.id, purpose=purpose, given_at=at)
            )

    def withdraw_consent(self, purpose: str, at: datetime) -> None:
        """Withdrawing demographics consent also withdraws what was shared."""
        self._alive()
        if purpose not in self.consents:
            return
        self._record(
            ev.ConsentWithdrawn(person_id=self.id, purpose=purpose, withdrawn_at=at)
        )
        if purpose == DEMOGRAPHICS and self.demographics is not None:
            self._record(c.DemographicsWithdrawn(person_id=self.id))

    def share_demographics(self, attributes: dict[str, str], allowed: set[str]) -> None:
        self._alive()
        if DEMOGRAPHICS not in self.consents:
            raise ConsentRequired("demographics are held only with recorded consent")
        unknown = sorted(set(attributes) - allowed)
        if unknown:
            raise ValidationFailed(
                [
                    FieldError(
                        f"attributes.{k}", "not an attribute this tenant collects"
                    )
                    for k in unknown
                ]
            )
        self._record(ev.DemographicsShared(person_id=self.id, attributes=attributes))

    def record_outcome(
        self,
        kind: OutcomeKind,
        effective_on: date,
        *,
        to_level: int | None = None,
        to_title: str | None = None,
    ) -> None:
        """A coordinator records an HR outcome the HRIS did not send.

        ``effective_on`` is the day it happened (a promotion of last year is
        recorded with last year's date). Refused, with a ``ValidationFailed``
        naming ``effective_on``: a day in the future (an outcome is recorded once
        it has happened) and a day before the person's hire date.
        """
        self._alive()
        assert self.details is not None
        problems = self._dated_after_hire(effective_on)
        if effective_on > datetime.now(UTC).date():
            problems.append(FieldError("effective_on", "must not be in the future"))
        if problems:
            raise ValidationFailed(problems)
        self._record(
            ev.CareerOutcomeRecorded(
                person_id=self.id,
                kind=kind,
                from_level=self.details.level,
                to_level=to_level,
                from_title=self.details.title,
                to_title=to_title,
                effective_on=effective_on,
                source=ChangeSource.COORDINATOR,
            )
        )

    def deactivate(
        self, reason: str = "inactive", *, effective_on: date | None = None
    ) -> None:
        """No longer taking part, since ``effective_on`` when told after the fact
        (carried as the event's ``deactivated_on``; default: today). Refused, with
        a ``ValidationFailed`` naming ``effective_on``: a day in the future or
        before the person's hire date."""
        self._alive()
        if not self.active and reason == self.inactive_reason:
            return  # already inactive for this reason; a new reason is recorded
        if effective_on is not None:
            problems = self._dated_after_hire(effective_on)
            if effective_on > datetime.now(UTC).date():
                problems.append(FieldError("effective_on", "must not be in the future"))
            if problems:
                raise ValidationFailed(problems)
        self._record(
            c.PersonDeactivated(
                person_id=self.id, reason=reason, deactivated_on=effective_on
            )
        )
        if reason == "departure":
            self._record(
                ev.CareerOutcomeRecorded(
                    person_id=self.id,
                    kind=OutcomeKind.DEPARTURE,
                    from_level=self.details.level if self.details else None,
                    effective_on=effective_on or datetime.now(UTC).date(),
                    source=ChangeSource.HRIS,
                )
            )

    def reactivate(self) -> None:
        self._alive()
        if not self.active:
            self._record(c.PersonReactivated(person_id=self.id))

    def erase(self, at: datetime) -> None:
        self._alive()
        self._record(c.PersonErased(person_id=self.id, erased_at=at))

    def _dated_after_hire(
        self, day: date | None, hire_date: date | None = None
    ) -> list[FieldError]:
        """``effective_on`` dated before the person was hired is an impossible
        history (``hire_date``: the one the same change brings, else the known
        one)."""
        hired = hire_date or (self.details.hire_date if self.details else None)
        if day is not None and hired is not None and day < hired:
            return [
                FieldError(
                    "effective_on",
                    f"before the person's hire date ({hired.isoformat()})",
                )
            ]
        return []

    def _alive(self) -> None:
        if self.erased:
            raise PersonGone(f"person {self.id} was erased")

    # -- state changes -----------------------------------------------------------------

    def when_PersonRegistered(self, e: ev.PersonRegistered) -> None:
        self._take_details(e)
        self.roles = list(e.roles)

    def when_PersonDetailsUpdated(self, e: ev.PersonDetailsUpdated) -> None:
        self._take_details(e)

    def _take_details(self, e: ev.PersonRegistered | ev.PersonDetailsUpdated) -> None:
        if e.employee_id:
            self.employee_ids.add(e.employee_id)
        self.details = PersonDetails(
            given_name=e.given_name or "",
            family_name=e.family_name or "",
            email=e.email or "",
            level=e.level,
            business_unit=e.business_unit,
            function=e.function,
            geography=e.geography,
            time_zone=e.time_zone,
            employee_id=e.employee_id,
            title=e.title,
            manager_id=e.manager_id,
            hire_date=e.hire_date,
            languages=tuple(e.languages),
        )

    def when_ProgrammeRolesChanged(self, e: c.ProgrammeRolesChanged) -> None:
        self.roles = list(e.roles)

    def when_MentorProfileSet(self, e: c.MentorProfileSet) -> None:
        self.mentor_profile = e

    def when_MentorCapacityChanged(self, e: c.MentorCapacityChanged) -> None:
        if self.mentor_profile is not None:
            self.mentor_profile = self.mentor_profile.model_copy(
                update={
                    "max_mentees": e.max_mentees,
                    "hours_per_month": e.hours_per_month,
                }
            )

    def when_IntakeSubmitted(self, e: ev.IntakeSubmitted) -> None:
        self.intake = e
        self.assessed_goals.extend(e.goals)

    def when_ConsentGiven(self, e: ev.ConsentGiven) -> None:
        self.consents.add(e.purpose)

    def when_ConsentWithdrawn(self, e: ev.ConsentWithdrawn) -> None:
        self.consents.discard(e.purpose)

    def when_DemographicsShared(self, e: ev.DemographicsShared) -> None:
        self.demographics = dict(e.attributes or {})

    def when_DemographicsWithdrawn(self, _e: c.DemographicsWithdrawn) -> None:
        self.demographics = None

    def when_CareerOutcomeRecorded(self, e: ev.CareerOutcomeRecorded) -> None:
        self.outcomes.append(e)

    def when_PersonDeactivated(self, e: c.PersonDeactivated) -> None:
        self.active = False
        self.inactive_reason = e.reason

    def when_PersonReactivated(self, _e: c.PersonReactivated) -> None:
        self.active = True
        self.inactive_reason = None

    def when_PersonErased(self, _e: c.PersonErased) -> None:
        self.erased = True
        self.active = False
        self.details = None
        self.demographics = None
        self.intake = None
        self.assessed_goals = []

"""A tenant's competency framework: the shared names of the skills people grow."""

from __future__ import annotations

import re

from chassis.aggregate import Aggregate
from chassis.errors import Conflict, FieldError, NotFound, ValidationFailed
from contracts import profiles as c

COMPETENCY_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")


def framework_id(tenant: str) -> str:
    return f"competencies-{tenant}"


class CompetencyFramework(Aggregate):
    def initial_state(self) -> None:
        self.competencies: dict[str, c.CompetencyDefined] = {}
        self.retired: set[str] = set()

    @classmethod
    def start(cls, tenant: str) -> CompetencyFramework:
        framework = cls(framework_id(tenant), tenant)
        framework.initial_state()
        return framework

    @property
    def active_ids(self) -> set[str]:
        return set(self.competencies) - self.retired

    def define(
        self, competency_id: str, name: str, category: str | None = None
    ) -> None:
        if not COMPETENCY_ID.match(competency_id):
            raise ValidationFailed(
                [FieldError("competency_id", "2-64 lower-case letters, digits, _ . -")]
            )
        if not name.strip():
            raise ValidationFailed([FieldError("name", "must not be empty")])
        existing = self.competencies.get(competency_id)
        if existing is not None:
            if (existing.name, existing.category) == (name, category):
                return  # the same definition again changes nothing
            raise Conflict(f"competency {competency_id} is already defined")
        self._record(
            c.CompetencyDefined(
                competency_id=competency_id, name=name, category=category
            )
        )

    def retire(self, competency_id: str) -> None:
        if competency_id not in self.competencies:
            raise NotFound(f"competency {competency_id} not found")
        if competency_id not in self.retired:
            self._record(c.CompetencyRetired(competency_id=competency_id))

    def when_CompetencyDefined(self, e: c.CompetencyDefined) -> None:
        self.competencies[e.competency_id] = e

    def when_CompetencyRetired(self, e: c.CompetencyRetired) -> None:
        self.retired.add(e.competency_id)

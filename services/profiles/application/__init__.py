"""``Profiles``: the commands and queries of the profiles service.

Every command loads its aggregate, lets the domain decide, and saves the recorded events
together with the current-state tables in one transaction; a concurrent writer makes
it retry from a fresh load. Queries read the current-state tables. The commands are
grouped by what they act on; ``Profiles`` is all of them.
"""

from __future__ import annotations

from services.profiles.application.cohorts import CohortCommands
from services.profiles.application.competencies import CompetencyCommands
from services.profiles.application.people import PeopleCommands
from services.profiles.application.queries import PeopleQueries


class Profiles(PeopleCommands, CompetencyCommands, CohortCommands, PeopleQueries):
    """The profiles application service."""


__all__ = ["Profiles"]

"""Dependency aliases of the sessions API: the principal and the application
objects the service's part provides (``chassis.service.provided``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from chassis.auth.fastapi import PrincipalDep
from chassis.service import provided
from services.sessions.application.calendar import Calendar
from services.sessions.application.development import Development
from services.sessions.application.feedback import Feedbacks
from services.sessions.application.history import HistoryImports
from services.sessions.application.meetings import Meetings
from services.sessions.application.notes import Notes
from services.sessions.application.pulse import PulseSurveys
from services.sessions.application.relationships import Relationships

RelationshipsDep = Annotated[Relationships, Depends(provided(Relationships))]
MeetingsDep = Annotated[Meetings, Depends(provided(Meetings))]
CalendarDep = Annotated[Calendar, Depends(provided(Calendar))]
NotesDep = Annotated[Notes, Depends(provided(Notes))]
FeedbackDep = Annotated[Feedbacks, Depends(provided(Feedbacks))]
HistoryDep = Annotated[HistoryImports, Depends(provided(HistoryImports))]
PulseDep = Annotated[PulseSurveys, Depends(provided(PulseSurveys))]
DevelopmentDep = Annotated[Development, Depends(provided(Development))]

__all__ = [
    "CalendarDep",
    "DevelopmentDep",
    "FeedbackDep",
    "HistoryDep",
    "MeetingsDep",
    "NotesDep",
    "PrincipalDep",
    "PulseDep",
    "RelationshipsDep",
]

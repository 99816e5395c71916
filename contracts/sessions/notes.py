"""Notes, reflections and feedback: what happened, never what anyone wrote.

Note bodies and feedback comments stay in the sessions service (``private_texts``);
pulse survey answers never leave it, only aggregates over at least ``k`` respondents.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, Field

from chassis.events import ContractValue, EventPayload, EventRegistry

registry = EventRegistry()


class NoteKind(StrEnum):
    """What a note is: a session note, a journal entry or an after-action review."""

    SESSION_NOTE = "session_note"
    JOURNAL = "journal"
    AFTER_ACTION_REVIEW = "after_action_review"


class Visibility(StrEnum):
    """Who reads a note: its author alone (private) or the pair (shared)."""

    PRIVATE = "private"
    SHARED = "shared"


class PartyRole(StrEnum):
    """A side of the relationship."""

    MENTOR = "mentor"
    MENTEE = "mentee"


class FeedbackAbout(StrEnum):
    """What feedback rates: a held session or a milestone."""

    SESSION = "session"
    MILESTONE = "milestone"


@registry.register
class NoteWritten(EventPayload):
    """A note, journal entry or after-action review was written (its text stays)."""

    note_id: str
    relationship_id: str
    author_id: str
    kind: NoteKind
    visibility: Visibility
    prompt_id: str | None = Field(None, description="guided prompt, for journals")
    session_id: str | None = None


@registry.register
class NoteEdited(EventPayload):
    note_id: str
    relationship_id: str
    visibility: Visibility


@registry.register
class NoteDeleted(EventPayload):
    note_id: str
    relationship_id: str


@registry.register
class FeedbackGiven(EventPayload):
    """One side rated a session or milestone; who wrote it is not published."""

    feedback_id: str
    relationship_id: str
    from_role: PartyRole
    about: FeedbackAbout
    subject_id: str = Field(description="the session's or milestone's id")
    rating: int = Field(ge=1, le=5)
    given_at: AwareDatetime | None = Field(
        None,
        description="when it was given (effective time: not before the session it "
        "rates was held or the milestone was set); absent in events recorded before "
        "effective dates: the time the event was recorded",
    )


@registry.register
class PulseSurveyOpened(EventPayload):
    survey_id: str
    cohort_id: str | None = Field(None, description="None: the whole tenant")
    questions: int = Field(ge=1, description="how many questions (rated 1-5)")
    closes_at: datetime
    k: int = Field(ge=2, description="fewest respondents whose answers are reported")


class QuestionAggregate(ContractValue):
    question: int = Field(ge=0, description="index in the survey")
    count: int
    mean: float
    distribution: dict[str, int] = Field(description="rating '1'..'5' → answers")


@registry.register
class PulseSurveyClosed(EventPayload):
    """Aggregates are present only when at least ``k`` people answered."""

    survey_id: str
    suppressed: bool
    respondents: int | None = None
    aggregates: list[QuestionAggregate] | None = None

"""Notes, journals, after-action reviews, feedback and pulse surveys: the rules.

Who may read a note is decided here (``Note.readable_by``); the words themselves live
in ``private_texts`` and only their ids are stored in these events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from chassis.aggregate import Aggregate
from chassis.errors import Conflict, DomainError, Forbidden
from contracts.sessions import notes as n
from services.sessions.domain.events import registry
from services.sessions.domain.relationship import (
    DateInFuture,
    require_not_before,
)

PROMPTS: dict[str, dict[str, str]] = {
    "bias-check": {
        "theme": "bias",
        "prompt": "Which assumption did you act on this week without testing it? "
        "Whose view did you not seek?",
    },
    "bias-first-impression": {
        "theme": "bias",
        "prompt": "Recall a first impression of a person or idea. What evidence "
        "since then supports it, and what contradicts it?",
    },
    "decision-timeline": {
        "theme": "decision_timeline",
        "prompt": "Trace one decision: when it was first raised, what you knew at "
        "each step, when you committed and what you would move earlier.",
    },
    "decision-reversal": {
        "theme": "decision_timeline",
        "prompt": "Which recent decision would you reverse today, and at what point "
        "could you have known?",
    },
    "values-tension": {
        "theme": "values",
        "prompt": "Where did two of your values pull in opposite directions, and "
        "which one won?",
    },
    "values-legacy": {
        "theme": "values",
        "prompt": "What do you want the people you lead to say you stood for?",
    },
    "growth-stretch": {
        "theme": "growth",
        "prompt": "What felt uncomfortable this week, and what did it teach you?",
    },
}


class UnknownPrompt(DomainError):
    code = "UnknownPrompt"
    title = "No such journal prompt"


class InvalidRating(DomainError):
    code = "InvalidRating"
    title = "Ratings are whole numbers from 1 to 5"


class NotTheAuthor(Forbidden):
    code = "NotTheAuthor"
    title = "Only the author may change this note"


class NoteGone(DomainError):
    code = "NoteDeleted"
    title = "The note was deleted"


class SurveyClosed(DomainError):
    code = "SurveyClosed"
    title = "The pulse survey is closed"


class InvalidAnswers(DomainError):
    code = "InvalidAnswers"
    title = "Answer every question with a rating from 1 to 5"


class UnknownSubject(DomainError):
    code = "UnknownSubject"
    title = "No such session or milestone in this relationship"


class SessionNotHeld(DomainError):
    code = "SessionNotHeld"
    title = "Feedback is given on a session once it has been held"


class BeforeSubject(DomainError):
    code = "BeforeSubject"
    title = "Feedback is given after the session it rates (or the milestone's setting)"


class FeedbackAlreadyGiven(Conflict):
    code = "FeedbackAlreadyGiven"
    title = "This side already gave feedback on it"


class AlreadyAnswered(Conflict):
    code = "AlreadyAnswered"
    title = "You have already answered this survey"


# -- stored variants: private references that are never published --------------------


@registry.override
class NoteWritten(n.NoteWritten):
    body_text_id: str | None = None


@registry.override
class NoteEdited(n.NoteEdited):
    body_text_id: str | None = None


@registry.override
class FeedbackGiven(n.FeedbackGiven):
    comment_text_id: str | None = None


@registry.override
class PulseSurveyOpened(n.PulseSurveyOpened):
    question_texts: list[str] = []


@dataclass(frozen=True)
class Subject:
    """A session or milestone something refers to, as found in this tenant."""

    about: n.FeedbackAbout
    id: str
    relationship_id: str
    state: str
    # when it became something to rate: a session's held_at, a milestone's setting
    # (None when unknown)
    since: datetime | None = None


def require_subject(
    subject: Subject | None,
    *,
    about: n.FeedbackAbout,
    subject_id: str,
    relationship_id: str,
) -> Subject:
    """The subject exists, is what it is said to be and is of this relationship."""
    if (
        subject is None
        or subject.about != about
        or subject.id != subject_id
        or subject.relationship_id != relationship_id
    ):
        raise UnknownSubject(
            f"relationship {relationship_id} has no {about} {subject_id}"
        )
    return subject


def require_rating(rating: int) -> None:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidRating(f"rating {rating!r} is not a whole number from 1 to 5")


# -- notes ----------------------------------------------------------------------------


def readable(
    author_id: str | None, visibility: str, reader: str, parties: tuple[str, ...]
) -> bool:
    """Private: the author alone. Shared: the pair. Coordinators never read the text."""
    if author_id is not None and reader == author_id:
        return True
    return visibility == "shared" and reader in parties


class Note(Aggregate):
    def initial_state(self) -> None:
        self.written: NoteWritten | None = None
        self.visibility = n.Visibility.PRIVATE
        self.body_text_id: str | None = None
        self.deleted = False

    @classmethod
    def write(
        cls,
        tenant: str,
        *,
        relationship_id: str,
        author_id: str,
        kind: n.NoteKind,
        visibility: n.Visibility,
        body_text_id: str,
        prompt_id: str | None = None,
        session_id: str | None = None,
        session: Subject | None = None,
    ) -> Note:
        """``session`` is the session ``session_id`` names, as found (if any)."""
        if prompt_id is not None and (kind != "journal" or prompt_id not in PROMPTS):
            raise UnknownPrompt(f"{prompt_id!r} is not a journal prompt")
        if session_id is not None:
            require_subject(
                session,
                about=n.FeedbackAbout.SESSION,
                subject_id=session_id,
                relationship_id=relationship_id,
            )
        note = cls(str(uuid.uuid4()), tenant)
        note.initial_state()
        note._record(
            NoteWritten(
                note_id=note.id,
                relationship_id=relationship_id,
                author_id=author_id,
                kind=kind,
                visibility=visibility,
                prompt_id=prompt_id,
                session_id=session_id,
                body_text_id=body_text_id,
            )
        )
        return note

    @property
    def author_id(self) -> str:
        assert self.written is not None
        return self.written.author_id

    @property
    def relationship_id(self) -> str:
        assert self.written is not None
        return self.written.relationship_id

    def readable_by(self, person_id: str, parties: tuple[str, ...]) -> bool:
        return not self.deleted and readable(
            self.author_id, self.visibility, person_id, parties
        )

    def edit(
        self, by: str, *, visibility: n.Visibility, body_text_id: str | None
    ) -> None:
        self._require_author(by)
        self._record(
            NoteEdited(
                note_id=self.id,
                relationship_id=self.relationship_id,
                visibility=visibility,
                body_text_id=body_text_id or self.body_text_id,
            )
        )

    def delete(self, by: str) -> None:
        self._require_author(by)
        self._record(
            n.NoteDeleted(note_id=self.id, relationship_id=self.relationship_id)
        )

    def _require_author(self, by: str) -> None:
        if self.deleted:
            raise NoteGone(f"note {self.id} was deleted")
        if by != self.author_id:
            raise NotTheAuthor(f"{by} did not write note {self.id}")

    def when_NoteWritten(self, e: NoteWritten) -> None:
        self.written, self.visibility = e, e.visibility
        self.body_text_id = e.body_text_id

    def when_NoteEdited(self, e: NoteEdited) -> None:
        self.visibility, self.body_text_id = e.visibility, e.body_text_id

    def when_NoteDeleted(self, _e: n.NoteDeleted) -> None:
        self.deleted = True


# -- feedback ---------------------------------------------------------------------------


class Feedback(Aggregate):
    """One rating per side, per session or milestone (its id is derived from those)."""

    def initial_state(self) -> None:
        self.given: FeedbackGiven | None = None

    @staticmethod
    def id_for(
        tenant: str, relationship_id: str, from_role: str, about: str, subject_id: str
    ) -> str:
        key = f"{tenant}/{relationship_id}/{from_role}/{about}/{subject_id}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tandem:feedback:{key}"))

    def give(
        self,
        *,
        relationship_id: str,
        from_role: n.PartyRole,
        about: n.FeedbackAbout,
        subject_id: str,
        subject: Subject | None,
        rating: int,
        comment_text_id: str | None,
        now: datetime,
        given_at: datetime | None = None,
        started_on: date | None = None,
    ) -> None:
        """Once per side, on a held session or a milestone of this relationship.

        ``given_at`` (effective time, default ``now``) is not after ``now``, not
        before the session it rates was held (or the milestone was set) and not
        before the relationship started (``started_on``)."""
        require_rating(rating)
        found = require_subject(
            subject, about=about, subject_id=subject_id, relationship_id=relationship_id
        )
        if about == "session" and found.state != "held":
            raise SessionNotHeld(f"session {subject_id} is {found.state}")
        when = (given_at or now).astimezone(UTC)
        if when > now:
            raise DateInFuture(
                f"given_at {when.isoformat()} is in the future", field="given_at"
            )
        if found.since is not None and when < found.since:
            held = "was held" if about == "session" else "was set"
            raise BeforeSubject(
                f"given_at {when.isoformat()} is before the {about} it rates {held} "
                f"({found.since.isoformat()})",
                field="given_at",
            )
        if started_on is not None:
            require_not_before(when.date(), started_on, "feedback given", "given_at")
        if self.given is not None:
            raise FeedbackAlreadyGiven(
                f"feedback on {about} {subject_id} was already given"
            )
        self._record(
            FeedbackGiven(
                feedback_id=self.id,
                relationship_id=relationship_id,
                from_role=from_role,
                about=about,
                subject_id=subject_id,
                rating=rating,
                comment_text_id=comment_text_id,
                given_at=when,
            )
        )

    def when_FeedbackGiven(self, e: FeedbackGiven) -> None:
        self.given = e


# -- pulse surveys --------------------------------------------------------------------

RATINGS = range(1, 6)


@dataclass(frozen=True)
class Tally:
    """All a survey keeps of its answers: per question, how many gave each rating.

    There is no answer per respondent to keep: each answer is added to the counters
    the moment it is given, so what one person said exists nowhere on its own.
    """

    counts: tuple[tuple[int, ...], ...]  # counts[question][rating - 1]

    @classmethod
    def of(cls, answers: list[list[int]], questions: int) -> Tally:
        return cls(
            tuple(
                tuple(sum(1 for a in answers if a[q] == r) for r in RATINGS)
                for q in range(questions)
            )
        )

    @property
    def respondents(self) -> int:
        # every respondent rates every question
        return sum(self.counts[0]) if self.counts else 0

    def aggregates(self) -> list[n.QuestionAggregate]:
        """Count, mean and distribution per question."""
        out = []
        for q, column in enumerate(self.counts):
            count = sum(column)
            total = sum(r * c for r, c in zip(RATINGS, column, strict=True))
            out.append(
                n.QuestionAggregate(
                    question=q,
                    count=count,
                    mean=round(total / count, 2) if count else 0.0,
                    distribution={
                        str(r): c for r, c in zip(RATINGS, column, strict=True)
                    },
                )
            )
        return out


class PulseSurvey(Aggregate):
    def initial_state(self) -> None:
        self.opened: PulseSurveyOpened | None = None
        self.closed = False

    @classmethod
    def open(
        cls,
        tenant: str,
        *,
        cohort_id: str | None,
        questions: list[str],
        closes_at: datetime,
        k: int | None,
        k_floor: int,
        now: datetime,
    ) -> PulseSurvey:
        """Open a survey; its k is the organisation's k unless the opener asks more."""
        if closes_at <= now:
            raise SurveyClosed("a pulse survey must close in the future")
        survey = cls(str(uuid.uuid4()), tenant)
        survey.initial_state()
        survey._record(
            PulseSurveyOpened(
                survey_id=survey.id,
                cohort_id=cohort_id,
                questions=len(questions),
                closes_at=closes_at,
                k=max(k or k_floor, k_floor),
                question_texts=questions,
            )
        )
        return survey

    @property
    def k(self) -> int:
        assert self.opened is not None
        return self.opened.k

    def accepts_answers(self, now: datetime) -> bool:
        assert self.opened is not None
        return not self.closed and now < self.opened.closes_at

    def check_answers(self, answers: list[int], now: datetime) -> None:
        assert self.opened is not None
        if not self.accepts_answers(now):
            raise SurveyClosed(f"pulse survey {self.id} is closed")
        if len(answers) != self.opened.questions:
            raise InvalidAnswers(f"expected {self.opened.questions} answers")
        for rating in answers:
            try:
                require_rating(rating)
            except InvalidRating as exc:
                raise InvalidAnswers(exc.detail) from None

    def close(self, tally: Tally) -> None:
        """Publish aggregates only when at least k people answered."""
        if self.closed:
            return
        if tally.respondents < self.k:
            self._record(n.PulseSurveyClosed(survey_id=self.id, suppressed=True))
            return
        self._record(
            n.PulseSurveyClosed(
                survey_id=self.id,
                suppressed=False,
                respondents=tally.respondents,
                aggregates=tally.aggregates(),
            )
        )

    def when_PulseSurveyOpened(self, e: PulseSurveyOpened) -> None:
        self.opened = e

    def when_PulseSurveyClosed(self, _e: n.PulseSurveyClosed) -> None:
        self.closed = True

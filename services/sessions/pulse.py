"""Anonymous pulse surveys (``PulseSurveys``) for a cohort or a whole tenant.

Anonymous means unlinkable even to someone who reads every table of the database:

- **No answer of anyone is stored.** An answer is added, the moment it is given, to
  the survey's counters (``pulse_tallies``: per question and rating, how many gave
  it); no row per respondent or per answer exists. Every answer rewrites *every*
  counter of its survey (adding 0 to most), so which rows a transaction touched, and
  the rows' ``xmin``/``ctid``, are the same whatever was answered.
- **Who answered is a keyed HMAC** (``pulse_respondents``), kept only to refuse a
  second answer: HMAC-SHA256 over tenant, survey and person with
  ``SESSIONS_PULSE_KEY``, a secret of the process, never of the database. Without
  it a reader cannot test a person id against the ledger, nor tell that two surveys
  were answered by the same person. The ledger has no time, no sequence and nothing
  in common with the counters but the survey id.
- **k is the organisation's** (``K_ANONYMITY``): an opener may raise it, never lower
  it. Results are published only after closing and over at least k respondents;
  below that the caller learns only that they are suppressed.
- Answers are ratings 1-5, never free text (free text would identify by its words
  and need batching; anonymous surveys do not offer it).

What remains, documented rather than hidden: someone who can read the database
*between two answers* (or the WAL) sees the counters move by one answer and the
ledger grow by one row; that tells them what was answered in between, not by whom
unless they also know who answered at that moment.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal, Role, system_principal
from chassis.db import is_sqlite
from chassis.errors import Conflict, Forbidden, NotFound
from chassis.events import EventPayload, RecordedEvent
from chassis.inputs import Count, FewItems, Int32, Name, Ref, RequestBody, SaneDateTime
from chassis.repository import Repository
from services.sessions.api.deps import PrincipalDep
from services.sessions.domain.events import registry
from services.sessions.domain.notes import (
    RATINGS,
    AlreadyAnswered,
    PulseSurvey,
    Tally,
)
from services.sessions.feedback import insert
from services.sessions.relationships import OVERSEERS, Relationships

router = APIRouter(tags=["pulse surveys"])
RESPONDENTS = (Role.MENTOR, Role.MENTEE, Role.ADVISOR)
TABLES = [
    """CREATE TABLE IF NOT EXISTS pulse_surveys (
        survey_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, cohort_id TEXT,
        questions TEXT NOT NULL, closes_at TEXT NOT NULL, k INTEGER NOT NULL,
        closed INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS pulse_respondents (
        survey_id TEXT NOT NULL, respondent_key TEXT NOT NULL,
        PRIMARY KEY (survey_id, respondent_key))""",
    """CREATE TABLE IF NOT EXISTS pulse_tallies (
        survey_id TEXT NOT NULL, tenant TEXT NOT NULL,
        question INTEGER NOT NULL, rating INTEGER NOT NULL,
        tally INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (survey_id, question, rating))""",
]


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if not is_sqlite(engine):
            await conn.execute(text("SELECT pg_advisory_xact_lock(7264303)"))
        for statement in TABLES:
            await conn.execute(text(statement))


class SurveysProjection:
    async def apply(
        self,
        events: Sequence[tuple[RecordedEvent, EventPayload]],
        conn: AsyncConnection,
    ) -> None:
        for recorded, p in events:
            row = {"id": recorded.stream_id, "tenant": recorded.tenant}
            if recorded.event_type == "PulseSurveyOpened":
                cols = ("cohort_id", "closes_at", "k", "questions")
                row |= p.model_dump(mode="json", include={*cols[:3]})
                row["questions"] = json.dumps(p.question_texts)  # type: ignore[attr-defined]
                await insert(conn, "pulse_surveys", "survey_id", cols, row)
                # Every counter exists from the start, at 0: an answer only ever
                # updates rows, all of them, so no row appears because of a rating.
                await conn.execute(
                    text(
                        "INSERT INTO pulse_tallies "
                        "(survey_id, tenant, question, rating, tally) "
                        "VALUES (:s, :t, :q, :r, 0)"
                    ),
                    [
                        {"s": recorded.stream_id, "t": recorded.tenant, "q": q, "r": r}
                        for q in range(p.questions)  # type: ignore[attr-defined]
                        for r in RATINGS
                    ],
                )
            elif recorded.event_type == "PulseSurveyClosed":
                await conn.execute(
                    text("UPDATE pulse_surveys SET closed = 1 WHERE survey_id = :id"),
                    row,
                )


def respondent_key(key: bytes, tenant: str, survey_id: str, person_id: str) -> str:
    """The ledger's name for a person in one survey: unguessable without ``key``."""
    message = "\x1f".join((tenant, survey_id, person_id)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def add_answers_sql(questions: int) -> str:
    """One UPDATE that adds an answer to every counter of a survey (most get 0).

    ``questions`` is the survey's own count (1-20), never caller text; the ratings
    are bound as ``:a0``..``:aN``.
    """
    cases = " ".join(
        f"WHEN {q} THEN CASE WHEN rating = :a{q} THEN 1 ELSE 0 END"
        for q in range(questions)
    )
    return (
        f"UPDATE pulse_tallies SET tally = tally + CASE question {cases} ELSE 0 END "
        "WHERE survey_id = :s"
    )


class PulseSurveys:
    def __init__(self, runtime: Any, relationships: Relationships) -> None:
        self.engine = runtime.engine
        self.relationships = relationships
        self.key: bytes = runtime.settings.pulse_key
        self.k_floor: int = runtime.settings.k_anonymity
        self.surveys = Repository(
            runtime.store, registry, PulseSurvey, projections=[SurveysProjection()]
        )
        self.surveys.on_saved.append(lambda _events: runtime.relay.notify())

    async def open_survey(
        self,
        principal: Principal,
        *,
        cohort_id: str | None,
        questions: list[str],
        closes_at: datetime,
        k: int | None,
    ) -> dict[str, Any]:
        principal.require(Role.ADMIN, Role.COORDINATOR)
        survey = PulseSurvey.open(
            principal.tenant,
            cohort_id=cohort_id,
            questions=questions,
            closes_at=closes_at,
            k=k,
            k_floor=self.k_floor,
            now=datetime.now(UTC),
        )
        await self.surveys.save(survey, self.relationships.metadata_for(principal))
        return await self.survey(principal, survey.id)

    async def survey(self, principal: Principal, survey_id: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = await self._row(conn, principal, survey_id)
        return {
            "survey_id": row.survey_id,
            "cohort_id": row.cohort_id,
            "questions": json.loads(row.questions),
            "closes_at": row.closes_at,
            "k": row.k,
            "closed": bool(row.closed),
        }

    async def respond(
        self, principal: Principal, survey_id: str, answers: list[int]
    ) -> None:
        if not principal.has_role(*RESPONDENTS):
            raise Forbidden("only programme participants answer pulse surveys")
        try:
            async with self.engine.begin() as conn:
                row = await self._row(conn, principal, survey_id, lock=True)
                survey = await self.surveys.get(
                    survey_id, principal.tenant, connection=conn
                )
                survey.check_answers(answers, datetime.now(UTC))
                if row.cohort_id is not None:
                    await self._require_in_cohort(conn, principal, row.cohort_id)
                who = respondent_key(
                    self.key, principal.tenant, survey_id, principal.subject
                )
                # The ledger row and the counters commit together (an answer is
                # counted exactly when its person is recorded), but nothing in the
                # counters says which rating was this transaction's.
                await conn.execute(
                    text(
                        "INSERT INTO pulse_respondents (survey_id, respondent_key) "
                        "VALUES (:s, :h)"
                    ),
                    {"s": survey_id, "h": who},
                )
                ratings = {f"a{q}": rating for q, rating in enumerate(answers)}
                await conn.execute(
                    text(add_answers_sql(len(answers))), {"s": survey_id, **ratings}
                )
        except IntegrityError:
            raise AlreadyAnswered(
                f"pulse survey {survey_id} already answered"
            ) from None

    async def close_survey(self, principal: Principal, survey_id: str) -> None:
        principal.require(Role.ADMIN, Role.COORDINATOR)
        async with self.engine.begin() as conn:
            await self._row(conn, principal, survey_id, lock=True)
            survey = await self.surveys.get(
                survey_id, principal.tenant, connection=conn
            )
            if survey.closed:
                raise Conflict(f"pulse survey {survey_id} is already closed")
            survey.close(await self._tally(conn, survey_id))
            meta = self.relationships.metadata_for(principal)
            await self.surveys.save(survey, meta, connection=conn)

    async def close_due(self) -> None:
        """The periodic sweep: close every survey whose closing time has passed."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT survey_id, tenant, closes_at FROM pulse_surveys WHERE closed = 0"
                    )
                )
            ).all()
        now = datetime.now(UTC)
        for r in rows:
            if datetime.fromisoformat(r.closes_at) <= now:
                try:
                    await self.close_survey(system_principal(r.tenant), r.survey_id)
                except Conflict:
                    pass  # closed by a coordinator meanwhile

    async def results(self, principal: Principal, survey_id: str) -> dict[str, Any]:
        """Aggregates of a closed survey over at least k respondents, else nothing."""
        principal.require(*OVERSEERS)
        async with self.engine.connect() as conn:
            row = await self._row(conn, principal, survey_id)
            tally = await self._tally(conn, survey_id)
        base = {"survey_id": survey_id, "k": row.k, "closed": bool(row.closed)}
        if not row.closed:
            # Figures that move while answers come in would let anyone who knows who
            # answered in between work out one person's answers: none before closing.
            return {**base, "suppressed": True, "respondents": "until closed"}
        if tally.respondents < row.k:
            return {**base, "suppressed": True, "respondents": f"<{row.k}"}
        questions = json.loads(row.questions)
        return {
            **base,
            "suppressed": False,
            "respondents": tally.respondents,
            "questions": [
                {**a.model_dump(), "text": questions[a.question]}
                for a in tally.aggregates()
            ],
        }

    async def _row(
        self,
        conn: AsyncConnection,
        principal: Principal,
        survey_id: str,
        *,
        lock: bool = False,
    ) -> Any:
        sql = "SELECT * FROM pulse_surveys WHERE tenant = :t AND survey_id = :s"
        if lock and conn.dialect.name == "postgresql":
            sql += " FOR UPDATE"
        row = (
            await conn.execute(text(sql), {"t": principal.tenant, "s": survey_id})
        ).first()
        if row is None:
            raise NotFound(f"pulse survey {survey_id} not found")
        return row

    async def _tally(self, conn: AsyncConnection, survey_id: str) -> Tally:
        rows = (
            await conn.execute(
                text(
                    "SELECT question, rating, tally FROM pulse_tallies "
                    "WHERE survey_id = :s"
                ),
                {"s": survey_id},
            )
        ).all()
        counts: dict[int, dict[int, int]] = {}
        for r in rows:
            counts.setdefault(r.question, {})[r.rating] = r.tally
        return Tally(
            tuple(
                tuple(counts[q].get(rating, 0) for rating in RATINGS)
                for q in sorted(counts)
            )
        )

    async def _require_in_cohort(
        self, conn: AsyncConnection, principal: Principal, cohort_id: str
    ) -> None:
        found = (
            await conn.execute(
                text(
                    "SELECT 1 FROM relationships WHERE tenant = :t AND cohort_id = :c "
                    "AND (mentor_id = :p OR mentee_id = :p)"
                ),
                {"t": principal.tenant, "c": cohort_id, "p": principal.subject},
            )
        ).first()
        if found is None:
            raise Forbidden("this pulse survey is for another cohort")

    async def on_person_erased(
        self, tenant: str, person_id: str, conn: AsyncConnection
    ) -> None:
        """Forget even that they answered (what they answered was never theirs)."""
        surveys = await conn.execute(
            text("SELECT survey_id FROM pulse_surveys WHERE tenant = :t"),
            {"t": tenant},
        )
        keys = [
            {
                "s": s.survey_id,
                "h": respondent_key(self.key, tenant, s.survey_id, person_id),
            }
            for s in surveys.all()
        ]
        if keys:
            await conn.execute(
                text(
                    "DELETE FROM pulse_respondents WHERE survey_id = :s "
                    "AND respondent_key = :h"
                ),
                keys,
            )


# -- HTTP -------------------------------------------------------------------------------


def get_pulse(request: Request) -> PulseSurveys:
    return request.app.state.pulse_surveys


PulseDep = Annotated[PulseSurveys, Depends(get_pulse)]


class SurveyIn(RequestBody):
    cohort_id: Ref | None = Field(None, description="omit for the whole tenant")
    questions: Annotated[FewItems[Name], Field(min_length=1, max_length=20)]
    closes_at: SaneDateTime
    k: Annotated[Count, Field(ge=3, le=100)] | None = Field(
        None,
        description="fewest respondents ever reported: the organisation's k "
        "(K_ANONYMITY) when omitted, and raised to it when lower",
    )


class ResponseIn(RequestBody):
    # the domain says what is out of 1..5 (InvalidAnswers); here only the column
    answers: FewItems[Int32] = Field(
        description="one rating 1-5 per question, in order"
    )


@router.post("/pulse-surveys", status_code=201)
async def open_survey(
    body: SurveyIn, principal: PrincipalDep, pulse: PulseDep
) -> dict[str, Any]:
    """Open an anonymous pulse survey for a cohort or the tenant (coordinators)."""
    return await pulse.open_survey(principal, **body.model_dump())


@router.get("/pulse-surveys/{survey_id}")
async def get_survey(
    survey_id: Ref, principal: PrincipalDep, pulse: PulseDep
) -> dict[str, Any]:
    """The survey's questions, deadline and k."""
    return await pulse.survey(principal, survey_id)


@router.post("/pulse-surveys/{survey_id}/responses", status_code=204)
async def respond(
    survey_id: Ref, body: ResponseIn, principal: PrincipalDep, pulse: PulseDep
) -> None:
    """Answer once; the answer is stored with no link to who gave it."""
    await pulse.respond(principal, survey_id, body.answers)


@router.post("/pulse-surveys/{survey_id}/close", status_code=204)
async def close_survey(
    survey_id: Ref, principal: PrincipalDep, pulse: PulseDep
) -> None:
    """Close the survey; aggregates are published only over at least k respondents."""
    await pulse.close_survey(principal, survey_id)


@router.get("/pulse-surveys/{survey_id}/results")
async def results(
    survey_id: Ref, principal: PrincipalDep, pulse: PulseDep
) -> dict[str, Any]:
    """Aggregates when at least k answered; otherwise only that they are suppressed."""
    return await pulse.results(principal, survey_id)


def install(app: Any, runtime: Any, relationships: Relationships) -> None:
    surveys = app.state.pulse_surveys = PulseSurveys(runtime, relationships)
    app.state.schema_setups.append(create_schema)
    runtime.every("pulse-close", surveys.close_due, 60)

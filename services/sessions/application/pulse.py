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
from datetime import UTC, datetime

from sqlalchemy import RowMapping, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal, Role, system_principal
from chassis.errors import Conflict, Forbidden, NotFound
from chassis.repository import Repository
from chassis.runtime import ServiceRuntime
from contracts.api import sessions as api
from services.sessions.application.relationships import OVERSEERS, Relationships
from services.sessions.domain.events import registry
from services.sessions.domain.notes import (
    RATINGS,
    AlreadyAnswered,
    PulseSurvey,
    Tally,
)
from services.sessions.projections.pulse import SurveysProjection

__all__ = ["PulseSurveys", "respondent_key"]
RESPONDENTS = (Role.MENTOR, Role.MENTEE, Role.ADVISOR)


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
    def __init__(
        self,
        runtime: ServiceRuntime,
        relationships: Relationships,
        *,
        key: bytes,
        k_floor: int,
    ) -> None:
        self.engine = runtime.engine
        self.relationships = relationships
        self.key = key
        self.k_floor = k_floor
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
    ) -> api.PulseSurvey:
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

    async def survey(self, principal: Principal, survey_id: str) -> api.PulseSurvey:
        async with self.engine.connect() as conn:
            row = await self._row(conn, principal, survey_id)
        return api.PulseSurvey(
            survey_id=row["survey_id"],
            cohort_id=row["cohort_id"],
            questions=json.loads(row["questions"]),
            closes_at=row["closes_at"],
            k=row["k"],
            closed=bool(row["closed"]),
        )

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
                if row["cohort_id"] is not None:
                    await self._require_in_cohort(conn, principal, row["cohort_id"])
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

    async def results(self, principal: Principal, survey_id: str) -> api.PulseResults:
        """Aggregates of a closed survey over at least k respondents, else nothing."""
        principal.require(*OVERSEERS)
        async with self.engine.connect() as conn:
            row = await self._row(conn, principal, survey_id)
            tally = await self._tally(conn, survey_id)
        k, closed = row["k"], bool(row["closed"])
        if not closed:
            # Figures that move while answers come in would let anyone who knows who
            # answered in between work out one person's answers: none before closing.
            return api.PulseResults(
                survey_id=survey_id,
                k=k,
                closed=closed,
                suppressed=True,
                respondents="until closed",
            )
        if tally.respondents < k:
            return api.PulseResults(
                survey_id=survey_id,
                k=k,
                closed=closed,
                suppressed=True,
                respondents=f"<{k}",
            )
        questions = json.loads(row["questions"])
        return api.PulseResults(
            survey_id=survey_id,
            k=k,
            closed=closed,
            suppressed=False,
            respondents=tally.respondents,
            questions=[
                api.QuestionResult(**a.model_dump(), text=questions[a.question])
                for a in tally.aggregates()
            ],
        )

    async def _row(
        self,
        conn: AsyncConnection,
        principal: Principal,
        survey_id: str,
        *,
        lock: bool = False,
    ) -> RowMapping:
        sql = "SELECT * FROM pulse_surveys WHERE tenant = :t AND survey_id = :s"
        if lock and conn.dialect.name == "postgresql":
            sql += " FOR UPDATE"
        row = (
            (await conn.execute(text(sql), {"t": principal.tenant, "s": survey_id}))
            .mappings()
            .first()
        )
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

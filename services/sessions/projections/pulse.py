"""Current state of pulse surveys and their counters (``pulse_tallies``); the
respondent ledger is written by the answering command itself (``application/pulse.py``
says why nothing links an answer to its person)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.events import EventPayload, RecordedEvent
from services.sessions.domain.notes import RATINGS
from services.sessions.projections.feedback import insert


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

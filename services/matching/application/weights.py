"""``MatchingWeights``: a cohort's criterion weights, previewed and applied.

A preview runs the cohort's next round twice in a worker thread, with the cohort's
current weights and with the proposed ones, through the very optimiser a round uses
(``domain.round.run_round``), and records nothing. Applying records
``MatchingWeightsApplied`` on the cohort's weights stream: the actor and time in its
envelope, the suggestions' evidence in its payload; the stream is the history.

Matching never asks insights for suggestions: the caller (the gateway) hands them
over as weights and their basis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import text

from chassis.auth.principal import Principal, Role
from chassis.errors import NotFound
from chassis.repository import Repository
from contracts import matching as m
from contracts.api.matching import (
    CohortWeightsView,
    CriterionWeight,
    WeightsChange,
    WeightsPreview,
    WeightsPreviewPair,
    WeightsPreviewSide,
)
from contracts.matching import Criterion, ProgrammeType
from services.matching.application.access import COORDINATORS
from services.matching.application.pairings import Pairings
from services.matching.domain.config import CRITERIA, PRESET_WEIGHTS
from services.matching.domain.events import registry
from services.matching.domain.round import run_round
from services.matching.domain.weights import (
    CohortWeights,
    Side,
    checked,
    differing,
    effective,
    side,
    stream_id,
)
from services.matching.projections.pool import Pool, load_pool

READERS = (*COORDINATORS, Role.SPONSOR)


def _listed(weights: Mapping[str, float]) -> list[CriterionWeight]:
    return [
        CriterionWeight(criterion=Criterion(c), weight=round(weights.get(c, 0.0), 6))
        for c in CRITERIA
    ]


class MatchingWeights:
    def __init__(self, pairings: Pairings) -> None:
        self.runtime = pairings.runtime
        self.engine = pairings.engine
        self.metadata_for = pairings.metadata_for
        self.streams = Repository(self.runtime.store, registry, CohortWeights)
        self.streams.on_saved.append(lambda _events: self.runtime.relay.notify())

    async def _programme(self, tenant: str, cohort_id: str) -> ProgrammeType:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT programme_type FROM cohorts "
                        "WHERE cohort_id = :c AND tenant = :t"
                    ),
                    {"c": cohort_id, "t": tenant},
                )
            ).first()
        if row is None:
            raise NotFound(f"cohort {cohort_id} not found")
        return ProgrammeType(row.programme_type)

    async def _stream(self, tenant: str, cohort_id: str) -> CohortWeights:
        found = await self.streams.find(stream_id(cohort_id), tenant)
        return found or CohortWeights.of(cohort_id, tenant)

    async def view(self, principal: Principal, cohort_id: str) -> CohortWeightsView:
        """The weights the cohort's rounds use, and every change (oldest first)."""
        principal.require(*READERS)
        programme = await self._programme(principal.tenant, cohort_id)
        recorded = await self.runtime.store.read_stream(
            stream_id(cohort_id), tenant=principal.tenant
        )
        history: list[WeightsChange] = []
        current: dict[str, float] = {}
        for event in recorded:
            payload = registry.decode(
                event.event_type, event.schema_version, event.data
            )
            if not isinstance(payload, m.MatchingWeightsApplied):
                continue
            current = {str(c): w for c, w in payload.weights.items()}
            history.append(
                WeightsChange(
                    version=event.version,
                    applied_at=event.time,
                    applied_by=event.metadata.actor,
                    source=payload.source,
                    suggested_on=payload.suggested_on,
                    weights=_listed(current),
                    previous=_listed({str(c): w for c, w in payload.previous.items()})
                    if payload.previous
                    else [],
                    basis=payload.basis,
                )
            )
        return CohortWeightsView(
            cohort_id=cohort_id,
            programme_type=programme,
            preset=not history,
            weights=_listed(current or PRESET_WEIGHTS[programme]),
            history=history,
        )

    async def preview(
        self,
        principal: Principal,
        cohort_id: str,
        weights: Mapping[Criterion, float],
    ) -> WeightsPreview:
        """The cohort's next round with its current and with ``weights``, side by
        side (coordinators); nothing is recorded, nobody is proposed."""
        principal.require(*COORDINATORS)
        proposed = checked(weights)
        async with self.engine.connect() as conn:
            pool = await load_pool(conn, principal.tenant, cohort_id)
        stream = await self._stream(principal.tenant, cohort_id)
        now, then = await asyncio.to_thread(_both, pool, stream.weights, proposed)
        changed = set(differing(now, then))
        mentees = sorted({p.person_id for p in pool.mentees})
        return WeightsPreview(
            cohort_id=cohort_id,
            current=_side_view(now),
            proposed=_side_view(then),
            differing=len(changed),
            pairs=[
                WeightsPreviewPair(
                    mentee_id=e,
                    current_mentor_id=now.pairs[e][0] if e in now.pairs else None,
                    current_score=now.pairs[e][1] if e in now.pairs else None,
                    proposed_mentor_id=then.pairs[e][0] if e in then.pairs else None,
                    proposed_score=then.pairs[e][1] if e in then.pairs else None,
                    differs=e in changed,
                )
                for e in mentees
            ],
        )

    async def apply(
        self,
        principal: Principal,
        cohort_id: str,
        weights: Mapping[Criterion, float],
        *,
        source: m.WeightsSource = m.WeightsSource.COORDINATOR,
        suggested_on: date | None = None,
        basis: Sequence[m.WeightBasis] = (),
    ) -> CohortWeightsView:
        """Set the weights the cohort's rounds use (coordinators), audited."""
        principal.require(*COORDINATORS)
        programme = await self._programme(principal.tenant, cohort_id)
        stream = await self._stream(principal.tenant, cohort_id)
        stream.apply(
            weights,
            source=source,
            suggested_on=suggested_on,
            basis=basis,
            preset=PRESET_WEIGHTS[programme],
        )
        await self.streams.save(stream, self.metadata_for(principal))
        return await self.view(principal, cohort_id)

    async def current(self, tenant: str, cohort_id: str) -> dict[str, float]:
        """The weights set for the cohort (empty: the programme's preset)."""
        return (await self._stream(tenant, cohort_id)).weights


def _both(
    pool: Pool, current: Mapping[str, float], proposed: Mapping[str, float]
) -> tuple[Side, Side]:
    out = []
    for weights in (current, proposed):
        config = effective(pool.programme_type, weights)
        made = run_round(
            pool.mentees,
            pool.mentors,
            config,
            forbidden=pool.forbidden,
            competency_names=pool.competency_names,
        )
        out.append(side(config, made))
    return out[0], out[1]


def _side_view(s: Side) -> WeightsPreviewSide:
    return WeightsPreviewSide(
        weights=_listed(s.weights),
        paired=len(s.pairs),
        unmatched=len(s.unmatched),
        total_score=round(s.total, 6),
        mean_score=None if s.mean is None else round(s.mean, 6),
    )

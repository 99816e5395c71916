"""``Planning``: one mentee's matching between and beyond rounds.

- Self-service suggestions: the mentee's top N mentors, explained, planned for the
  whole cohort at once under an exposure cap (``SuggestionBoard``), so a mentor who
  suits everyone is not shown to everyone; dismissed mentors never come back.
- Next best: when a proposal is declined or expires (``Pairings.on_freed``), the mentee
  is proposed the best mentor they have not been proposed yet in the cohort.
- Re-pairing: a confirmed pairing that is not working records ``RepairingRequested``
  on its own stream (so it stays in order with the pairing's other events on Kafka)
  and a replacement is proposed with ``replaces`` set; when the replacement is
  confirmed the old pairing ends as "rematched" in the same transaction. The
  early warnings of insights (a ``RelationshipStalled``-style event) are meant to
  call ``repair_within`` (the consumer's transaction) with ``requested_by`` insights.
- Rotation plans: several distinct mentors for one mentee, one per cycle, recorded
  as ``RotationPlanned`` on a ``RotationPlan`` stream of its own.

Every proposal here is a one-mentee round on the cohort's pool, run in a worker
thread. Proposals are system actions; a cohort's one-mentee proposals are serialised
(the cohort's advisory lock) and each checks the mentor's seat and the mentee's one
pairing again where it is recorded (``application.seats``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal, Role, system_principal
from chassis.errors import Conflict, DomainError, Forbidden, NotFound, TandemError
from chassis.repository import Repository, retrying
from contracts import matching as m
from contracts.api.matching import (
    PairingView,
    RotationPlanView,
    ScorePartView,
    Suggestion,
    Suggestions,
)
from contracts.matching import PairingState, ReasonCode, RequestedBy
from services.matching.application.access import COORDINATORS
from services.matching.application.pairings import Pairings
from services.matching.application.rounds import Rounds
from services.matching.application.seats import (
    lock_cohort,
    require_seat,
    require_single,
)
from services.matching.application.suggestions import Ranked, best_mentors, suggest
from services.matching.domain.events import registry
from services.matching.domain.pairing import Pairing
from services.matching.domain.rotation import RotationPlan
from services.matching.projections.mentee_pool import (
    MenteeNotInCohort,
    cohort_of,
    dismissals,
    mentee_pool,
    mentors_of,
    replacement_open,
    ruled_out,
    waiting_elsewhere,
)
from services.matching.projections.pairing_texts import (
    PROPOSED,
    keep_explanation,
    keep_note,
    split_reason,
)
from services.matching.projections.pool import Pool
from services.matching.projections.rotation_plans import (
    RotationPlansProjection,
    latest_plan,
)

log = logging.getLogger(__name__)

NEXT_BEST: dict[PairingState | None, ReasonCode] = {
    PairingState.DECLINED: ReasonCode.NEXT_BEST_AFTER_DECLINE,
    PairingState.EXPIRED: ReasonCode.NEXT_BEST_AFTER_EXPIRY,
}


class NoMentorLeft(DomainError):
    code = "NoMentorLeft"
    title = "No other mentor can take this mentee"


class NotEnoughMentors(DomainError):
    code = "NotEnoughMentors"
    title = "Fewer suitable mentors than cycles"


class RepairUnderway(Conflict):
    code = "RepairUnderway"
    title = "A replacement is already proposed"


class Planning:
    def __init__(self, pairings: Pairings, rounds: Rounds) -> None:
        self.pairings = pairings
        self.engine = pairings.engine
        self.metadata_for = pairings.metadata_for
        self.ttl = rounds.ttl
        runtime = pairings.runtime
        self.plans = Repository(
            runtime.store,
            registry,
            RotationPlan,
            projections=[RotationPlansProjection()],
        )
        self.plans.on_saved.append(lambda _events: runtime.relay.notify())

    # -- suggestions ---------------------------------------------------------------------

    async def suggestions(
        self,
        principal: Principal,
        mentee_id: str,
        *,
        top: int = 5,
        cohort_id: str | None = None,
    ) -> Suggestions:
        """The mentee's top mentors (for the mentee themself or a coordinator)."""
        if principal.subject != mentee_id:
            principal.require(*COORDINATORS)
        tenant = principal.tenant
        async with self.engine.connect() as conn:
            cohort = await cohort_of(conn, tenant, mentee_id, cohort_id)
            seen = await mentors_of(conn, tenant, mentee_id)
            exclude = {(mentee_id, r) for r in seen}
            pool = await mentee_pool(
                conn, tenant, cohort, mentee_id, exclude, whole_cohort=True
            )
            dismissed = await dismissals(conn, tenant)
        listed = (
            await asyncio.to_thread(suggest, pool, mentee_id, top, dismissed)
            if pool.mentors
            else []
        )
        return Suggestions(
            mentee_id=mentee_id,
            cohort_id=cohort,
            suggestions=[
                Suggestion(
                    rank=s.rank,
                    mentor_id=s.mentor_id,
                    score=s.score,
                    summary=s.explanation.summary,
                    parts=[
                        ScorePartView.model_validate(p)
                        for p in s.explanation.described_parts()
                    ],
                )
                for s in listed
            ],
        )

    # -- next best -----------------------------------------------------------------------

    async def offer_next(self, principal: Principal, pairing: Pairing) -> None:
        """A declined or expired proposal frees the mentee: propose the next best.

        The decline or expiry is already recorded; nothing here may undo it, so a
        failure is logged rather than raised."""
        proposal = pairing.proposal
        if proposal is None or proposal.cohort_id is None:
            return
        reason = NEXT_BEST.get(pairing.state)
        if reason is None:
            return
        system = system_principal(pairing.tenant)
        mentee, cohort = proposal.mentee_id, proposal.cohort_id

        async def attempt() -> str | None:
            async with self.engine.begin() as conn:
                await lock_cohort(conn, pairing.tenant, cohort)
                if await waiting_elsewhere(conn, pairing.tenant, cohort, proposal):
                    return None
                # A replacement never repeats any mentor the mentee has had.
                scope = None if proposal.replaces else cohort
                exclude = await ruled_out(conn, pairing.tenant, mentee, scope)
                pool = await mentee_pool(conn, pairing.tenant, cohort, mentee, exclude)
                best = await self._best(pool, mentee, 1)
                if not best:
                    return None
                return await self._propose(
                    conn, system, pool, mentee, best[0], proposal.replaces, reason
                )

        try:
            offered = await retrying(attempt)
        except TandemError as exc:
            log.info("no next best for %s in %s: %s", mentee, cohort, exc)
            return
        except Exception:
            log.exception("next best for %s in %s failed", mentee, cohort)
            return
        if offered is None:
            log.info("no next best mentor left for %s in %s", mentee, cohort)

    # -- re-pairing ----------------------------------------------------------------------

    async def repair(
        self,
        principal: Principal,
        pairing_id: str,
        reason: str,
        *,
        code: ReasonCode | None = None,
        requested_by: RequestedBy | None = None,
    ) -> PairingView:
        """Ask for a new mentor for a confirmed pairing (coordinator or its mentee);
        the replacement never repeats a mentor the mentee has had: answers the
        proposed replacement.

        ``reason``: a code, or the text typed, kept as a private note on both
        pairings (read by coordinators and its author); the events hold ``code``
        (``not_working`` by default)."""
        decide = self._repairing(principal, pairing_id, reason, code, requested_by)

        async def attempt() -> str:
            async with self.engine.begin() as conn:
                return await decide(conn)

        new_id = await retrying(attempt)
        return await self.pairings.get(principal, new_id)

    async def repair_within(
        self,
        connection: AsyncConnection,
        principal: Principal,
        pairing_id: str,
        reason: str,
        *,
        code: ReasonCode | None = None,
        requested_by: RequestedBy | None = None,
    ) -> str:
        """``repair`` inside the caller's transaction (a consumer's, so the
        re-pairing commits with the event's offset); answers the replacement's id.
        Opening a transaction of its own there would wait on the caller's write lock
        under SQLite (embedded mode) until the busy timeout."""
        decide = self._repairing(principal, pairing_id, reason, code, requested_by)
        async with connection.begin_nested():  # a refusal leaves nothing behind
            return await decide(connection)

    def _repairing(
        self,
        principal: Principal,
        pairing_id: str,
        reason: str,
        code: ReasonCode | None,
        requested_by: RequestedBy | None,
    ) -> Callable[[AsyncConnection], Awaitable[str]]:
        """The re-pairing decision, to run in a transaction."""
        tenant = principal.tenant
        coded, body = split_reason(reason, code, ReasonCode.NOT_WORKING)
        assert coded is not None  # a reason is always given

        async def decide(conn: AsyncConnection) -> str:
            current = await self.pairings.pairings.get(
                pairing_id, tenant, connection=conn
            )
            mentee = current.mentee_id
            is_mentee = principal.subject == mentee
            if not is_mentee and not principal.has_role(*COORDINATORS):
                raise Forbidden("only a coordinator or the mentee may re-pair")
            by = requested_by or (
                RequestedBy.MENTEE if is_mentee else RequestedBy.COORDINATOR
            )
            current.request_repairing(coded, by)
            assert current.proposal is not None
            cohort = current.proposal.cohort_id
            if cohort is None:
                raise MenteeNotInCohort(f"pairing {pairing_id} has no cohort")
            await lock_cohort(conn, tenant, cohort)
            if await replacement_open(conn, tenant, pairing_id):
                raise RepairUnderway(f"pairing {pairing_id} is being re-paired")
            exclude = await ruled_out(conn, tenant, mentee)
            exclude.add((mentee, current.mentor_id))
            pool = await mentee_pool(conn, tenant, cohort, mentee, exclude)
            best = await self._best(pool, mentee, 1)
            if not best:
                raise NoMentorLeft(f"no other mentor in {cohort} can take {mentee}")
            meta = self.metadata_for(principal)
            await self.pairings.pairings.save(current, meta, connection=conn)
            new_id = await self._propose(
                conn, system_principal(tenant), pool, mentee, best[0],
                pairing_id, ReasonCode.REPAIRING,
            )  # fmt: skip
            for noted, action in (
                (pairing_id, "RepairingRequested"),
                (new_id, PROPOSED),
            ):
                await keep_note(
                    conn, tenant, pairing_id=noted, mentor_id=current.mentor_id,
                    mentee_id=mentee, action=action, code=coded,
                    author_id=principal.subject, body=body,
                )  # fmt: skip
            return new_id

        return decide

    # -- rotation ------------------------------------------------------------------------

    async def plan_rotation(
        self,
        principal: Principal,
        mentee_id: str,
        *,
        cycles: int,
        cycle_weeks: int,
        starts_on: date,
        cohort_id: str | None = None,
    ) -> RotationPlanView:
        """Distinct mentors, best first, none the mentee has had (coordinators)."""
        principal.require(*COORDINATORS)
        tenant = principal.tenant
        async with self.engine.connect() as conn:
            cohort = await cohort_of(conn, tenant, mentee_id, cohort_id)
            exclude = await ruled_out(conn, tenant, mentee_id)
            pool = await mentee_pool(conn, tenant, cohort, mentee_id, exclude)
        best = await self._best(pool, mentee_id, cycles)
        if len(best) < cycles:
            raise NotEnoughMentors(
                f"{len(best)} suitable mentor(s) with a free seat in {cohort}, "
                f"fewer than the {cycles} cycles asked for",
                available=len(best),
                cycles=cycles,
            )
        plan = RotationPlan.plan(
            tenant,
            str(uuid.uuid4()),
            mentee_id,
            [b.mentor_id for b in best],
            starts_on=starts_on,
            cycle_weeks=cycle_weeks,
            cohort_id=cohort,
        )
        (recorded,) = await self.plans.save(plan, self.metadata_for(principal))
        assert plan.planned is not None
        return _plan_view(plan.planned, recorded.time.isoformat())

    async def rotation(self, principal: Principal, mentee_id: str) -> RotationPlanView:
        """The mentee's latest rotation plan."""
        if principal.subject != mentee_id:
            principal.require(*COORDINATORS, Role.SPONSOR)
        found = await latest_plan(self.engine, principal.tenant, mentee_id)
        if found is None:
            raise NotFound(f"no rotation plan for {mentee_id}")
        planned, planned_at = found
        return _plan_view(planned, planned_at)

    # -- shared --------------------------------------------------------------------------

    async def _best(self, pool: Pool, mentee_id: str, limit: int) -> list[Ranked]:
        if not pool.mentors:
            return []
        return await asyncio.to_thread(best_mentors, pool, mentee_id, limit)

    async def _propose(
        self,
        conn: AsyncConnection,
        system: Principal,
        pool: Pool,
        mentee_id: str,
        best: Ranked,
        replaces: str | None,
        reason: ReasonCode,
    ) -> str:
        await require_seat(conn, system.tenant, best.mentor_id, None)
        await require_single(
            conn, system.tenant, pool.cohort_id, mentee_id, None, replaces
        )
        pairing_id = str(uuid.uuid4())
        proposal = Pairing.propose(
            system.tenant,
            m.PairingProposed(
                pairing_id=pairing_id,
                cohort_id=pool.cohort_id,
                mentor_id=best.mentor_id,
                mentee_id=mentee_id,
                programme_type=pool.programme_type,
                score=min(1.0, max(0.0, best.score)),
                parts=[m.ScorePart(**p) for p in best.explanation.contract_parts()],
                expires_at=datetime.now(UTC) + self.ttl,
                replaces=replaces,
                reason=reason,
            ),
        )
        await self.pairings.pairings.save(
            proposal, self.metadata_for(system), connection=conn
        )
        await keep_explanation(
            conn, system.tenant, pairing_id, best.mentor_id, mentee_id,
            best.explanation.reasons(),
        )  # fmt: skip
        return pairing_id


def _plan_view(planned: m.RotationPlanned, planned_at: str) -> RotationPlanView:
    return RotationPlanView(
        plan_id=planned.plan_id,
        mentee_id=planned.mentee_id,
        cohort_id=planned.cohort_id,
        planned_at=planned_at,
        cycles=list(planned.cycles),
    )

"""``Rounds``: pair a whole cohort at once, explain every proposal, report progress.

The optimiser is CPU work, so a round runs in a worker thread while the event loop
keeps serving; its progress comes back through a queue into ``live`` (for the progress
endpoint) and into ``RoundProgressed`` events at each phase. The proposals and
``RoundCompleted`` are appended in one transaction: a round's outcome appears whole.
A re-run keeps approved pairs, withdraws the other open proposals of the round, and
pairs the rest again around the pairs the coordinator pinned.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from chassis.auth.principal import Principal, Role
from chassis.errors import DomainError, FieldError, ValidationFailed
from chassis.repository import Repository
from contracts import matching as m
from services.matching.domain.config import FairnessSettings, MatchingConfig
from services.matching.domain.pairing import Pairing
from services.matching.domain.round import MatchingRound, run_round
from services.matching.domain.round_record import Round, RoundNotFinished
from services.matching.events import registry
from services.matching.pairings import COORDINATORS, Pairings
from services.matching.pool import Pool, load_pool

log = logging.getLogger(__name__)


class NothingToMatch(DomainError):
    code = "NothingToMatch"
    title = "Nobody to pair"


class Rounds:
    def __init__(self, pairings: Pairings, *, proposal_ttl: timedelta) -> None:
        self.pairings = pairings
        self.runtime = pairings.runtime
        self.engine = pairings.engine
        self.metadata_for = pairings.metadata_for
        self.ttl = proposal_ttl
        self.rounds = Repository(self.runtime.store, registry, Round)
        self.rounds.on_saved.append(lambda _events: self.runtime.relay.notify())
        self.live: dict[str, dict[str, Any]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    # -- commands --------------------------------------------------------------------

    async def start(
        self,
        principal: Principal,
        cohort_id: str,
        *,
        mode: str = "quality",
        weights: dict[str, float] | None = None,
        min_score: float = 0.0,
        fairness: dict[str, Any] | None = None,
        pins: list[tuple[str, str]] = (),  # type: ignore[assignment]
        wait: bool = False,
    ) -> dict[str, Any]:
        """Start a round for the cohort (coordinators); ``wait`` returns it finished."""
        principal.require(*COORDINATORS)
        async with self.engine.connect() as conn:
            pool = await load_pool(conn, principal.tenant, cohort_id)
        if not pool.mentees or not pool.mentors:
            raise NothingToMatch(
                f"cohort {cohort_id} has {len(pool.mentees)} mentees waiting and "
                f"{len(pool.mentors)} mentors with a profile"
            )
        config = _config(pool, mode, weights, min_score, fairness)
        round_id = str(uuid.uuid4())
        started = Round.start(
            principal.tenant,
            m.RoundStarted(
                round_id=round_id,
                cohort_id=cohort_id,
                mode=config.mode,
                programme_type=config.programme_type,
                mentees=len(pool.mentees),
                mentors=len(pool.mentors),
            ),
            pins=list(pins),
        )
        await self.rounds.save(started, self.metadata_for(principal))
        self.live[round_id] = {
            "status": "running",
            "phase": "queued",
            "done": 0,
            "total": 0,
        }
        task = asyncio.create_task(
            self._run(principal, round_id, pool, config, list(pins))
        )
        self._tasks[round_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(round_id, None))
        if wait:
            await asyncio.shield(task)
        return await self.get(principal, round_id)

    async def rerun(
        self, principal: Principal, round_id: str, pins: list[tuple[str, str]]
    ) -> dict[str, Any]:
        """Keep approved pairs, withdraw the round's other open proposals, pair again."""
        principal.require(*COORDINATORS)
        previous = await self.rounds.get(round_id, principal.tenant)
        if not previous.finished or previous.started is None:
            raise RoundNotFinished(f"round {round_id} has not finished")
        for proposal in await self.pairings.list(
            principal, round_id=round_id, state="proposed"
        ):
            await self.pairings.withdraw(
                principal, proposal["pairing_id"], "round re-run"
            )
        started = previous.started
        return await self.start(
            principal,
            started.cohort_id,
            mode=started.mode,
            pins=pins,
            wait=True,
        )

    # -- the work ------------------------------------------------------------------------

    async def _run(
        self,
        principal: Principal,
        round_id: str,
        pool: Pool,
        config: MatchingConfig,
        pins: list[tuple[str, str]],
    ) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, int, int]] = asyncio.Queue()

        def progress(phase: str, done: int, total: int) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (phase, done, total))

        work = asyncio.ensure_future(
            asyncio.to_thread(
                run_round,
                pool.mentees,
                pool.mentors,
                config,
                forbidden=pool.forbidden,
                pinned=pins,
                competency_names=pool.competency_names,
                progress=progress,
            )
        )
        phase = None
        try:
            while not work.done() or not queue.empty():
                try:
                    phase_now, done, total = await asyncio.wait_for(queue.get(), 0.25)
                except TimeoutError:
                    continue
                self.live[round_id].update(phase=phase_now, done=done, total=total)
                if phase_now != phase:  # one event per phase; the endpoint has the rest
                    phase = phase_now
                    await self._record(principal, round_id, phase_now, done, total)
            result = await work
            await self._propose(principal, round_id, pool, result)
            self.live[round_id]["status"] = "completed"
        except Exception as exc:  # recorded for the coordinator, then logged
            log.exception("round %s failed", round_id)
            error = f"{type(exc).__name__}: {exc}"
            self.live[round_id].update(status="failed", error=error)
            await self._fail(principal, round_id, error)

    async def _fail(self, principal: Principal, round_id: str, error: str) -> None:
        """Record ``RoundFailed`` so watchers (``roundProgress``) see the end too."""
        try:
            async with self.engine.begin() as conn:
                round_ = await self.rounds.get(
                    round_id, principal.tenant, connection=conn
                )
                round_.fail(error)
                await self.rounds.save(
                    round_, self.metadata_for(principal), connection=conn
                )
        except Exception:  # the live view still says failed; a restart says interrupted
            log.exception("round %s: could not record its failure", round_id)

    async def _record(
        self, principal: Principal, round_id: str, phase: str, done: int, total: int
    ) -> None:
        async with self.engine.begin() as conn:
            round_ = await self.rounds.get(round_id, principal.tenant, connection=conn)
            round_.progress(phase, done, total)
            await self.rounds.save(
                round_, self.metadata_for(principal), connection=conn
            )

    async def _propose(
        self, principal: Principal, round_id: str, pool: Pool, result: MatchingRound
    ) -> None:
        expires_at = datetime.now(UTC) + self.ttl
        meta = self.metadata_for(principal)
        async with self.engine.begin() as conn:
            for pair, explanation in result.explained_pairs(pool.competency_names):
                proposal = Pairing.propose(
                    principal.tenant,
                    m.PairingProposed(
                        pairing_id=str(uuid.uuid4()),
                        round_id=round_id,
                        cohort_id=pool.cohort_id,
                        mentor_id=pair.mentor_id,
                        mentee_id=pair.mentee_id,
                        programme_type=pool.programme_type,  # type: ignore[arg-type]
                        score=min(1.0, pair.score),
                        parts=[m.ScorePart(**p) for p in explanation.contract_parts()],
                        expires_at=expires_at,
                    ),
                )
                await self.pairings.pairings.save(proposal, meta, connection=conn)
            round_ = await self.rounds.get(round_id, principal.tenant, connection=conn)
            round_.complete(
                m.RoundCompleted(
                    round_id=round_id,
                    cohort_id=pool.cohort_id,
                    proposed=len(result.pairs),
                    unmatched=list(result.unmatched),
                    total_score=result.total_score,
                    fairness=result.fairness.as_dict() if result.fairness else {},
                )
            )
            await self.rounds.save(round_, meta, connection=conn)

    # -- queries -------------------------------------------------------------------------

    async def get(self, principal: Principal, round_id: str) -> dict[str, Any]:
        principal.require(*COORDINATORS, Role.SPONSOR)
        round_ = await self.rounds.get(round_id, principal.tenant)
        assert round_.started is not None
        live = self.live.get(round_id, {})
        done = round_.completed
        status = (
            "completed"
            if done
            else "failed"
            if round_.failed
            else live.get("status", "interrupted")
        )
        view: dict[str, Any] = {
            "round_id": round_id,
            "cohort_id": round_.started.cohort_id,
            "mode": round_.started.mode,
            "programme_type": round_.started.programme_type,
            "mentees": round_.started.mentees,
            "mentors": round_.started.mentors,
            "status": status,
            "progress": {
                "phase": live.get("phase", round_.phase),
                "done": live.get("done", round_.done),
                "total": live.get("total", round_.total),
            },
            "pinned": [
                {"mentee_id": e, "mentor_id": r} for e, r in sorted(round_.pinned)
            ],
        }
        if "error" in live:
            view["error"] = live["error"]
        elif round_.failed is not None:
            view["error"] = round_.failed.error
        if done is not None:
            view.update(
                proposed=done.proposed,
                unmatched=done.unmatched,
                total_score=done.total_score,
                fairness=done.fairness,
            )
        return view

    async def latest_for(self, principal: Principal, cohort_id: str) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT DISTINCT round_id FROM pairings WHERE tenant = :t "
                    "AND cohort_id = :c AND round_id IS NOT NULL"
                ),
                {"t": principal.tenant, "c": cohort_id},
            )
            return [r.round_id for r in rows]


def _config(
    pool: Pool,
    mode: str,
    weights: dict[str, float] | None,
    min_score: float,
    fairness: dict[str, Any] | None,
) -> MatchingConfig:
    if mode not in ("quality", "coverage"):
        raise ValidationFailed([FieldError("mode", "quality or coverage")])
    settings = FairnessSettings(**fairness) if fairness else None
    return MatchingConfig.for_programme(
        pool.programme_type,  # type: ignore[arg-type]
        mode=mode,  # type: ignore[arg-type]
        weights=weights or {},
        min_score=min_score,
        fairness=settings,
    )

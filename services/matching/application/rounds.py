"""``Rounds``: pair a whole cohort at once, explain every proposal, report progress.

The optimiser is CPU work, so a round runs in a worker thread while the event loop
keeps serving; its progress comes back through a queue into ``live`` (for the progress
endpoint) and into ``RoundProgressed`` events at each phase. The proposals and
``RoundCompleted`` are appended in one transaction: a round's outcome appears whole.
A re-run keeps approved pairs, withdraws the other open proposals of the round, and
pairs the rest again around the pairs the coordinator pinned.

Commands validate fully before they change anything: a start or a re-run checks the
cohort is free (one round at a time, ``RoundGuard``), that someone can be paired and
every pin, and refuses synchronously, typed, having recorded nothing. Only then does
a re-run withdraw (in the transaction that records the new ``RoundStarted``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.auth.principal import Principal, Role
from chassis.errors import DomainError, FieldError, ValidationFailed
from chassis.events import EventMetadata, NewEvent
from chassis.events import encode as encode_payload
from chassis.eventstore.batch import StreamAppend, append_streams
from chassis.redaction import described
from chassis.repository import Repository
from contracts import matching as m
from contracts.api.matching import (
    CircleView,
    FairnessReport,
    NoFairness,
    PinnedPair,
    RoundProgress,
    RoundStatus,
    RoundView,
)
from contracts.matching import (
    Criterion,
    Mode,
    PairingState,
    ProgrammeType,
    ReasonCode,
)
from services.matching.application.access import COORDINATORS
from services.matching.application.pairings import Pairings
from services.matching.application.seats import (
    Lease,
    RoundGuard,
    busy_mentees,
    lock_cohort,
    lock_mentors,
    seats_of,
)
from services.matching.domain.config import MODES, FairnessSettings, MatchingConfig
from services.matching.domain.encoding import encode
from services.matching.domain.events import registry
from services.matching.domain.fairness import disclose
from services.matching.domain.pairing import Pairing
from services.matching.domain.round import MatchingRound, run_round
from services.matching.domain.round_record import Round, RoundNotFinished
from services.matching.domain.rules import pin_refusals, refuse_pins
from services.matching.projections.circles import circles_of_rounds
from services.matching.projections.pairing_texts import keep_explanations
from services.matching.projections.pairings import proposed_in, rounds_of
from services.matching.projections.pool import Pool, load_pool
from services.matching.projections.rounds import round_streams

# The cohort's applied weights (criterion value → weight; empty: the preset).
WeightsOf = Callable[[str, str], Awaitable[Mapping[str, float]]]

log = logging.getLogger(__name__)


# Rounds recording now, and whether the collector was on before the first began.
_recording = {"rounds": 0, "collector_was_on": True}


@contextlib.contextmanager
def _settled() -> Iterator[None]:
    """While a round records its proposals, the garbage collector waits: the many
    short-lived objects of a few thousand events would otherwise trigger full
    collections over everything the process holds (the pool, the round's
    matrices), measured at 30-40 % of the CPU of recording a 10,000 x 2,000 round.
    Those objects are not cyclic garbage (reference counting frees them); what is
    waits for the collector, on again (as it was) when the last recording ends."""
    if _recording["rounds"] == 0:
        _recording["collector_was_on"] = gc.isenabled()
        gc.disable()
    _recording["rounds"] += 1
    try:
        yield
    finally:
        _recording["rounds"] -= 1
        if _recording["rounds"] == 0 and _recording["collector_was_on"]:
            gc.enable()


class NothingToMatch(DomainError):
    code = "NothingToMatch"
    title = "Nobody to pair"


@dataclass
class LiveRound:
    """A round running in this process: what ``get`` shows before it is recorded."""

    status: RoundStatus = RoundStatus.RUNNING
    phase: str = "queued"
    done: int = 0
    total: int = 0
    error: str | None = None


class Rounds:
    def __init__(
        self,
        pairings: Pairings,
        *,
        proposal_ttl: timedelta,
        k: int = 5,
        disclosure_key: bytes = b"",
    ) -> None:
        self.pairings = pairings
        self.k = k  # the floor of every fairness report's min_group_size
        self.disclosure_key = disclosure_key
        self.runtime = pairings.runtime
        self.engine = pairings.engine
        self.metadata_for = pairings.metadata_for
        self.ttl = proposal_ttl
        self.rounds = Repository(self.runtime.store, registry, Round)
        self.rounds.on_saved.append(lambda _events: self.runtime.relay.notify())
        self.guard = RoundGuard(self.engine)
        self.live: dict[str, LiveRound] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._leases: dict[str, Lease] = {}

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        for lease in list(self._leases.values()):  # tasks cancelled before they ran
            await lease.release()
        self._leases.clear()

    # -- commands --------------------------------------------------------------------

    async def start(
        self,
        principal: Principal,
        cohort_id: str,
        *,
        mode: Mode = Mode.QUALITY,
        weights: Mapping[Criterion, float] | None = None,
        min_score: float = 0.0,
        fairness: FairnessSettings | None = None,
        pins: Sequence[tuple[str, str]] = (),
        wait: bool = False,
    ) -> RoundView:
        """Start a round for the cohort (coordinators); ``wait`` returns it finished.

        Everything that can refuse it does so first, typed, with nothing recorded:
        another round of the cohort still running (``RoundInProgress``), nobody to
        pair, a bad mode or weight, pins that cannot be honoured (every bad one
        listed, in ``PinsRefused`` or ``CapacityExceeded``)."""
        principal.require(*COORDINATORS)
        lease = await self.guard.acquire(principal.tenant, cohort_id)
        try:
            async with self.engine.connect() as conn:
                pool = await load_pool(conn, principal.tenant, cohort_id)
            config = _config(pool, mode, weights, min_score, fairness, self.k)
            pinned = await _checked(pool, config, pins)
            started = _started(principal, pool, config, pinned)
            await self.rounds.save(started, self.metadata_for(principal))
        except BaseException:
            await lease.release()
            raise
        return await self._launch(
            principal, started.id, pool, config, pinned, lease, wait
        )

    async def rerun(
        self,
        principal: Principal,
        round_id: str,
        pins: list[tuple[str, str]],
        weights_of: WeightsOf | None = None,
    ) -> RoundView:
        """Keep approved pairs, withdraw the round's other open proposals, pair again.

        The pins, seats and rules are checked first, against the pool as it will be
        once those proposals are withdrawn; a refusal is a typed error and withdraws
        nothing. The withdrawals and the new ``RoundStarted`` commit together.
        ``weights_of`` gives the cohort's applied weights (none: the preset)."""
        principal.require(*COORDINATORS)
        tenant = principal.tenant
        previous = await self.rounds.get(round_id, tenant)
        if not previous.finished or previous.started is None:
            raise RoundNotFinished(f"round {round_id} has not finished")
        begun = previous.started
        lease = await self.guard.acquire(tenant, begun.cohort_id)
        try:
            async with self.engine.connect() as conn:
                open_ids = await proposed_in(conn, tenant, round_id)
                pool = await load_pool(
                    conn, tenant, begun.cohort_id, released=set(open_ids)
                )
            applied = await weights_of(tenant, begun.cohort_id) if weights_of else {}
            weights = {Criterion(c): w for c, w in applied.items()} or None
            config = _config(pool, begun.mode, weights, 0.0, None, self.k)
            pins = await _checked(pool, config, pins)
            started = _started(principal, pool, config, pins)
            meta = self.metadata_for(principal)
            async with self.engine.begin() as conn:
                for pairing_id in open_ids:
                    pairing = await self.pairings.pairings.get(
                        pairing_id, tenant, connection=conn
                    )
                    if pairing.state != PairingState.PROPOSED:
                        continue  # approved meanwhile: a re-run keeps it
                    pairing.withdraw(ReasonCode.ROUND_RERUN)
                    await self.pairings.pairings.save(pairing, meta, connection=conn)
                await self.rounds.save(started, meta, connection=conn)
        except BaseException:
            await lease.release()
            raise
        return await self._launch(
            principal, started.id, pool, config, pins, lease, True
        )

    async def _launch(
        self,
        principal: Principal,
        round_id: str,
        pool: Pool,
        config: MatchingConfig,
        pins: list[tuple[str, str]],
        lease: Lease,
        wait: bool,
    ) -> RoundView:
        self.live[round_id] = LiveRound()
        self._leases[round_id] = lease
        task = asyncio.create_task(self._run(principal, round_id, pool, config, pins))
        self._tasks[round_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(round_id, None))
        if wait:
            await asyncio.shield(task)
        return await self.get(principal, round_id)

    # -- the work ------------------------------------------------------------------------

    async def _run(
        self,
        principal: Principal,
        round_id: str,
        pool: Pool,
        config: MatchingConfig,
        pins: list[tuple[str, str]],
    ) -> None:
        try:
            await self._work(principal, round_id, pool, config, pins)
        finally:
            lease = self._leases.pop(round_id, None)
            if lease is not None:
                await lease.release()

    async def _work(
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
                live = self.live[round_id]
                live.phase, live.done, live.total = phase_now, done, total
                if phase_now != phase:  # one event per phase; the endpoint has the rest
                    phase = phase_now
                    await self._record(principal, round_id, phase_now, done, total)
            result = await work
            with _settled():
                await self._propose(principal, round_id, pool, result)
            self.live[round_id].status = RoundStatus.COMPLETED
        except Exception as exc:  # recorded for the coordinator, then logged
            log.exception("round %s failed", round_id)
            error = described(exc)
            live = self.live[round_id]
            live.status, live.error = RoundStatus.FAILED, error
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
        """Record the round's proposals and its outcome in one transaction.

        The pool was read before the optimiser ran; under the cohort's and the
        mentors' locks each pair is checked again. A pair whose mentor has no seat
        left by now, or whose mentee was paired meanwhile, is not proposed: its
        mentee stays unmatched and ``RoundCompleted.not_proposed`` says why. The
        rest of the round stands (what a coordinator expects of a round of forty)."""
        tenant = principal.tenant
        expires_at = datetime.now(UTC) + self.ttl
        meta = self.metadata_for(principal)
        # The explanations are CPU work, as the optimiser's: off the event loop too.
        chosen = await asyncio.to_thread(
            lambda: list(result.explained_pairs(pool.competency_names))
        )
        left_out: list[m.NotProposed] = []
        proposals: list[Pairing] = []
        texts: list[tuple[str, str, str, Mapping[str, str]]] = []
        async with self.engine.begin() as conn:
            await lock_cohort(conn, tenant, pool.cohort_id)
            mentors = [pair.mentor_id for pair, _ in chosen]
            await lock_mentors(conn, tenant, mentors)
            seats = await seats_of(conn, tenant, mentors)
            busy = await busy_mentees(conn, tenant, pool.cohort_id)
            for pair, explanation in chosen:
                held = seats[pair.mentor_id]
                reason = (
                    "the mentee was paired in the cohort while the round ran"
                    if pair.mentee_id in busy
                    else "the mentor's last seat was taken while the round ran"
                    if held.free <= 0
                    else None
                )
                if reason is not None:
                    left_out.append(
                        m.NotProposed(
                            mentee_id=pair.mentee_id,
                            mentor_id=pair.mentor_id,
                            reason=reason,
                        )
                    )
                    continue
                # One validation per proposal, its parts with it.
                proposal = Pairing.propose(
                    tenant,
                    m.PairingProposed.model_validate(
                        {
                            "pairing_id": str(uuid.uuid4()),
                            "round_id": round_id,
                            "cohort_id": pool.cohort_id,
                            "mentor_id": pair.mentor_id,
                            "mentee_id": pair.mentee_id,
                            "programme_type": pool.programme_type,
                            "score": min(1.0, pair.score),
                            "parts": explanation.contract_parts(),
                            "expires_at": expires_at,
                        }
                    ),
                )
                proposals.append(proposal)
                texts.append(
                    (proposal.id, pair.mentor_id, pair.mentee_id, explanation.reasons())
                )
                held.held.append(proposal.id)
                busy.add(pair.mentee_id)
            await self._save_proposals(proposals, meta, conn)
            await keep_explanations(conn, tenant, texts)
            round_ = await self.rounds.get(round_id, tenant, connection=conn)
            round_.complete(
                m.RoundCompleted(
                    round_id=round_id,
                    cohort_id=pool.cohort_id,
                    proposed=len(chosen) - len(left_out),
                    unmatched=[
                        *result.unmatched,
                        *(n.mentee_id for n in left_out),
                    ],
                    total_score=result.total_score,
                    fairness=result.fairness.as_dict(self.disclosure_key)
                    if result.fairness
                    else {},
                    not_proposed=left_out,
                )
            )
            await self.rounds.save(round_, meta, connection=conn)

    async def _save_proposals(
        self, proposals: Sequence[Pairing], meta: EventMetadata, conn: AsyncConnection
    ) -> None:
        """``Repository.save`` of every new proposal, their streams appended in one
        multi-stream append (``append_streams``: all or nothing, each stream's
        expected version checked) instead of one append each; the projections and
        listeners then see every recorded event, as each save would show them."""
        if not proposals:
            return
        repo = self.pairings.pairings
        expected = [p.stored_version for p in proposals]  # before collecting
        pending = [p.collect_pending() for p in proposals]
        appends = [
            StreamAppend(
                p.id,
                p.stream_type,
                version,
                [
                    NewEvent(
                        event_type=x.event_type,
                        data=await repo.codec.encode(p.id, p.tenant, x, conn)
                        if repo.codec
                        else encode_payload(x),
                        schema_version=x.schema_version,
                    )
                    for x in payloads
                ],
            )
            for p, version, payloads in zip(proposals, expected, pending, strict=True)
        ]
        recorded = await append_streams(repo.store, appends, meta, connection=conn)
        pairs = [
            pair
            for events, payloads in zip(recorded, pending, strict=True)
            for pair in zip(events, payloads, strict=True)
        ]
        for projection in repo.projections:
            await projection.apply(pairs, conn)
        every = [event for events in recorded for event in events]
        for listener in repo.on_saved:
            listener(every)

    # -- queries -------------------------------------------------------------------------

    async def get(self, principal: Principal, round_id: str) -> RoundView:
        principal.require(*COORDINATORS, Role.SPONSOR)
        round_ = await self.rounds.get(round_id, principal.tenant)
        return (await self._views(principal, [round_]))[0]

    async def some(self, principal: Principal, ids: Sequence[str]) -> list[RoundView]:
        """Several rounds by id (as ``get``); unknown ids and other tenants' rounds
        are left out. Their streams come in one statement, the circles of the group
        rounds among them in three, however many rounds are asked for."""
        principal.require(*COORDINATORS, Role.SPONSOR)
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        async with self.engine.connect() as conn:
            streams = await round_streams(conn, principal.tenant, wanted)
            found = {
                round_id: Round.rebuild(
                    round_id,
                    principal.tenant,
                    [await self.rounds.decode(e, conn) for e in recorded],
                )
                for round_id, recorded in streams.items()
            }
        return await self._views(
            principal,
            [found[r] for r in wanted if r in found and found[r].started is not None],
        )

    async def _views(
        self, principal: Principal, rounds: Sequence[Round]
    ) -> list[RoundView]:
        """The rounds as ``get`` answers them; the circles of the completed group
        rounds among them are read together."""
        grouped = [
            r.id
            for r in rounds
            if r.completed is not None
            and r.started is not None
            and r.started.programme_type == ProgrammeType.GROUP
        ]
        circles: dict[str, list[CircleView]] = {}
        if grouped:
            async with self.engine.connect() as conn:
                circles = await circles_of_rounds(conn, principal.tenant, grouped)
        return [self._view(r, circles.get(r.id)) for r in rounds]

    def _view(self, round_: Round, circles: list[CircleView] | None) -> RoundView:
        assert round_.started is not None
        round_id = round_.id
        live = self.live.get(round_id)
        done = round_.completed
        status = (
            RoundStatus.COMPLETED
            if done
            else RoundStatus.FAILED
            if round_.failed
            else live.status
            if live is not None
            else RoundStatus.INTERRUPTED
        )
        # Fields set only when they apply (an absent one is not answered as null).
        outcome: dict[str, object] = {}
        if live is not None and live.error is not None:
            outcome["error"] = live.error
        elif round_.failed is not None:
            outcome["error"] = round_.failed.error
        if done is not None:
            # Rounds recorded before the disclosure rule, or under a lower k, are
            # held to today's k on the way out.
            outcome.update(
                proposed=done.proposed,
                unmatched=done.unmatched,
                total_score=done.total_score,
                fairness=FairnessReport.model_validate(
                    disclose(done.fairness, self.k, self.disclosure_key)
                )
                if done.fairness
                else NoFairness(),
                not_proposed=done.not_proposed,
            )
            if circles is not None:
                outcome["circles"] = circles
        return RoundView.model_validate(
            {
                "round_id": round_id,
                "cohort_id": round_.started.cohort_id,
                "mode": round_.started.mode,
                "programme_type": round_.started.programme_type,
                "mentees": round_.started.mentees,
                "mentors": round_.started.mentors,
                "status": status,
                "progress": RoundProgress(
                    phase=live.phase if live is not None else round_.phase,
                    done=live.done if live is not None else round_.done,
                    total=live.total if live is not None else round_.total,
                ),
                "pinned": [
                    PinnedPair(mentee_id=e, mentor_id=r)
                    for e, r in sorted(round_.pinned)
                ],
                **outcome,
            }
        )

    async def latest_for(self, principal: Principal, cohort_id: str) -> list[str]:
        return await rounds_of(self.engine, principal.tenant, cohort_id)


def _config(
    pool: Pool,
    mode: Mode,
    weights: Mapping[Criterion, float] | None,
    min_score: float,
    fairness: FairnessSettings | None,
    k: int,
) -> MatchingConfig:
    if mode not in MODES:
        raise ValidationFailed([FieldError("mode", "quality or coverage")])
    if fairness is not None:
        # The tenant's k is a floor: a smaller min_group_size is raised to it
        # silently (the report says which size it used), a larger one is kept.
        fairness = replace(fairness, min_group_size=max(fairness.min_group_size, k))
    return MatchingConfig.for_programme(
        pool.programme_type,
        mode=mode,
        weights={c.value: w for c, w in (weights or {}).items()},
        min_score=min_score,
        fairness=fairness,
    )


async def _checked(
    pool: Pool, config: MatchingConfig, pins: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The pins, once nobody-to-pair and every pin are checked (all bad pins listed)."""
    if not pool.mentees or not pool.mentors:
        raise NothingToMatch(
            f"cohort {pool.cohort_id} has {len(pool.mentees)} mentees waiting and "
            f"{len(pool.mentors)} mentors with a profile"
        )
    pins = list(dict.fromkeys((e, r) for e, r in pins))
    if pins:

        def check() -> None:
            enc = encode(pool.mentees, pool.mentors, config, pool.competency_names)
            refuse_pins(pin_refusals(enc, pins, pool.forbidden))

        await asyncio.to_thread(check)
    return pins


def _started(
    principal: Principal,
    pool: Pool,
    config: MatchingConfig,
    pins: list[tuple[str, str]],
) -> Round:
    return Round.start(
        principal.tenant,
        m.RoundStarted(
            round_id=str(uuid.uuid4()),
            cohort_id=pool.cohort_id,
            mode=config.mode,
            programme_type=config.programme_type,
            mentees=len(pool.mentees),
            mentors=len(pool.mentors),
        ),
        pins=pins,
    )

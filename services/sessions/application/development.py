"""Development in a relationship: milestones (with certificates), check-ins,
rotations and escalations. ``Development`` is the application (routes in
``api/development.py``, current state in ``projections/development.py``).

Each milestone, check-in, rotation and escalation is its own stream. Free text goes to
``private_texts`` and is shown to the pair and coordinators (an escalation's words to
whoever raised it and coordinators)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from chassis.aggregate import Aggregate
from chassis.auth.principal import Principal
from chassis.db import read
from chassis.errors import Forbidden, NotFound
from chassis.repository import Repository, retrying
from chassis.runtime import ServiceRuntime
from contracts.api import sessions as api
from contracts.sessions import development as d
from services.sessions.application.relationships import (
    OVERSEERS,
    Relationships,
    today,
)
from services.sessions.domain.checkin import CheckIn, Escalation
from services.sessions.domain.events import registry
from services.sessions.domain.milestone import Milestone
from services.sessions.domain.relationship import Relationship
from services.sessions.domain.rotation import Rotation
from services.sessions.projections.development import (
    COORDINATING,
    DevelopmentProjection,
    item_answer,
    item_view,
    text_ids,
)

__all__ = ["Development"]
Items = list[api.DevelopmentItem]


Item = TypeVar("Item", Milestone, Rotation, CheckIn, Escalation)
Decision = Callable[[AsyncConnection], Awaitable[Aggregate]]


class Development:
    def __init__(self, runtime: ServiceRuntime, relationships: Relationships) -> None:
        self.engine = runtime.engine
        self.relationships = relationships
        projection = DevelopmentProjection()
        self.repos: dict[type[Aggregate], Repository[Any]] = {}
        for kind in (Milestone, Rotation, CheckIn, Escalation):
            repo: Repository[Any] = Repository(
                runtime.store, registry, kind, projections=[projection]
            )
            repo.on_saved.append(lambda _events: runtime.relay.notify())
            self.repos[kind] = repo

    # -- plumbing ----------------------------------------------------------------------

    async def _write(self, principal: Principal, decide: Decision) -> str:
        """Decide and save in one transaction (texts included), retried on conflict."""

        async def attempt() -> str:
            async with self.engine.begin() as conn:
                aggregate = await decide(conn)
                await self.repos[type(aggregate)].save(
                    aggregate,
                    self.relationships.metadata_for(principal),
                    connection=conn,
                )
                return aggregate.id

        return await retrying(attempt)

    async def _load(
        self,
        principal: Principal,
        kind: type[Item],
        item_id: str,
        conn: AsyncConnection,
    ) -> tuple[Item, Relationship]:
        """The item and its relationship, if the principal may see that relationship."""
        item = await self.repos[kind].find(item_id, principal.tenant, connection=conn)
        if item is None:
            raise NotFound(f"{kind.stream_type} {item_id} not found")
        rel = await self.relationships.load(principal, item.relationship_id, conn)
        return item, rel

    async def _member(
        self, principal: Principal, relationship_id: str, conn: AsyncConnection
    ) -> Relationship:
        """The relationship, when the principal is one of the pair or coordinates."""
        rel = await self.relationships.load(principal, relationship_id, conn)
        _require_member(principal, rel)
        rel.require_open()  # nothing new is added to a concluded relationship
        return rel

    # -- milestones -----------------------------------------------------------------

    async def set_milestone(
        self,
        principal: Principal,
        relationship_id: str,
        *,
        objective_index: int,
        label: str,
        due_on: date,
        criteria: list[str],
        set_on: date | None = None,
    ) -> api.DevelopmentItem:
        async def decide(conn: AsyncConnection) -> Milestone:
            rel = await self._member(principal, relationship_id, conn)
            rel.require_contract()
            assert rel.contract is not None
            return Milestone.set(
                str(uuid.uuid4()),
                principal.tenant,
                relationship_id=relationship_id,
                mentee_id=rel.mentee_id,
                objective_index=objective_index,
                objectives=rel.contract.objectives,
                due_on=due_on,
                criteria=criteria,
                label_text_id=await self._put(conn, principal, label) or "",
                criteria_text_id=await self._put(
                    conn,
                    principal,
                    "\n".join(c.strip() for c in criteria if c.strip()),
                )
                or "",
                today=today(),
                started_on=rel.starts_on,
                set_on=set_on,
            )

        return await self.item(principal, await self._write(principal, decide))

    async def change_milestone(
        self, principal: Principal, milestone_id: str, status: api.MilestoneReport
    ) -> api.DevelopmentItem:
        async def decide(conn: AsyncConnection) -> Milestone:
            milestone, rel = await self._load(principal, Milestone, milestone_id, conn)
            _require_member(principal, rel)
            if status == api.MilestoneReport.MISSED:
                milestone.miss(today())
            else:
                milestone.progress(d.MilestoneStatus(status))
            return milestone

        return await self.item(principal, await self._write(principal, decide))

    async def achieve(
        self,
        principal: Principal,
        milestone_id: str,
        evidence: str,
        achieved_on: date | None = None,
    ) -> api.DevelopmentItem:
        async def decide(conn: AsyncConnection) -> Milestone:
            milestone, rel = await self._load(principal, Milestone, milestone_id, conn)
            _require_member(principal, rel)
            milestone.achieve(
                principal.subject,
                mentor_id=rel.mentor_id,
                is_coordinator=principal.has_role(*COORDINATING),
                evidence_text_id=await self._put(conn, principal, evidence),
                achieved_on=achieved_on or today(),
                today=today(),
                started_on=rel.starts_on,
            )
            return milestone

        return await self.item(principal, await self._write(principal, decide))

    async def certificate(
        self, principal: Principal, milestone_id: str
    ) -> api.Certificate:
        """A certificate-ready record: ids, label, dates, who confirmed; no names."""
        async with self.engine.connect() as conn:
            milestone, rel = await self._load(principal, Milestone, milestone_id, conn)
            achieved = milestone.require_achieved()
            assert milestone.set_event is not None
            label = await self.relationships.texts.get(
                conn, milestone.set_event.label_text_id
            )
        return api.Certificate(
            milestone_id=milestone.id,
            relationship_id=rel.id,
            mentee_id=rel.mentee_id,
            mentor_id=rel.mentor_id,
            label=label,
            objective_index=milestone.set_event.objective_index,
            criteria=milestone.set_event.criteria,
            due_on=milestone.due_on,
            achieved_on=achieved.achieved_on,
            on_time=achieved.on_time,
            confirmed_by=achieved.confirmed_by,
            confirmer_role=achieved.confirmer_role,
        )

    # -- check-ins ------------------------------------------------------------------

    async def check_in(
        self,
        principal: Principal,
        relationship_id: str,
        *,
        kind: d.CheckInKind,
        alignment: int,
        sponsor_id: str | None,
        held_on: date | None,
        correction: str | None,
    ) -> api.DevelopmentItem:
        async def decide(conn: AsyncConnection) -> CheckIn:
            rel = await self._member(principal, relationship_id, conn)
            return CheckIn.record(
                str(uuid.uuid4()),
                principal.tenant,
                relationship_id=rel.id,
                kind=kind,
                held_on=held_on or today(),
                sponsor_id=sponsor_id,
                alignment=alignment,
                correction_text_id=await self._put(conn, principal, correction),
                today=today(),
                started_on=rel.starts_on,
            )

        return await self.item(principal, await self._write(principal, decide))

    # -- rotations ------------------------------------------------------------------

    async def assign_rotation(
        self,
        principal: Principal,
        *,
        relationship_id: str,
        function: str | None,
        market: str | None,
        host_id: str,
        starts_on: date,
        ends_on: date,
        project_kind: d.ProjectKind,
        project: str | None,
    ) -> api.DevelopmentItem:
        async def decide(conn: AsyncConnection) -> Rotation:
            rel = await self._member(principal, relationship_id, conn)
            return Rotation.assign(
                str(uuid.uuid4()),
                principal.tenant,
                relationship_id=rel.id,
                mentee_id=rel.mentee_id,
                function=function,
                market=market,
                host_id=host_id,
                starts_on=starts_on,
                ends_on=ends_on,
                project_kind=project_kind,
                project_text_id=await self._put(conn, principal, project),
                started_on=rel.starts_on,
            )

        return await self.item(principal, await self._write(principal, decide))

    async def debrief(
        self,
        principal: Principal,
        rotation_id: str,
        *,
        reflection: str,
        goal_competency_ids: list[str],
    ) -> api.DevelopmentItem:
        async def decide(conn: AsyncConnection) -> Rotation:
            rotation, rel = await self._load(principal, Rotation, rotation_id, conn)
            if principal.subject != rel.mentee_id:
                raise Forbidden("the leader on rotation writes the debrief")
            rotation.debrief(
                goal_competency_ids,
                await self._put(conn, principal, reflection),
            )
            return rotation

        return await self.item(principal, await self._write(principal, decide))

    async def complete_rotation(
        self, principal: Principal, rotation_id: str
    ) -> api.DevelopmentItem:
        async def decide(conn: AsyncConnection) -> Rotation:
            rotation, rel = await self._load(principal, Rotation, rotation_id, conn)
            _require_member(principal, rel)
            rotation.complete(today())
            return rotation

        return await self.item(principal, await self._write(principal, decide))

    # -- escalations ----------------------------------------------------------------

    async def escalate(
        self,
        principal: Principal,
        relationship_id: str,
        *,
        category: d.EscalationCategory,
        detail: str | None,
    ) -> api.DevelopmentItem:
        async def decide(conn: AsyncConnection) -> Escalation:
            rel = await self.relationships.load(principal, relationship_id, conn)
            return Escalation.raise_concern(
                str(uuid.uuid4()),
                principal.tenant,
                relationship_id=rel.id,
                by=principal.subject,
                mentor_id=rel.mentor_id,
                mentee_id=rel.mentee_id,
                category=category,
                detail_text_id=await self._put(conn, principal, detail),
            )

        return await self.item(principal, await self._write(principal, decide))

    async def resolve(
        self,
        principal: Principal,
        escalation_id: str,
        *,
        outcome: d.EscalationOutcome,
        note: str | None,
    ) -> api.DevelopmentItem:
        async def decide(conn: AsyncConnection) -> Escalation:
            escalation, _rel = await self._load(
                principal, Escalation, escalation_id, conn
            )
            escalation.resolve(
                principal.subject,
                is_coordinator=principal.has_role(*COORDINATING),
                outcome=outcome,
                note_text_id=await self._put(conn, principal, note),
            )
            return escalation

        return await self.item(principal, await self._write(principal, decide))

    async def _put(
        self, conn: AsyncConnection, principal: Principal, words: str | None
    ) -> str | None:
        """Seal non-blank text; its id (or None) goes into the event."""
        words = (words or "").strip()
        if not words:
            return None
        return await self.relationships.texts.put(
            conn, principal.tenant, principal.subject, words
        )

    # -- queries --------------------------------------------------------------------

    async def item(
        self, principal: Principal, item_id: str, kind: api.ItemKind | None = None
    ) -> api.DevelopmentItem:
        found = await self._rows(principal, "d.item_id = :i", {"i": item_id}, kind)
        if not found:
            raise NotFound(f"{item_id} not found")
        return found[0]

    async def listed(
        self, principal: Principal, kind: api.ItemKind, relationship_id: str
    ) -> Items:
        """The relationship's items of ``kind``, if the principal may see the
        relationship (``Relationships.load``'s rule, read from its ``relationships``
        row, no event replayed): the pair and the items in one statement, their texts
        in one more, on one connection that opens no transaction."""
        answers = await self.listed_answers(principal, kind, relationship_id)
        return [api.DevelopmentItem.model_validate(a) for a in answers]

    async def listed_answers(
        self, principal: Principal, kind: api.ItemKind, relationship_id: str
    ) -> Sequence[dict[str, Any]]:
        """``listed`` as the JSON the API sends (``item_answer``)."""

        async def listed(conn: AsyncConnection) -> Sequence[dict[str, Any]]:
            rows = (
                await conn.execute(
                    _LISTED,
                    {"t": principal.tenant, "r": relationship_id, "k": kind},
                )
            ).all()
            pair = (rows[0].pair_mentor_id, rows[0].pair_mentee_id) if rows else None
            if pair is None or not _may_see(principal, pair):
                raise NotFound(f"relationship {relationship_id} not found")
            items = [row for row in rows if row.item_id is not None]
            words = await self.relationships.texts.get_many(
                conn, (i for row in items for i in text_ids(row))
            )
            return [item_answer(principal, pair, row, words) for row in items]

        return await read(self.engine, listed)

    async def escalations(
        self, principal: Principal, state: api.EscalationState | None
    ) -> Items:
        """Coordinators see every escalation in their tenant; others those they raised."""
        where, params = "d.kind = 'escalation'", {"s": state, "p": principal.subject}
        if state:
            where += " AND d.state = :s"
        if not principal.has_role(*COORDINATING):
            where += " AND d.owner_id = :p"
        return await self._rows(principal, where, params)

    async def milestones(self, principal: Principal, milestone_ids: list[str]) -> Items:
        """Several milestones, each as ``item`` shows it (unseen ones left out)."""
        where, params = _in("d.item_id", milestone_ids)
        return await self._rows(principal, f"d.kind = 'milestone' AND {where}", params)

    async def of_relationships(
        self,
        principal: Principal,
        kind: api.BatchItemKind,
        relationship_ids: list[str],
    ) -> Items:
        """Items of one kind of several relationships (unseen ones left out)."""
        return [
            api.DevelopmentItem.model_validate(a)
            for a in await self.of_relationships_answers(
                principal, kind, relationship_ids
            )
        ]

    async def of_relationships_answers(
        self,
        principal: Principal,
        kind: api.BatchItemKind,
        relationship_ids: list[str],
    ) -> Sequence[dict[str, Any]]:
        """``of_relationships`` as the JSON the API sends (``item_answer``)."""
        where, params = _in("d.relationship_id", relationship_ids)
        return await self._rows(
            principal,
            f"d.kind = :k AND {where}",
            {**params, "k": kind},
            answer=item_answer,
        )

    async def _rows(
        self,
        principal: Principal,
        where: str,
        params: Mapping[str, str | None],
        kind: api.ItemKind | None = None,
        answer: Callable[..., Any] = item_view,
    ) -> Any:
        """The items ``where`` selects (over ``development_items d``) that the
        caller may see (of ``kind``, if given: the stored kind, which a check-in's
        answer shows as its own kind). Each item's pair comes with it (a join on the
        ``relationships`` rows), its texts in one more statement: two statements,
        however many items and relationships, on one connection that opens no
        transaction."""

        async def found(conn: AsyncConnection) -> list[Any]:
            rows = (
                await conn.execute(
                    text(
                        "SELECT d.*, r.mentor_id AS pair_mentor_id, "
                        "r.mentee_id AS pair_mentee_id FROM development_items d "
                        "JOIN relationships r ON r.relationship_id = d.relationship_id "
                        f"AND r.tenant = d.tenant WHERE d.tenant = :t AND {where}"
                        " ORDER BY d.recorded_at, d.item_id"
                    ),
                    {**params, "t": principal.tenant},
                )
            ).all()
            visible: list[tuple[Row[Any], tuple[str, str]]] = []
            for row in rows:
                parties = (row.pair_mentor_id, row.pair_mentee_id)
                if not _may_see(principal, parties):
                    continue
                if kind is not None and row.kind != kind:
                    continue
                visible.append((row, parties))
            words = await self.relationships.texts.get_many(
                conn, (i for row, _pair in visible for i in text_ids(row))
            )
            return [answer(principal, pair, row, words) for row, pair in visible]

        return await read(self.engine, found)


# A relationship's pair and its items of one kind (none: one row, the pair's).
_LISTED = text(
    "SELECT r.mentor_id AS pair_mentor_id, r.mentee_id AS pair_mentee_id, d.* "
    "FROM relationships r LEFT JOIN development_items d "
    "ON d.relationship_id = r.relationship_id AND d.tenant = r.tenant "
    "AND d.kind = :k WHERE r.relationship_id = :r AND r.tenant = :t "
    "ORDER BY d.recorded_at, d.item_id"
)


def _may_see(principal: Principal, parties: tuple[str, str]) -> bool:
    return principal.subject in parties or principal.has_role(*OVERSEERS)


def _require_member(principal: Principal, rel: Relationship) -> None:
    if principal.subject not in rel.parties and not principal.has_role(*COORDINATING):
        raise Forbidden("only the pair or a coordinator may do this")


def _in(column: str, values: list[str]) -> tuple[str, dict[str, str]]:
    params = {f"v{i}": v for i, v in enumerate(dict.fromkeys(values))}
    if not params:
        return "1 = 0", {}
    return f"{column} IN ({', '.join(':' + k for k in params)})", params

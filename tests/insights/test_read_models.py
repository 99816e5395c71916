"""The scorecards' kept organisation (``scorecard_parts``) answers exactly what a fold
of the facts answers (issue 19: read models that are read, not recomputed).

A scorecard "now" is computed from the organisation the projection keeps, in parts
(``domain/scorecard_parts.py``); "as of" still folds the facts. Here, over varied
histories (the synthetic organisation plus random ones with repeated registrations,
re-set and missed milestones, re-rated feedback, deleted notes, withdrawals, outcomes
and erased people), delivered twice in shuffled order:

- in memory: parts kept fact by fact merge to the fold of all the facts;
- on PostgreSQL: every card "now" equals the card folded from the facts up to the
  moment it answers for, before and after an erasure and after a rebuild; a fact
  dated after now is answered as the fold answers (not counted yet); the migration
  folds the facts kept before it.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from chassis.envelope import Envelope
from chassis.events import utcnow
from chassis.migrations.runner import upgrade
from services.insights.domain import scorecard, scorecard_parts
from services.insights.projections import facts as fact_log
from services.insights.projections import scorecards as scorecards_view
from services.insights.projections.erasure import CONTRACTS
from tests.insights.synthetic import generate, shuffled_twice
from tests.insights.test_admin_scope import client_for
from tests.insights.test_rebuild import app, apply_live, rebuild_now  # noqa: F401
from tests.insights.test_scorecards_api import read_models
from tests.profiles.conftest import token

SCOPES = ("mentee", "relationship", "cohort", "programme")


def history(seed: int, tenant: str, *, start: datetime | None = None) -> list[Envelope]:
    """A random organisation's facts: every kind the scorecard reads, with the cases
    its fold must order (first registration wins, last re-set due date wins, a
    milestone missed then achieved, a feedback and a relationship start delivered
    twice under two ids, notes deleted, people withdrawn and erased)."""
    rng = random.Random(seed)
    base = start or datetime(2025, 1, 1, tzinfo=UTC)
    out: list[Envelope] = []

    def add(etype: str, day: int, /, **data: object) -> None:
        # Whole hours only: facts often share a moment, ordered by id then.
        moment = base + timedelta(days=day, hours=rng.choice((0, 9, 9, 17)))
        out.append(
            Envelope(
                id=str(uuid.UUID(int=rng.getrandbits(128))),
                source="tandem/test",
                type=etype,
                subject=str(data.get("person_id") or "x"),
                time=moment,
                data=dict(data),
                tenant=tenant,
            )
        )

    people = [f"p{n}" for n in range(rng.randint(8, 24))]
    people.append("erased-0a1b2c3d4e5f6a7b")  # a pseudonym: never an individual
    for p in people:
        for _ in range(rng.choice((1, 1, 2))):
            roles = rng.sample(["mentee", "mentor", "sponsor", "reverse_mentor"], 1)
            add(
                rng.choice(("PersonRegistered", "PersonDetailsUpdated")),
                rng.randint(0, 30),
                person_id=p,
                level=rng.randint(3, 6),
                roles=roles if rng.random() < 0.5 else [],
            )
        if rng.random() < 0.2:
            add(
                "ProgrammeRolesChanged",
                rng.randint(0, 200),
                person_id=p,
                roles=["mentor"],
            )
        for _ in range(rng.choice((0, 1, 2, 3))):
            add(
                "IntakeSubmitted",
                rng.randint(10, 300),
                person_id=p,
                goals=[
                    {
                        "competency_id": f"c{rng.randint(1, 4)}",
                        "current": rng.randint(1, 4),
                        "target": rng.randint(2, 5),
                    }
                    for _ in range(rng.randint(0, 3))
                ],
            )
        for _ in range(rng.choice((0, 0, 1, 2))):
            add(
                "CareerOutcomeRecorded",
                rng.randint(0, 360),
                person_id=p,
                kind=rng.choice(("promotion", "role_change", "departure", "lateral")),
                effective_on=(base + timedelta(days=rng.randint(-60, 360)))
                .date()
                .isoformat(),
            )
    cohorts = [f"cohort-{n}" for n in range(rng.randint(1, 3))]
    for c in cohorts:
        if rng.random() < 0.8:
            add("CohortCreated", rng.randint(0, 20), cohort_id=c)
        for p in rng.sample(people, rng.randint(1, len(people) // 2)):
            for _ in range(rng.choice((1, 1, 2))):
                add(
                    "ParticipantAdmitted",
                    rng.randint(5, 60),
                    cohort_id=c,
                    person_id=p,
                    role=rng.choice(("mentee", "mentee", "mentor")),
                )
            if rng.random() < 0.2:
                add(
                    "ParticipantWithdrew",
                    rng.randint(30, 200),
                    cohort_id=c,
                    person_id=p,
                )
    for r in range(rng.randint(2, 10)):
        rid = f"rel-{r}"
        mentee, mentor = rng.sample(people, 2)
        for _ in range(rng.choice((1, 1, 2))):  # a second start: the first one counts
            add(
                "RelationshipStarted",
                rng.randint(20, 90),
                relationship_id=rid,
                mentee_id=mentee if rng.random() < 0.9 else rng.choice(people),
                mentor_id=mentor,
                cohort_id=rng.choice([*cohorts, None]),
                starts_on=(base + timedelta(days=rng.randint(20, 90)))
                .date()
                .isoformat(),
            )
        for m in range(rng.randint(0, 4)):
            mid = f"ms-{r}-{m}"
            for _ in range(rng.choice((0, 1, 1, 2))):
                add(
                    "MilestoneSet",
                    rng.randint(30, 200),
                    milestone_id=mid,
                    relationship_id=rid,
                    due_on=(base + timedelta(days=rng.randint(60, 500)))
                    .date()
                    .isoformat(),
                )
            if rng.random() < 0.4:
                add(
                    "MilestoneMissed",
                    rng.randint(60, 300),
                    milestone_id=mid,
                    relationship_id=rid,
                    due_on=(base + timedelta(days=rng.randint(60, 300)))
                    .date()
                    .isoformat(),
                )
            if rng.random() < 0.5:
                add(
                    "MilestoneAchieved",
                    rng.randint(60, 300),
                    milestone_id=mid,
                    relationship_id=rid,
                    on_time=rng.random() < 0.5,
                    achieved_on=(base + timedelta(days=rng.randint(60, 300)))
                    .date()
                    .isoformat(),
                )
        for f in range(rng.randint(0, 6)):
            for _ in range(rng.choice((1, 1, 2))):
                add(
                    "FeedbackGiven",
                    rng.randint(40, 350),
                    feedback_id=f"fb-{r}-{f}",
                    relationship_id=rid,
                    rating=rng.randint(1, 5),
                )
        for n in range(rng.randint(0, 4)):
            nid = f"note-{r}-{n}"
            add(
                "NoteWritten",
                rng.randint(40, 300),
                note_id=nid,
                relationship_id=rid,
                author_id=rng.choice((mentee, mentor)),
                kind=rng.choice(("journal", "after_action_review", "session")),
            )
            if rng.random() < 0.3:
                add(
                    "NoteDeleted",
                    rng.randint(40, 320),
                    note_id=nid,
                    relationship_id=rid,
                )
        for o in range(rng.randint(0, 2)):
            add(
                "RotationAssigned",
                rng.randint(40, 200),
                rotation_id=f"rot-{r}-{o}",
                relationship_id=rid,
            )
            if rng.random() < 0.5:
                add(
                    "RotationDebriefed",
                    rng.randint(100, 300),
                    rotation_id=f"rot-{r}-{o}",
                    relationship_id=rid,
                )
        add(
            "SessionHeld",
            rng.randint(40, 300),
            relationship_id=rid,
            session_id=f"s-{r}",
        )
    return out


def facts_of(seed: int, tenant: str = "t") -> list[Envelope]:
    return [*generate(seed=seed, tenant=tenant).envelopes, *history(seed, tenant)]


def cards(org: scorecard.Org, envelopes: list[Envelope], moment: datetime) -> dict:
    """Every card of every scope the facts name (and a few unknown ones)."""
    mentees = {e.data["person_id"] for e in envelopes if "person_id" in e.data}
    rels = {e.data["relationship_id"] for e in envelopes if "relationship_id" in e.data}
    cohorts = {e.data["cohort_id"] for e in envelopes if e.data.get("cohort_id")}
    out: dict = {("programme", None): scorecard.programme_card(org, moment)}
    for p in sorted(mentees | {"nobody"}):
        out[("mentee", p)] = scorecard.mentee_card(org, p, moment)
    for r in sorted(rels | {"rel-nope"}):
        out[("relationship", r)] = scorecard.relationship_card(org, r, moment)
    for c in sorted(cohorts | {"cohort-nope"}):
        out[("cohort", c)] = scorecard.cohort_card(org, c, moment)
    return out


def as_stored(env: Envelope) -> Envelope:
    """The fact as the facts table gives it back (its moment in UTC)."""
    return replace(env, time=env.time.astimezone(UTC))


# -- in memory ----------------------------------------------------------------------


def test_every_fact_type_the_fold_reads_is_kept():
    """A contract type that changes the fold's organisation has a part to go to."""
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    for kind in CONTRACTS.event_types:
        if kind in scorecard_parts.EVENTS:
            continue
        data = {
            k: "x"
            for k in (
                "person_id",
                "cohort_id",
                "relationship_id",
                "milestone_id",
                "feedback_id",
                "note_id",
                "rotation_id",
            )
        }
        fact = scorecard_parts.Kept("i", kind, moment, {**data, "kind": "journal"})
        try:
            folded = scorecard.fold([fact])
        except (KeyError, TypeError, ValueError):
            folded = None  # it reads fields this fact lacks: it folds something
        assert folded is not None and scorecard_parts.dump(folded) == {}, kind


@pytest.mark.parametrize("seed", range(12))
def test_parts_kept_fact_by_fact_merge_to_the_fold_of_all_facts(seed):
    envelopes = [as_stored(e) for e in facts_of(seed)]
    rows: dict[str, list] = {}
    slices: dict[str, dict] = {}
    for env in shuffled_twice(envelopes, seed):  # each twice, in any order
        key = scorecard_parts.key_of(env.type, env.data)
        if key is None:
            continue
        state = scorecard_parts.with_fact(
            rows.get(key, []),
            scorecard_parts.Kept(env.id, env.type, env.time, env.data),
        )
        if state is not None:
            # Through JSON, as the row keeps it.
            rows[key] = json.loads(json.dumps(state.facts))
            slices[key] = json.loads(json.dumps(state.slice))
    kept = scorecard_parts.assemble(slices.values())
    assert kept is not None
    folded = scorecard.fold(envelopes)
    assert scorecard_parts.dump(kept) == scorecard_parts.dump(folded)
    # The rebuild's fold gives the same rows.
    rebuilt = scorecard_parts.parts_of(
        scorecard_parts.Kept(e.id, e.type, e.time, e.data) for e in envelopes
    )
    assert {k: s.facts for k, s in rebuilt.items()} == rows
    for moment in (
        datetime(2025, 6, 30, 23, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2030, 1, 1, tzinfo=UTC),
    ):
        assert cards(kept, envelopes, moment) == cards(folded, envelopes, moment)


# -- on PostgreSQL -------------------------------------------------------------------


async def folded_cards(service, tenant: str, envelopes, moment: datetime) -> dict:
    async with service.state.runtime.engine.connect() as conn:
        # what had happened by then (effective dates), whenever recorded
        org = scorecard.fold(await fact_log.replay(conn, tenant), until=moment)
    return cards(org, envelopes, moment)


async def answered_now(client, tenant: str, envelopes) -> dict:
    """Every card "now" over HTTP (404 as None), and the moment they answer for."""
    headers = token(tenant, "coordinator")
    out: dict = {}
    moments = set()
    for scope, ident in cards(scorecard.Org(), envelopes, utcnow()):
        path = {
            "programme": "/scorecards/programme",
            "mentee": f"/scorecards/mentees/{ident}",
            "relationship": f"/scorecards/relationships/{ident}",
            "cohort": f"/scorecards/cohorts/{ident}",
        }[scope]
        got = await client.get(path, headers=headers)
        assert got.status_code in (200, 404), got.text
        out[(scope, ident)] = got.json() if got.status_code == 200 else None
        if out[(scope, ident)]:
            moments.add(out[(scope, ident)]["as_of"])
    return out


async def assert_kept_equals_folded(service, client, tenant, envelopes) -> None:
    got = await answered_now(client, tenant, envelopes)
    for key, card in got.items():
        if card is None:
            continue
        moment = datetime.fromisoformat(card["as_of"])
        want = (await folded_cards(service, tenant, envelopes, moment))[key]
        assert json.loads(json.dumps(want, default=str)) == card, key
    # The unknown ones are unknown to the fold too.
    late = await folded_cards(service, tenant, envelopes, utcnow())
    for key, card in got.items():
        if card is None:
            assert late[key] is None, key


async def parts(service) -> list[str]:
    """The rows of ``scorecard_parts`` (the random histories here hold conflicting
    duplicates some other read models keep in arrival order: they are compared with
    a rebuild in ``test_rebuild.py`` on the synthetic organisation)."""
    return (await read_models(service))["scorecard_parts"]


async def test_kept_cards_now_equal_the_fold_of_the_facts(app):  # noqa: F811
    tenant = f"rm-{uuid.uuid4().hex[:8]}"
    envelopes = [*generate(seed=3, tenant=tenant).envelopes, *history(3, tenant)]
    await apply_live(app, shuffled_twice(envelopes, 5))
    async with client_for(app) as client:
        await assert_kept_equals_folded(app, client, tenant, envelopes)
        live = await parts(app)

        # A rebuild gives the same rows.
        await rebuild_now(app)
        assert await parts(app) == live

        # An erasure: the person's own facts go, the rest name a pseudonym.
        erased = "mentee-promoted"
        await apply_live(
            app,
            [
                Envelope(
                    id=str(uuid.uuid4()),
                    source="tandem/profiles",
                    type="PersonErased",
                    subject=erased,
                    time=utcnow(),
                    data={"person_id": erased},
                    tenant=tenant,
                )
            ],
        )
        async with app.state.runtime.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT part, facts, slice FROM scorecard_parts")
                )
            ).all()
        assert rows and erased not in str(rows)
        await assert_kept_equals_folded(app, client, tenant, envelopes)
        gone = await client.get(
            f"/scorecards/mentees/{erased}", headers=token(tenant, "coordinator")
        )
        assert gone.status_code == 404
        erased_live = await parts(app)
        await rebuild_now(app)
        assert await parts(app) == erased_live


async def test_a_fact_dated_after_now_is_not_counted_yet(app):  # noqa: F811
    """Another service's clock ahead of ours: "now" is still the fold of what had
    happened by now. A rating recorded ahead, naming no day of its own, has not
    happened yet; a promotion recorded ahead that took effect last year has (its
    ``effective_on``, issue 20); one taking effect next month has not."""
    tenant = f"rm-{uuid.uuid4().hex[:8]}"
    envelopes = generate(seed=3, tenant=tenant).envelopes
    soon = utcnow() + timedelta(minutes=10)

    def ahead(event_type: str, **data: object) -> Envelope:
        return Envelope(
            id=str(uuid.uuid4()),
            source="tandem/profiles",
            type=event_type,
            subject="mentee-stalled",
            time=soon,
            data=data,
            tenant=tenant,
        )

    later = [
        ahead(
            "FeedbackGiven",
            feedback_id="fb-ahead",
            relationship_id="rel-stalled",
            from_role="mentee",
            about="session",
            subject_id="session-ahead",
            rating=5,
        ),
        ahead(
            "CareerOutcomeRecorded",
            person_id="mentee-stalled",
            kind="role_change",
            effective_on=(soon + timedelta(days=30)).date().isoformat(),
        ),
    ]
    before = None
    async with client_for(app) as client:
        await apply_live(app, envelopes)
        before = (
            await client.get(
                "/scorecards/mentees/mentee-stalled",
                headers=token(tenant, "coordinator"),
            )
        ).json()
    past = ahead(
        "CareerOutcomeRecorded",
        person_id="mentee-stalled",
        kind="promotion",
        effective_on="2025-09-01",
    )
    await apply_live(app, [*later, past])
    async with client_for(app) as client:
        card = (
            await client.get(
                "/scorecards/mentees/mentee-stalled",
                headers=token(tenant, "coordinator"),
            )
        ).json()
        feedback = card["behaviour"]["feedback"]
        assert feedback["count"] == before["behaviour"]["feedback"]["count"]
        assert card["impact"]["role_expanded"] == before["impact"]["role_expanded"]
        assert card["impact"]["promoted"] == before["impact"]["promoted"] + 1
        await assert_kept_equals_folded(app, client, tenant, [*envelopes, *later, past])


async def test_the_migration_folds_the_facts_kept_before_it(postgres_server):
    engine = create_async_engine(postgres_server.create_database(), poolclass=NullPool)
    try:
        await upgrade(engine, "insights", "0003")
        envelopes = [as_stored(e) for e in facts_of(9, "old")]
        async with engine.begin() as conn:
            for env in envelopes:
                await fact_log.record(env, conn)
        await upgrade(engine, "insights")
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT part, facts, slice FROM scorecard_parts")
                )
            ).all()
        kept = scorecard_parts.assemble(json.loads(s) for _, _, s in rows)
        assert kept is not None
        assert scorecard_parts.dump(kept) == scorecard_parts.dump(
            scorecard.fold(envelopes)
        )
        expected = scorecard_parts.parts_of(
            scorecard_parts.Kept(e.id, e.type, e.time, e.data) for e in envelopes
        )
        assert {p: json.loads(f) for p, f, _ in rows} == {
            k: json.loads(json.dumps(s.facts)) for k, s in expected.items()
        }
    finally:
        await engine.dispose()


async def test_a_fact_the_fold_cannot_read_is_kept_and_refuses_nothing(app):  # noqa: F811
    """A fact lacking a field the fold reads is kept (never dead-lettered for the
    read model); the cards "now" then fold the facts, as they always did."""
    tenant = f"rm-{uuid.uuid4().hex[:8]}"
    envelopes = generate(seed=3, tenant=tenant).envelopes
    lacking = Envelope(
        id=str(uuid.uuid4()),
        source="tandem/sessions",
        type="MilestoneAchieved",
        subject="ms-odd",
        time=utcnow(),
        data={
            "milestone_id": "ms-odd",
            "relationship_id": "rel-promoted",
            "achieved_on": "2025-06-01",
        },
        tenant=tenant,
    )
    await apply_live(app, [*envelopes, lacking])
    async with app.state.runtime.engine.connect() as conn:
        kept = (
            await conn.execute(
                text(
                    "SELECT slice FROM scorecard_parts WHERE tenant = :t AND part = :k"
                ),
                {"t": tenant, "k": scorecard_parts.key_of(lacking.type, lacking.data)},
            )
        ).scalar_one()
        assert kept == "null"
        org, _latest = await scorecards_view.organisation(conn, tenant)
        assert org is None  # the read folds the facts instead
        with pytest.raises(KeyError):
            scorecard.fold(await fact_log.replay(conn, tenant))

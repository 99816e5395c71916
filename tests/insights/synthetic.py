"""A synthetic organisation for insights tests, with hand-computed expectations.

``generate(seed, tenant)`` returns the integration events (profiles, matching,
sessions, advisors) of a small organisation and what its scorecards must say. The
seed fixes event ids and the background noise (check-ins, progress updates,
proposals, people at other levels) that must not move any planted figure.

Planted scenarios (all in 2025; people registered 2024-11-01):

* a promotion: ``mentee-promoted`` (level 5, cohort-alpha, admitted 01-15) grows
  strategy 2→4 (target 4) and influence 3→3 (target 4), achieves 2 of 3 milestones
  (one on time), rates 3, 4, 5, writes 2 reflections (plus a session note, a
  mentor's journal and a deleted journal that do not count), debriefs 1 rotation,
  and is promoted 5→6 effective 10-01.
* a stalled pair: ``mentee-stalled`` (level 5, cohort-alpha) misses both
  milestones, ratings fall 4, 3, 2, no reflections, no growth in delegation (2→2).
* a small group: cohort-circle (group programme) with three level-4 mentees sharing
  mentor-3; communication 1→3, 2→3, 3→3 (targets 3, 3, 5); one milestone each
  (on time, late, missed); group-2's role expands, group-3 leaves (11-01).
* a comparison group: peers at level 5 (six comparable: one promoted 08-01, one
  left 07-01, one promoted before the programme began; a seventh left in 2024
  and is not comparable) and only two peers at level 4 (too few to compare).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chassis.envelope import Envelope
from chassis.messaging import OutboundMessage
from tests.insights.synthetic_expected import END, MID, expected

__all__ = ["END", "MID", "SyntheticOrg", "generate", "pick", "shuffled_twice"]


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@dataclass
class SyntheticOrg:
    tenant: str
    envelopes: list[Envelope] = field(default_factory=list)
    expected: dict[str, Any] = field(default_factory=dict)

    def messages(self) -> list[OutboundMessage]:
        """As each producing service publishes them (topic per service)."""
        return [
            OutboundMessage.of(f"tandem.{e.source.split('/')[1]}.v1", e)
            for e in self.envelopes
        ]


class _Builder:
    def __init__(self, seed: int, tenant: str) -> None:
        self.rng = random.Random(seed)
        self.org = SyntheticOrg(tenant)

    def add(
        self, service: str, etype: str, subject: str, day: str, /, **data: Any
    ) -> None:
        # Ids differ per tenant: one organisation can be published as two tenants.
        token = f"{self.org.tenant}/{self.rng.getrandbits(128)}"
        self.org.envelopes.append(
            Envelope(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, token)),
                source=f"tandem/{service}",
                type=etype,
                subject=subject,
                time=at(day, self.rng.randint(8, 17)),
                data=data,
                tenant=self.org.tenant,
            )
        )

    def person(self, pid: str, level: int, roles: list[str]) -> None:
        self.add(
            "profiles",
            "PersonRegistered",
            pid,
            "2024-11-01",
            person_id=pid,
            level=level,
            business_unit="ops",
            function="finance",
            geography="FR",
            time_zone="Europe/Paris",
            roles=roles,
        )

    def intake(self, pid: str, day: str, goals: list[tuple[str, int, int]]) -> None:
        self.add(
            "profiles",
            "IntakeSubmitted",
            pid,
            day,
            person_id=pid,
            goals=[
                {"competency_id": c, "current": cur, "target": tgt}
                for c, cur, tgt in goals
            ],
            hours_per_month=4,
        )

    def outcome(self, pid: str, kind: str, effective: str, recorded: str) -> None:
        self.add(
            "profiles",
            "CareerOutcomeRecorded",
            pid,
            recorded,
            person_id=pid,
            kind=kind,
            effective_on=effective,
        )

    def pair(
        self, n: str, mentor: str, mentee: str, cohort: str, kind: str, start: str
    ):
        self.add(
            "matching",
            "PairingConfirmed",
            f"pair-{n}",
            "2025-01-25" if kind == "standard" else "2025-02-25",
            pairing_id=f"pair-{n}",
            mentor_id=mentor,
            mentee_id=mentee,
            cohort_id=cohort,
            programme_type=kind,
        )
        self.add(
            "sessions",
            "RelationshipStarted",
            f"rel-{n}",
            "2025-01-26" if kind == "standard" else "2025-02-26",
            relationship_id=f"rel-{n}",
            pairing_id=f"pair-{n}",
            mentor_id=mentor,
            mentee_id=mentee,
            cohort_id=cohort,
            kind=kind,
            starts_on=start,
            planned_end_on="2025-12-31",
        )
        for i in range(self.rng.randint(1, 3)):  # noise: check-ins move no figure
            self.add(
                "sessions",
                "CheckInRecorded",
                f"rel-{n}",
                f"2025-0{3 + i}-1{i}",
                check_in_id=f"ci-{n}-{i}",
                relationship_id=f"rel-{n}",
                kind="monthly",
                held_on=f"2025-0{3 + i}-1{i}",
                alignment=self.rng.randint(1, 5),
            )

    def milestone(self, n: str, mid: str, due: str, fate: str, day: str, mentee: str):
        rel = f"rel-{n}"
        self.add(
            "sessions",
            "MilestoneSet",
            mid,
            "2025-02-05",
            milestone_id=mid,
            relationship_id=rel,
            mentee_id=mentee,
            objective_index=0,
            due_on=due,
            criteria=2,
        )
        self.add(
            "sessions",
            "MilestoneProgressed",
            mid,
            "2025-02-20",
            milestone_id=mid,
            relationship_id=rel,
            status=self.rng.choice(["in_progress", "at_risk"]),
        )
        if fate == "missed":
            self.add(
                "sessions",
                "MilestoneMissed",
                mid,
                day,
                milestone_id=mid,
                relationship_id=rel,
                due_on=due,
            )
        else:
            self.add(
                "sessions",
                "MilestoneAchieved",
                mid,
                day,
                milestone_id=mid,
                relationship_id=rel,
                mentee_id=mentee,
                confirmed_by="mentor",
                confirmer_role="mentor",
                achieved_on=day,
                on_time=fate == "on_time",
            )

    def feedback(self, n: str, ratings: list[tuple[str, int]]) -> None:
        for i, (day, rating) in enumerate(ratings):
            self.add(
                "sessions",
                "FeedbackGiven",
                f"fb-{n}-{i}",
                day,
                feedback_id=f"fb-{n}-{i}",
                relationship_id=f"rel-{n}",
                from_role=self.rng.choice(["mentor", "mentee"]),
                about="session",
                subject_id=f"session-{n}-{i}",
                rating=rating,
            )

    def note(self, n: str, note: str, author: str, kind: str, day: str) -> None:
        self.add(
            "sessions",
            "NoteWritten",
            note,
            day,
            note_id=note,
            relationship_id=f"rel-{n}",
            author_id=author,
            kind=kind,
            visibility="private",
        )


def generate(seed: int = 7, tenant: str = "acme") -> SyntheticOrg:
    """The planted organisation (see the module docstring) and its expectations."""
    b = _Builder(seed, tenant)
    for m, level in (("mentor-1", 8), ("mentor-2", 8), ("mentor-3", 9)):
        b.person(m, level, ["mentor"])
    for p in ("mentee-promoted", "mentee-stalled"):
        b.person(p, 5, ["mentee"])
    for i in (1, 2, 3):
        b.person(f"group-{i}", 4, ["mentee"])
    for i in range(1, 8):
        b.person(f"peer-5-{i}", 5, [])
    for i in (1, 2):
        b.person(f"peer-4-{i}", 4, [])
    for i in range(b.rng.randint(1, 4)):  # noise: people at a level nobody compares
        b.person(f"peer-9-{i}", 9, [])
    b.outcome("peer-5-7", "departure", "2024-12-01", "2024-12-02")
    b.outcome("peer-5-3", "promotion", "2024-12-15", "2024-12-16")
    b.add(
        "advisors",
        "AdvisorProposed",
        "adv-1",
        "2025-01-03",
        advisor_id="adv-1",
        expertise_sought=["strategy"],
        proposed_by="coordinator-1",
    )

    for cohort, kind in (("cohort-alpha", "standard"), ("cohort-circle", "group")):
        b.add("profiles", "CohortCreated", cohort, "2025-01-05", cohort_id=cohort,
              name=cohort, capacity=10, programme_type=kind)  # fmt: skip
    b.intake("mentee-promoted", "2025-01-10", [("strategy", 2, 4), ("influence", 3, 4)])
    b.intake("mentee-stalled", "2025-01-12", [("delegation", 2, 4)])
    for p, role in (
        ("mentee-promoted", "mentee"),
        ("mentee-stalled", "mentee"),
        ("mentor-1", "mentor"),
        ("mentor-2", "mentor"),
    ):
        b.add(
            "profiles",
            "ParticipantAdmitted",
            p,
            "2025-01-15",
            cohort_id="cohort-alpha",
            person_id=p,
            role=role,
        )
    for n, mentor in (("promoted", "mentor-1"), ("stalled", "mentor-2")):
        b.pair(n, mentor, f"mentee-{n}", "cohort-alpha", "standard", "2025-02-01")

    # The promotion.
    mp = "mentee-promoted"
    b.milestone("promoted", "ms-p1", "2025-03-31", "on_time", "2025-03-20", mp)
    b.milestone("promoted", "ms-p2", "2025-05-31", "late", "2025-06-10", mp)
    b.milestone("promoted", "ms-p3", "2025-07-31", "missed", "2025-08-01", mp)
    b.feedback("promoted", [("2025-02-15", 3), ("2025-03-15", 4), ("2025-04-15", 5)])
    b.note("promoted", "n-p1", mp, "journal", "2025-02-20")
    b.note("promoted", "n-p2", mp, "after_action_review", "2025-04-20")
    b.note("promoted", "n-p3", mp, "session_note", "2025-03-01")
    b.note("promoted", "n-p4", "mentor-1", "journal", "2025-03-02")
    b.note("promoted", "n-p5", mp, "journal", "2025-05-01")
    b.add(
        "sessions",
        "NoteDeleted",
        "n-p5",
        "2025-05-02",
        note_id="n-p5",
        relationship_id="rel-promoted",
    )
    b.add(
        "sessions",
        "RotationAssigned",
        "rot-p1",
        "2025-04-01",
        rotation_id="rot-p1",
        relationship_id="rel-promoted",
        mentee_id=mp,
        host_id="host-1",
        starts_on="2025-04-07",
        ends_on="2025-04-25",
        project_kind="market_entry",
    )
    b.add(
        "sessions",
        "RotationDebriefed",
        "rot-p1",
        "2025-05-01",
        rotation_id="rot-p1",
        relationship_id="rel-promoted",
        goal_competency_ids=["strategy"],
    )
    b.intake(mp, "2025-09-01", [("strategy", 4, 4), ("influence", 3, 4)])
    b.add(
        "profiles",
        "CareerOutcomeRecorded",
        mp,
        "2025-10-02",
        person_id=mp,
        kind="promotion",
        from_level=5,
        to_level=6,
        effective_on="2025-10-01",
    )

    # The stalled pair.
    ms = "mentee-stalled"
    b.milestone("stalled", "ms-s1", "2025-03-31", "missed", "2025-04-01", ms)
    b.milestone("stalled", "ms-s2", "2025-05-31", "missed", "2025-06-01", ms)
    b.feedback("stalled", [("2025-02-20", 4), ("2025-03-20", 3), ("2025-04-20", 2)])
    b.intake(ms, "2025-09-02", [("delegation", 2, 4)])

    # The small group.
    for i, (cur, tgt, fate, day) in enumerate(
        [
            (1, 3, "on_time", "2025-06-20"),
            (2, 3, "late", "2025-07-05"),
            (3, 5, "missed", "2025-07-01"),
        ],
        start=1,
    ):
        g = f"group-{i}"
        b.intake(g, "2025-02-10", [("communication", cur, tgt)])
        b.add(
            "profiles",
            "ParticipantAdmitted",
            g,
            "2025-02-20",
            cohort_id="cohort-circle",
            person_id=g,
            role="mentee",
        )
        b.pair(f"group-{i}", "mentor-3", g, "cohort-circle", "group", "2025-03-01")
        b.milestone(f"group-{i}", f"ms-g{i}", "2025-06-30", fate, day, g)
        b.intake(g, "2025-09-05", [("communication", 3, tgt)])
    b.feedback("group-1", [("2025-04-10", 4), ("2025-05-10", 5)])
    b.outcome("group-2", "role_change", "2025-09-15", "2025-09-16")
    b.outcome("group-3", "departure", "2025-11-01", "2025-11-02")

    # The comparison group's outcomes inside the programme's window.
    b.outcome("peer-5-1", "promotion", "2025-08-01", "2025-08-02")
    b.outcome("peer-5-2", "departure", "2025-07-01", "2025-07-02")

    b.org.expected = expected()
    return b.org


def pick(card: dict[str, Any], dotted: str) -> Any:
    """``card["a"]["b"]`` for ``"a.b"``."""
    value: Any = card
    for key in dotted.split("."):
        value = None if value is None else value[key]
    return value


def shuffled_twice(messages: list[Any], seed: int) -> list[Any]:
    """Every message delivered twice, in an order shuffled across streams."""
    doubled = list(messages) * 2
    random.Random(seed).shuffle(doubled)
    return doubled

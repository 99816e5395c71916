"""The matching workflow's invariants, over any sequence of its commands.

A Hypothesis state machine drives the service through its HTTP API: start a round
(with pins, good or bad), re-run one (the same), approve, accept (as the mentee or
the mentor), decline, withdraw, end, and a mentor changing their capacity (the
profiles event), in any order. After every step:

- no mentor holds more live pairings than seats while any of them is still open (a
  mentor who lowers their capacity keeps pairings already confirmed, nothing else);
- no mentee holds two live pairings in the cohort;
- a refused command answered a typed 4xx and changed nothing (pairings, who
  accepted, and the count of every kind of event are as they were).

It runs on SQLite with the in-process bus (the embedded mode), where the machine
stays fast; the races themselves are run on PostgreSQL in
``test_matching_concurrency.py``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from services.matching.main import build_app
from services.matching.settings import Settings
from tests.apps import serving
from tests.invariants.matching_helpers import (
    Org,
    build_org,
    capacities,
    doubly_paired,
    over_capacity,
    pairings,
    set_capacity,
    snapshot,
)

TYPED = {"RoundInProgress", "CapacityExceeded", "InvalidTransition", "PinsRefused",
         "MenteeAlreadyPaired", "NothingToMatch", "RoundNotFinished", "NotAParty",
         "ProposalExpired", "NotFound", "ConcurrencyConflict"}  # fmt: skip
STRANGER = "stranger-" + uuid.uuid4().hex[:8]  # in no cohort
PINS = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2)), max_size=2)


class MatchingWorkflow(RuleBasedStateMachine):
    """One cohort (two mentors, one and two seats; four mentees) per example."""

    loop: asyncio.AbstractEventLoop
    app: object
    client: object
    seen: Counter[str] = Counter()  # what the commands answered, over all examples

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    @initialize()
    def cohort(self) -> None:
        self.org: Org = self.run(build_org(self.app, seats=[1, 2], mentees=4))
        self.seen["(examples)"] += 1
        self.paired = False  # any pairing yet (the pairing commands need one)
        self.rounds: list[str] = []
        self.refused = 0

    # -- helpers ---------------------------------------------------------------------

    def pins(self, chosen: list[tuple[int, int]]) -> list[dict[str, str]]:
        mentees = [*self.org.mentees, STRANGER]
        mentors = [*self.org.mentors, STRANGER]
        return [{"mentee_id": mentees[e], "mentor_id": mentors[r]} for e, r in chosen]

    def send(self, path: str, body: dict | None = None, headers=None):
        """POST, and hold a refusal to its promise: typed, and nothing changed."""
        before = self.run(snapshot(self.app, self.org.tenant))
        resp = self.run(
            self.client.post(path, json=body, headers=headers or self.org.coordinator)
        )
        assert resp.status_code < 500, resp.text
        action = path.rsplit("/", 1)[-1].split("?")[0]
        code = resp.json().get("code", "ok") if resp.status_code >= 400 else "ok"
        self.seen[f"{action}: {code}"] += 1
        if resp.status_code >= 400:
            assert resp.json()["code"] in TYPED, resp.text
            assert self.run(snapshot(self.app, self.org.tenant)) == before, (
                f"refused {path} changed something: {resp.text}"
            )
            self.refused += 1
        return resp

    def pairing(self, which: int, *states: str):
        """A pairing, mostly one in ``states`` (where the command applies), now and
        then any other (where it must be refused)."""
        rows = self.run(pairings(self.app, self.org.tenant))
        fitting = [r for r in rows if r.state in states]
        pick = fitting if fitting and which % 5 else rows
        return pick[which % len(pick)] if pick else None

    # -- commands --------------------------------------------------------------------

    @rule(chosen=PINS)
    def start_round(self, chosen) -> None:
        body = {"cohort_id": self.org.cohort, "pins": self.pins(chosen)}
        resp = self.send("/rounds?wait=true", body)
        if resp.status_code == 202:
            self.rounds.append(resp.json()["round_id"])

    @precondition(lambda self: self.rounds)
    @rule(which=st.integers(0, 10), chosen=PINS)
    def rerun(self, which, chosen) -> None:
        round_id = self.rounds[which % len(self.rounds)]
        resp = self.send(f"/rounds/{round_id}/rerun", {"pins": self.pins(chosen)})
        if resp.status_code == 200:
            self.rounds.append(resp.json()["round_id"])

    @precondition(lambda self: self.paired)
    @rule(which=st.integers(0, 20))
    def approve(self, which) -> None:
        if (p := self.pairing(which, "proposed")) is not None:
            self.send(f"/pairings/{p.pairing_id}/approve")

    @precondition(lambda self: self.paired)
    @rule(which=st.integers(0, 20), sides=st.sampled_from(["e", "r", "er", "re"]))
    def accept(self, which, sides) -> None:
        """One side accepts, or both one after the other (each a command)."""
        if (p := self.pairing(which, "approved")) is None:
            return
        for side in sides:
            who = p.mentee_id if side == "e" else p.mentor_id
            if len(sides) == 1 and who in json.loads(p.accepted_by):
                who = p.mentor_id if side == "e" else p.mentee_id  # the other one
            self.send(f"/pairings/{p.pairing_id}/accept", headers=self.org.person(who))

    @precondition(lambda self: self.paired)
    @rule(which=st.integers(0, 20), mentee=st.booleans())
    def decline(self, which, mentee) -> None:
        if (p := self.pairing(which, "proposed", "approved")) is not None:
            who = p.mentee_id if mentee else p.mentor_id
            self.send(
                f"/pairings/{p.pairing_id}/decline",
                {"reason": "not now"},
                headers=self.org.person(who),
            )

    @precondition(lambda self: self.paired)
    @rule(which=st.integers(0, 20))
    def withdraw(self, which) -> None:
        if (p := self.pairing(which, "proposed", "approved")) is not None:
            self.send(f"/pairings/{p.pairing_id}/withdraw", {"reason": "override"})

    @precondition(lambda self: self.paired)
    @rule(which=st.integers(0, 20))
    def end(self, which) -> None:
        if (p := self.pairing(which, "confirmed")) is not None:
            self.send(f"/pairings/{p.pairing_id}/end", {"reason": "concluded"})

    @rule(mentor=st.integers(0, 1), seats=st.integers(0, 3))
    def change_capacity(self, mentor, seats) -> None:
        self.run(set_capacity(self.app, self.org, self.org.mentors[mentor], seats))

    # -- after every step ------------------------------------------------------------

    @invariant()
    def within_seats_and_one_pairing_each(self) -> None:
        if not hasattr(self, "org"):
            return
        self.seen["(steps)"] += 1
        rows = self.run(pairings(self.app, self.org.tenant))
        self.paired = bool(rows)
        seats = self.run(capacities(self.app, self.org.tenant))
        assert over_capacity(rows, seats) == {}, (rows, seats)
        assert doubly_paired(rows) == {}, rows


def test_the_matching_workflow_keeps_its_invariants(sqlite_url):
    loop = asyncio.new_event_loop()
    service = build_app(Settings(environment="test", database_url=sqlite_url))
    serving_ctx = serving(service, "matching")
    client = loop.run_until_complete(serving_ctx.__aenter__())
    MatchingWorkflow.loop, MatchingWorkflow.app = loop, service
    MatchingWorkflow.client = client
    try:
        run_state_machine_as_test(
            MatchingWorkflow,
            settings=settings(
                max_examples=25,
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    finally:
        loop.run_until_complete(serving_ctx.__aexit__(None, None, None))
        loop.close()
    seen = MatchingWorkflow.seen
    print(sorted(seen.items()))
    # The machine reached the interesting places: confirmations and refusals.
    assert seen["accept: ok"] >= 2, seen
    assert seen["rerun: PinsRefused"] and seen["rounds: PinsRefused"], seen

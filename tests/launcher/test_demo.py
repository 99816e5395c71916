"""The demo organisation ``./tandem up`` seeds (embedded mode: SQLite, in-process bus).

Seeded once for the module, as a new user's first ``./tandem up`` does (the platform
also served over HTTP on loopback, as ``./tandem up`` serves it, so that the demo's
webhook endpoint, the demo integrator it serves itself, receives its messages), then
asked what a coordinator would look at first: the stalled pair among the early
warnings, the promotion in the business impact, the suppressed small group, a
person's notification inbox, the webhook deliveries, the GraphiQL examples, and the
sign-in tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import re
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from standardwebhooks.webhooks import Webhook

from gateway.graphiql import EXAMPLES
from launcher import cli
from launcher.demo import STEPS, DemoFacts, load_facts, seed_demo
from launcher.demo import organisation as org
from launcher.demo.api import Api
from launcher.demo.facts import example_variables
from launcher.demo.integrator import HOOK, PATH, DemoIntegrator
from launcher.demo.past import past_document
from launcher.demo.seed import import_history, local_id
from launcher.embedded import build_platform
from tests.support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Demo:
    app: Any
    client: httpx.AsyncClient
    facts: DemoFacts
    data: Path
    steps: list[tuple[str, int, int]]
    healthy_while_seeding: bool

    async def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, role: str
    ) -> dict[str, Any]:
        token = self.facts.user(role).token
        answer = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]


def gid(type_name: str, local: str) -> str:
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Demo]:
    data = tmp_path_factory.mktemp("demo")
    app = build_platform(data)
    steps: list[tuple[str, int, int]] = []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    # Served over HTTP too (its lifespan is the one below): webhooks go out for real.
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
        )
    )
    async with app.router.lifespan_context(app):
        serving = asyncio.create_task(server.serve())
        await until(lambda: server.started, "the platform to listen", 30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://tandem", timeout=120
        ) as client:
            started = time.monotonic()
            seeding = asyncio.create_task(
                seed_demo(
                    client,
                    progress=lambda *step: steps.append(step),
                    integrator=app.state.integrator,
                    served_at=f"http://127.0.0.1:{port}",
                )
            )
            await until(
                lambda: steps or seeding.done(),
                "the first seeding step",
                600,
                interval_s=0.01,
            )
            health = await client.get("/healthz")
            healthy = health.status_code == 200 and not seeding.done()
            facts = await seeding
            print(f"seeded the demo in {time.monotonic() - started:.1f} s")
            facts.save(data)
            try:
                yield Demo(app, client, facts, data, steps, healthy)
            finally:
                server.should_exit = True
                await serving


async def test_seeding_reports_every_step_and_keeps_the_platform_answering(demo):
    assert demo.healthy_while_seeding
    finished = [step for step, done, total in demo.steps if done == total]
    assert [s for s in STEPS if s in finished] == list(STEPS)
    lines = io.StringIO()
    bar = cli.ProgressBar(lines)
    for step in demo.steps:
        bar(*step)
    printed = lines.getvalue().splitlines()
    assert len(printed) == len(finished)  # one line per finished step
    assert f"[ 1/{len(STEPS)}] competencies" in printed[0] and printed[0].endswith(
        "10/10"
    )


async def test_the_organisation_is_realistic(demo):
    facts = demo.facts
    assert facts.counts["people"] >= 300
    assert facts.counts["pairs"] >= 30 and facts.counts["sessions_held"] >= 100
    assert {tuple(u.roles) for u in facts.users} >= {
        ("admin", "sponsor"),
        ("coordinator",),
        ("mentee",),
        ("mentor",),
    }
    data = await demo.graphql(
        """{ cohorts(first: 10) { edges { node { name programmeType seatsTaken } } }
             advisors(first: 10, status: APPROVED) { edges { node { name
               checks { status } } } }
             people(first: 100, businessUnit: "Technology") { edges { node {
               geography } } } }""",
        role="coordinator",
    )
    cohorts = {e["node"]["name"]: e["node"] for e in data["cohorts"]["edges"]}
    assert set(cohorts) == set(facts.cohort_names.values())
    assert cohorts["Reverse Mentoring: Digital & Culture"]["programmeType"] == "REVERSE"
    advisors = [e["node"] for e in data["advisors"]["edges"]]
    assert len(advisors) >= 3
    assert all(c["status"] == "PASSED" for a in advisors for c in a["checks"])
    countries = {e["node"]["geography"] for e in data["people"]["edges"]}
    assert len(countries) >= 3


async def test_advisors_log_hours_against_their_agreements(demo):
    facts = demo.facts
    data = await demo.graphql(
        """{ programmeOperations { asOf advisorHours }
             advisors(first: 10, status: APPROVED) { edges { node { name
               agreements { id advisorId status startsOn hoursPerMonth
                 usage { totalMinutes } } } } } }""",
        role="sponsor",
    )
    today = data["programmeOperations"]["asOf"]
    signed: dict[str, tuple[str, int]] = {}  # agreement id → advisor, minutes
    for edge in data["advisors"]["edges"]:
        (agreement,) = edge["node"]["agreements"]  # one each, begun months ago
        local = facts.agreements[agreement["advisorId"]]
        assert agreement["id"] == gid("Agreement", local)
        assert agreement["status"] == "ACTIVE"
        assert agreement["startsOn"] < f"{today[:7]}-01"
        signed[local] = edge["node"]["name"], agreement["usage"]["totalMinutes"]
    assert len(signed) == len(facts.advisors) == 3
    rows = data["programmeOperations"]["advisorHours"]
    assert {r["agreement_id"] for r in rows} == set(signed)
    for row in rows:  # insights sums the same hours the advisors service holds
        assert row["hours_logged"] == round(signed[row["agreement_id"]][1] / 60, 2)
        assert 0 < row["hours_logged"] <= row["hours_contracted"]
    total = sum(r["hours_logged"] for r in rows)
    assert round(total * 60) == facts.counts["advisor_minutes"]
    near = [signed[r["agreement_id"]][0] for r in rows if r["usage"] >= 0.9]
    assert near == ["Ingrid Solberg"]  # close to the limit; the others well under
    assert all(r["usage"] < 0.75 for r in rows if r["usage"] < 0.9)


async def test_first_round_confirmed_second_round_awaits_approval(demo):
    facts = demo.facts
    query = """query($r: ID!) { pairings(roundId: $r, first: 100) { edges { node {
      status } } } }"""
    statuses = {}
    for key, round_id in facts.rounds.items():
        data = await demo.graphql(
            query, {"r": gid("MatchingRound", round_id)}, role="coordinator"
        )
        statuses[key] = {e["node"]["status"] for e in data["pairings"]["edges"]}
    assert statuses["leadership"] == {"CONFIRMED"}
    assert statuses["reverse"] == {"PROPOSED"}
    assert facts.round_id == facts.rounds["reverse"]


async def test_the_stalled_pair_is_at_risk_with_its_reason(demo):
    facts = demo.facts
    data = await demo.graphql(
        """{ earlyWarnings(first: 50) { edges { node { relationshipId state reasons
             idle mentee { id } mentor { id } } } } }""",
        role="coordinator",
    )
    warnings = [e["node"] for e in data["earlyWarnings"]["edges"]]
    at_risk = [w for w in warnings if w["state"] == "AT_RISK"]
    assert [w["relationshipId"] for w in at_risk] == [facts.stalled_relationship_id]
    stalled = at_risk[0]
    assert stalled["idle"] is True
    reasons = " ".join(stalled["reasons"])
    assert re.search(r"no_session_for_\d+_days", reasons), reasons
    assert re.search(r"idle_for_\d+_days", reasons), reasons
    assert stalled["mentee"]["id"] == gid("Person", facts.stalled_mentee.person_id)
    assert stalled["mentor"]["id"] == gid("Person", facts.stalled_mentor.person_id)
    one = await demo.graphql(
        """query($r: ID!) { relationshipHealth(relationshipId: $r) {
             state daysSinceSession } }""",
        {"r": gid("Relationship", facts.stalled_relationship_id)},
        role="coordinator",
    )
    assert one["relationshipHealth"]["state"] == "AT_RISK"
    assert one["relationshipHealth"]["daysSinceSession"] > 100  # four months of silence


async def test_the_early_warning_puts_a_re_pairing_on_the_coordinators_desk(demo):
    mentee = gid("Person", demo.facts.stalled_mentee.person_id)
    query = """query($p: ID) { pairings(personId: $p, status: PROPOSED) { edges {
      node { replaces { id } } } } }"""

    async def proposed() -> list[dict]:
        data = await demo.graphql(query, {"p": mentee}, role="coordinator")
        return [e["node"] for e in data["pairings"]["edges"]]

    # matching acts on insights' warning asynchronously, once the pair's history is
    # written (insights holds warnings meanwhile: EMBEDDED in launcher/embedded.py)
    proposals = await until(
        proposed, "a re-pairing proposed for the stalled mentee", 150, interval_s=0.2
    )
    assert proposals[0]["replaces"]["id"] == gid(
        "Pairing", demo.facts.stalled_relationship_id
    )


async def test_the_promotion_counts_in_the_business_impact(demo):
    promoted = gid("Person", demo.facts.promoted.person_id)
    data = await demo.graphql(
        """query($m: ID!) {
             menteeScorecard(menteeId: $m) { businessImpact { participants {
               promoted } } mentee { level } }
             programmeScorecard { businessImpact { participants { promoted }
               comparison { people } lift { promotionRate } } } }""",
        {"m": promoted},
        role="sponsor",
    )
    mine = data["menteeScorecard"]
    assert mine["businessImpact"]["participants"]["promoted"] == 1
    programme = data["programmeScorecard"]["businessImpact"]
    # Today's promotion, and last year's cohort's mentees promoted (history).
    past = demo.facts.counts["past_promotions"]
    assert past > 0
    assert programme["participants"]["promoted"] == 1 + past
    assert programme["comparison"]["people"] >= 5
    assert programme["lift"]["promotionRate"] > 0


async def test_the_small_group_is_suppressed_in_equity(demo):
    group = demo.facts.suppressed_group
    data = await demo.graphql(
        """query($d: String!) { equityReport(dimension: $d) { k groups { group
             suppressed participants matchRate } } }""",
        {"d": group["dimension"]},
        role="sponsor",
    )
    groups = {g["group"]: g for g in data["equityReport"]["groups"]}
    small = groups[group["value"]]
    assert small["suppressed"] is True
    assert small["participants"] is None and small["matchRate"] is None
    # Complementary suppression withholds more units with it (so the small one
    # cannot be derived from a total), and small units near k may be withheld by
    # their keyed threshold (docs/privacy.md); the rest are shown with figures.
    others = [g for name, g in groups.items() if name != group["value"]]
    shown = [g for g in others if not g["suppressed"]]
    assert shown and all(g["participants"] is not None for g in shown)
    assert any(g["suppressed"] for g in others)


async def test_every_example_query_runs_against_the_demo(demo):
    variables = example_variables(demo.facts)
    for example in EXAMPLES:
        wanted = {name: variables[name] for name in example.variables}
        # As GraphiQL opens the tab: signed in as the demo user the example names.
        data = await demo.graphql(example.query, wanted, role=example.role)
        assert all(value is not None for value in data.values()), example.title
    for title, query in cli.EXAMPLES:  # the ones ./tandem up prints
        data = await demo.graphql(query, role="coordinator")
        assert all(value is not None for value in data.values()), title
    page = await demo.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    for example in EXAMPLES:
        assert json.dumps(example.title) in page.text


async def test_dev_tokens_sign_in_the_demo_users(demo):
    answer = (await demo.client.get("/dev/tokens")).json()
    assert answer["tenant"] == "demo"
    assert answer["variables"] == example_variables(demo.facts)
    mentee = next(u for u in answer["users"] if u["roles"] == ["mentee"])
    me = await demo.client.post(
        "/graphql",
        json={"query": "{ me { id givenName familyName } }"},
        headers={"Authorization": f"Bearer {mentee['token']}"},
    )
    person = me.json()["data"]["me"]
    assert person["id"] == gid("Person", mentee["personId"])
    assert f"{person['givenName']} {person['familyName']}" == mentee["name"]
    # Only the embedded platform has it: not the gateway, not a service.
    for app in (demo.app.state.gateway, *demo.app.state.apps.values()):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://x"
        ) as c:
            assert (await c.get("/dev/tokens")).status_code == 404


async def test_dev_tokens_is_not_found_before_seeding(tmp_path):
    app = build_platform(tmp_path)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://tandem"
    ) as c:
        assert (await c.get("/dev/tokens")).status_code == 404


async def test_a_second_up_on_the_same_folder_does_not_seed_again(demo, capsys):
    before = json.loads((demo.data / "demo.json").read_text())
    args = argparse.Namespace(no_seed=False, seed=7)
    await cli.prepare(demo.app, demo.data, args, False, "http://127.0.0.1:8000")
    out = capsys.readouterr().out
    assert "already seeded" in out
    assert demo.facts.stalled_mentee.name in out
    assert json.loads((demo.data / "demo.json").read_text()) == before
    again = load_facts(demo.data)
    assert again is not None and again.cohorts == demo.facts.cohorts
    data = await demo.graphql("{ cohorts(first: 10) { edges { node { id } } } }",
                              role="coordinator")  # fmt: skip
    assert len(data["cohorts"]["edges"]) == len(demo.facts.cohorts) == 5


# -- last year's cohort (a programme history) ------------------------------------------

PAST_CARD = """query($c: ID!, $on: Date) { cohort(id: $c) { name }
  cohortScorecard(cohortId: $c, asOf: $on) { menteeCount
    behaviouralChange { milestones { set due achieved missed }
      feedback { count mean } }
    businessImpact { participants { people promoted } } } }"""
PAST_PAIR = """query($r: ID!) { node(id: $r) { ... on Relationship { status startsOn
  cohort { name } sessions(first: 100) { edges { node { state } } } } } }"""
IMPACT = """query($m: ID!, $q: String!) { mentorImpact(mentorId: $m, quarter: $q) {
  quarter sessionsHeld sessionsExpected activeDays } }"""


async def test_last_years_cohort_is_scored_as_of_its_end(demo):
    facts = demo.facts
    variables = example_variables(facts)
    data = await demo.graphql(
        PAST_CARD,
        {"c": variables["pastCohortId"], "on": variables["pastEndsOn"]},
        role="sponsor",
    )
    assert data["cohort"]["name"] == facts.cohort_names["past"]
    card = data["cohortScorecard"]
    assert card["menteeCount"] == len(org.organisation(facts.seed).alumni)
    milestones = card["behaviouralChange"]["milestones"]
    assert milestones["achieved"] > 0 and milestones["missed"] > 0
    assert card["behaviouralChange"]["feedback"]["count"] > 0
    # All but one of the promotions came before the cohort ended.
    assert card["businessImpact"]["participants"]["promoted"] == (
        facts.counts["past_promotions"] - 1
    )
    # Its sessions were held on their days; the pair that did not work ended early.
    early = (
        await demo.graphql(
            PAST_PAIR,
            {"r": gid("Relationship", facts.past_relationship_id)},
            role="coordinator",
        )
    )["node"]
    assert early["cohort"]["name"] == facts.cohort_names["past"]
    assert early["status"] != "ACTIVE"
    assert early["startsOn"] > facts.past_starts_on
    states = Counter(e["node"]["state"] for e in early["sessions"]["edges"])
    assert states["HELD"] > 0
    assert facts.counts["past_sessions_held"] > 100


async def test_mentor_impact_in_each_of_the_last_three_quarters(demo):
    facts = demo.facts
    variables = example_variables(facts)
    assert facts.impact_mentor is not None
    quarters = [variables[f"quarter{n}"] for n in (1, 2, 3)]
    assert quarters == facts.past_quarters and len(set(quarters)) == 3
    for quarter in quarters:
        report = (
            await demo.graphql(
                IMPACT, {"m": variables["mentorId"], "q": quarter}, role="sponsor"
            )
        )["mentorImpact"]
        assert report["quarter"] == quarter
        assert report["sessionsHeld"] > 0, report
        assert report["activeDays"] > 0, report


async def test_importing_last_years_cohort_again_changes_nothing(demo):
    """The document is the seed's and the seeding day's: imported again, every
    record answers UNCHANGED and nothing is added."""
    facts = demo.facts
    past = past_document(
        org.organisation(facts.seed),
        facts.seed,
        date.fromisoformat(facts.history_anchor),
    )
    coordinator = demo.facts.user("coordinator").token
    report = await import_history(Api(demo.client), coordinator, past.document)
    assert report["status"] == "SUCCEEDED"
    assert {r["outcome"] for r in report["records"]} == {"UNCHANGED"}
    assert len(report["records"]) == sum(
        len(v) for v in past.document.values() if isinstance(v, list)
    ) + len(past.document["pairings"])  # each pairing's contract is a record too


# -- notifications and webhooks --------------------------------------------------------

INBOX = """{ myNotifications(first: 100) { unreadCount
  edges { node { id kind read readAt subjectId } } } }"""
ENDPOINTS = """{ webhookEndpoints { id url description enabled eventTypes } }"""
DELIVERIES = """query($e: ID!) { webhookDeliveries(endpoint: $e, first: 50) {
  id eventType status attempts sentAt log { statusCode error } } }"""


async def test_the_demo_pair_have_notifications_some_read(demo):
    """The demo mentee and mentor were told of their pairing and sessions; the
    seeding read all but their newest three."""
    assert demo.facts.counts["notifications_read"] > 0
    for role in ("mentee", "mentor"):
        inbox = (await demo.graphql(INBOX, role=role))["myNotifications"]
        items = [e["node"] for e in inbox["edges"]]
        kinds = {n["kind"] for n in items}
        assert {"PAIRING_PROPOSED", "PAIRING_APPROVED", "PAIRING_CONFIRMED"} <= kinds
        read = [n for n in items if n["read"]]
        unread = [n for n in items if not n["read"]]
        assert read and unread, (role, inbox)
        assert all(n["readAt"] for n in read)
        assert inbox["unreadCount"] == len(unread) >= 3
    # The mentee's sessions were scheduled by their mentor: the mentee is told.
    mentee = (await demo.graphql(INBOX, role="mentee"))["myNotifications"]
    assert "SESSION_SCHEDULED" in {e["node"]["kind"] for e in mentee["edges"]}


async def test_the_demo_webhook_endpoint_has_deliveries_one_retried(demo):
    facts = demo.facts
    endpoints = (await demo.graphql(ENDPOINTS, role="admin"))["webhookEndpoints"]
    [endpoint] = endpoints
    assert endpoint["id"] == gid("WebhookEndpoint", facts.webhook_endpoint_id)
    assert endpoint["url"] == facts.webhook_url
    assert facts.webhook_url.endswith(PATH + HOOK)
    assert endpoint["enabled"]
    assert set(endpoint["eventTypes"]) == {
        "PAIRING_PROPOSED",
        "PAIRING_APPROVED",
        "PAIRING_CONFIRMED",
        "RELATIONSHIP_EARLY_WARNING",
    }
    log = (await demo.graphql(DELIVERIES, {"e": endpoint["id"]}, role="admin"))[
        "webhookDeliveries"
    ]
    sent = [d for d in log if d["status"] == "SENT"]
    assert len(sent) >= facts.counts["webhook_deliveries"] > 0
    assert {d["eventType"] for d in sent} >= {"PAIRING_PROPOSED"}
    # One message was refused once by the integrator, then delivered on its retry.
    retried = [d for d in sent if d["attempts"] > 1]
    assert len(retried) == facts.counts["webhook_retried"] == 1
    assert [a["statusCode"] for a in retried[0]["log"]] == [503, 204]
    assert all(a["statusCode"] == 204 for d in sent for a in d["log"][-1:])
    # The integrator verified every message it kept, and kept each once.
    received = (await demo.client.get(PATH + HOOK)).json()
    assert received["verifying"] and received["rejected"] == 0
    assert received["received"] >= len(sent) and received["retried"] >= 1
    kept = {m["webhookId"] for m in received["messages"] if m["accepted"]}
    assert {local_id(d["id"]) for d in sent} <= kept
    # A coordinator is not an integrator: the endpoints are the admins'.
    refused = await demo.client.post(
        "/graphql",
        json={"query": ENDPOINTS},
        headers={"Authorization": f"Bearer {facts.user('coordinator').token}"},
    )
    assert refused.json().get("errors")


async def test_the_demo_integrator_verifies_signatures(demo):
    """It accepts what the Standard Webhooks library signs with the endpoint's
    secret, refuses a forged or stale message, and keeps a message once."""
    secret = demo.facts.webhook_secret
    integrator = DemoIntegrator(secret=secret)
    body = json.dumps({"type": "pairing.proposed", "data": {}})
    now = int(time.time())
    signed = Webhook(secret).sign("msg_test", datetime_of(now), body)
    headers = {
        "webhook-id": "msg_test",
        "webhook-timestamp": str(now),
        "webhook-signature": signed,
    }
    assert integrator.receive(headers, body.encode()) == 204
    assert integrator.receive(headers, body.encode()) == 204  # the same message
    assert integrator.summary()["received"] == 1
    forged = {**headers, "webhook-signature": "v1," + "A" * 44}
    assert integrator.receive(forged, body.encode()) == 401
    stale = Webhook(secret).sign("msg_old", datetime_of(now - 600), body)
    old = {"webhook-id": "msg_old", "webhook-timestamp": str(now - 600),
           "webhook-signature": stale}  # fmt: skip
    assert integrator.receive(old, body.encode()) == 401
    other = Webhook("whsec_" + base64.b64encode(b"k" * 32).decode())
    wrong = {**headers, "webhook-signature": other.sign("msg_test", datetime_of(now),
                                                        body)}  # fmt: skip
    assert integrator.receive(wrong, body.encode()) == 401
    assert integrator.summary()["rejected"] == 3
    # Over HTTP on the platform: an unsigned post is refused and changes nothing.
    before = (await demo.client.get(PATH + HOOK)).json()["received"]
    answer = await demo.client.post(PATH + HOOK, content=body)
    assert answer.status_code == 401
    assert (await demo.client.get(PATH + HOOK)).json()["received"] == before


async def test_the_demo_integrator_is_served_in_development_only(tmp_path):
    app = build_platform(tmp_path / "test", environment="test")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://tandem"
    ) as c:
        assert (await c.get(PATH + HOOK)).status_code == 404
        assert (await c.post(PATH + HOOK, content=b"{}")).status_code == 404


def datetime_of(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)

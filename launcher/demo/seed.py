"""``seed_demo``: a whole demo organisation, through the platform's public APIs.

Steps (each reported to ``progress(step, done, total)``):

1. competencies, then the HRIS import of 302 people (roles included);
2. mentor profiles with capacity, intakes, and two cohorts: a leadership cohort
   (standard) and a reverse-mentoring cohort (senior executives, junior mentors);
3. three external advisors taken through due diligence and approved, each with an
   agreement begun months ago and the hours logged against it (``agreements.py``);
4. the leadership cohort's matching round: run, approved by the coordinator,
   accepted by both sides, so sessions starts the relationships;
5. months of history per relationship (``history.py``), one pair stalled;
6. one promotion, by a second HRIS import (level up, effective today), and a
   re-assessment of some mentees' skills; then last year's leadership cohort,
   which ran nine months and ended five months ago, imported as a programme
   history (``past.py``) through ``importProgrammeHistory``: its pairings,
   contracts, sessions, milestones, feedback, check-ins and its mentees'
   promotions, each on the day it happened;
7. the reverse cohort's round: run and left proposed for the coordinator;
8. wait until insights shows the stalled pair at risk, counts the promotion,
   has every advisor's hours and scores last year's cohort as of its end;
9. two small cohorts left proposed: directors mentored by the external advisors
   (one declines, with a reason) and a group circle of three with one mentor;
10. notifications: before the reverse round, an integrator registers the webhook
    endpoint of the demo integrator the platform serves itself
    (``integrator.py``), which refuses its first message once (so the delivery log
    shows a retry); at the end the demo mentee and mentor have read all but their
    newest three notifications, and the endpoint's deliveries have gone out.

Deterministic for a seed: the same people, pairs' histories and planted facts (ids
and dates are the services' own and today's).
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from launcher.demo import organisation as org
from launcher.demo.advisors import onboard_advisors
from launcher.demo.agreements import Signed, sign_agreements
from launcher.demo.api import Api, SeedFailed, until
from launcher.demo.facts import (
    TENANT,
    DemoFacts,
    DemoUser,
    Person,
    dev_token,
    global_id,
)
from launcher.demo.history import History, Pair
from launcher.demo.integrator import HOOK, DemoIntegrator
from launcher.demo.integrator import PATH as INTEGRATOR_PATH
from launcher.demo.past import Past, in_quarter, past_document, quarters_before

Progress = Callable[[str, int, int], None]
STEPS = (
    "competencies",
    "HRIS import",
    "mentors and intakes",
    "cohorts",
    "advisors",
    "advisor agreements",
    "leadership round",
    "relationships",
    "history",
    "promotion",
    "skill re-assessments",
    "last year's cohort",
    "webhook endpoint",
    "reverse-mentoring round",
    "insights",
    "external and group rounds",
    "notifications",
)
EXTERNAL_COHORT = "Board Readiness with External Advisors"
GROUP_COHORT = "Graduate Circles"
ADVISED = ("strategy", "finance", "change", "influence")  # the advisors' expertise
DECLINE_REASON = "Our calendars never overlap before the board cycle"
HISTORY_WRITERS = 4  # relationships written at once (each one's steps stay in order)
# The leadership relationships started this long ago (the coordinator's starts_on on
# approval): sessions are held only after their relationship started, and the
# histories (launcher.demo.history) reach back up to 30 weeks.
STARTED_DAYS_AGO = 210
IMPORT_HISTORY = """mutation($i: ImportProgrammeHistoryInput!) {
  importProgrammeHistory(input: $i) { __typename
    ... on ImportProgrammeHistorySuccess { job { id } }
    ... on ValidationError { fields { path message } }
    ... on Error { code message } } }"""
HISTORY_STATUS = """query($id: ID!) { programmeHistoryImport(id: $id) {
  status error } }"""
REGISTER_ENDPOINT = """mutation($i: RegisterWebhookEndpointInput!) {
  registerWebhookEndpoint(input: $i) { __typename
    ... on WebhookSecretSuccess { secret endpoint { id } }
    ... on ValidationError { fields { path message } }
    ... on Error { code message } } }"""
DELIVERIES = """query($e: ID!) { webhookDeliveries(endpoint: $e, first: 200) {
  status attempts } }"""
INBOX = """{ myNotifications(first: 100) { unreadCount
  edges { node { id kind read } } } }"""
MARK_READ = """mutation($i: MarkNotificationsReadInput!) {
  markNotificationsRead(input: $i) { __typename
    ... on MarkNotificationsReadSuccess { marked }
    ... on Error { code message } } }"""
INTEGRATOR_DESCRIPTION = "Demo integrator (development only): verifies and keeps"
# What the demo integrator subscribes to: pairings and early warnings (not every
# session scheduled, of which last year's history alone holds hundreds).
INTEGRATOR_EVENTS = [
    "PAIRING_PROPOSED",
    "PAIRING_APPROVED",
    "PAIRING_CONFIRMED",
    "RELATIONSHIP_EARLY_WARNING",
]
UNREAD_KEPT = 3  # the demo mentee's and mentor's newest notifications, left unread
HISTORY_JOB = """query($id: ID!, $after: String) { programmeHistoryImport(id: $id) {
  status error
  records(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
    edges { node { section key outcome entityId error { code field message } } } }
} }"""


async def graphql(
    api: Api, token: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """One GraphQL call through the gateway; its data (SeedFailed on errors)."""
    body = await api.post("/graphql", token, {"query": query, "variables": variables})
    if body.get("errors"):
        raise SeedFailed(f"GraphQL answered errors: {body['errors']}")
    return dict(body["data"])


async def import_history(
    api: Api, token: str, document: dict[str, Any], *, dry_run: bool = False
) -> dict[str, Any]:
    """``importProgrammeHistory`` run to its end: its status, error and every
    record of its report."""
    answer = (
        await graphql(
            api, token, IMPORT_HISTORY, {"i": {"document": document, "dryRun": dry_run}}
        )
    )["importProgrammeHistory"]
    if answer["__typename"] != "ImportProgrammeHistorySuccess":
        raise SeedFailed(f"the programme history was refused: {answer}")
    job_id = answer["job"]["id"]

    async def ended() -> dict[str, Any] | None:
        job = (await graphql(api, token, HISTORY_STATUS, {"id": job_id}))[
            "programmeHistoryImport"
        ]
        return job if job["status"] in ("SUCCEEDED", "FAILED") else None

    await until(ended, "the programme-history import", 300)
    job = (await graphql(api, token, HISTORY_JOB, {"id": job_id}))[
        "programmeHistoryImport"
    ]
    records = [e["node"] for e in job["records"]["edges"]]
    page = job["records"]["pageInfo"]
    while page["hasNextPage"]:
        more = (
            await graphql(
                api, token, HISTORY_JOB, {"id": job_id, "after": page["endCursor"]}
            )
        )["programmeHistoryImport"]["records"]
        records += [e["node"] for e in more["edges"]]
        page = more["pageInfo"]
    return {**job, "records": records}


def local_id(global_id: str) -> str:
    """The service's id inside a GraphQL (Relay) id."""
    return base64.b64decode(global_id).decode().split(":", 1)[1]


async def seed_demo(
    client: httpx.AsyncClient,
    *,
    seed: int = 7,
    progress: Progress | None = None,
    integrator: DemoIntegrator | None = None,
    served_at: str | None = None,
) -> DemoFacts:
    """Seed the demo organisation into the platform behind ``client``; its facts.

    With ``integrator`` (the platform's demo integrator) and ``served_at`` (where
    the platform answers over HTTP, e.g. ``http://127.0.0.1:8000``), the demo's
    webhook endpoint is registered on it; without, the demo has no endpoint."""
    seeder = _Seeder(client, seed, progress)
    if integrator is not None and served_at:
        seeder.integrator = integrator
        seeder.hook_url = served_at.rstrip("/") + INTEGRATOR_PATH + HOOK
    return await seeder.run()


class _Seeder:
    integrator: DemoIntegrator | None = None
    hook_url = ""

    def __init__(
        self, client: httpx.AsyncClient, seed: int, progress: Progress | None
    ) -> None:
        self.api = Api(client)
        self.seed = seed
        self.rng = random.Random(seed)
        self.org = org.organisation(seed)
        self.report = progress or (lambda _step, _done, _total: None)
        self.today = datetime.now(UTC).date()
        self.ids: dict[str, str] = {}  # employee id → person id
        # Before anyone exists: the HR system's integration and the programme admin.
        self.admin = dev_token("demo-seeder", ["admin", "coordinator"])
        self.cohorts: dict[str, str] = {}
        self.rounds: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        self.past_pairings: dict[str, str] = {}  # the document's key → pairing id
        # The integration client that registers the demo's webhook endpoint.
        self.integration = dev_token("demo-integrator", ["integration"])
        self.endpoint = ("", "")  # its (local id, secret)

    def pid(self, e: org.Employee) -> str:
        return self.ids[e.employee_id]

    def token(self, e: org.Employee, *roles: str) -> str:
        return dev_token(self.pid(e), list(roles or e.roles))

    def step(self, name: str, done: int = 1, total: int = 1) -> None:
        self.report(name, done, total)

    async def run(self) -> DemoFacts:
        await self.competencies()
        await self.hris_import()
        self.coordinator = self.token(self.org.coordinator, "coordinator")
        await self.mentors_and_intakes()
        await self.create_cohorts()
        advisors = await onboard_advisors(self.api, self.coordinator, self.step)
        signed = await sign_agreements(
            self.api, self.coordinator, advisors, self.today, self.step
        )
        pairs = await self.leadership_round()
        stalled = pairs[self.rng.randrange(len(pairs))]
        history = await self.histories(pairs, stalled)
        promoted = await self.promotion(pairs, stalled)
        # After the live histories: insights reads this past meanwhile, and the
        # live pairs' histories are written within its grace (launcher.embedded).
        past = await self.last_years_cohort()
        # From here on, what integrators are told goes to the demo's endpoint.
        await self.webhook_endpoint()
        proposed = await self.reverse_round()
        await self.insights_caught_up(stalled, promoted, signed)
        await self.past_scored(past)
        await self.external_and_group_rounds()
        await self.notifications(promoted)
        self.counts.update(
            people=len(self.org.people),
            mentors=len(self.org.mentors),
            reverse_mentors=len(self.org.reverse_mentors),
            mentees=len(self.org.mentees) + len(self.org.executives),
            advisors=len(advisors),
            agreements=len(signed.agreements),
            advisor_minutes=sum(signed.minutes.values()),
            cohorts=len(self.cohorts),
            pairs=len(pairs),
            proposed_pairs=proposed,
            sessions_held=history.sessions_held,
            milestones=history.milestones,
            feedback=history.feedback,
            past_pairs=past.counts["pairings"],
            past_sessions=past.counts["sessions"],
            past_sessions_held=past.counts["sessions_held"],
            past_promotions=len(past.promoted),
        )
        facts = self.facts(pairs, stalled, promoted, advisors, signed)
        self.past_facts(facts, past, history)
        if self.endpoint[0]:
            facts.webhook_endpoint_id, facts.webhook_secret = self.endpoint
            facts.webhook_url = self.hook_url
        return facts

    # -- people --------------------------------------------------------------------

    async def competencies(self) -> None:
        for n, (cid, name) in enumerate(org.COMPETENCIES, 1):
            await self.api.post(
                "/profiles/competencies",
                self.admin,
                {"competency_id": cid, "name": name},
            )
            self.step("competencies", n, len(org.COMPETENCIES))

    async def hris_import(
        self, records: list[dict[str, Any]] | None = None, step: str = "HRIS import"
    ) -> None:
        records = records or [p.record() for p in self.org.people]
        key = f"demo-{self.seed}-{len(records)}-{records[0]['employee_id']}"
        report = await self.api.post(
            "/profiles/imports",
            self.admin,
            {"people": records},
            params={"wait": "true"},
            headers={"Idempotency-Key": key},
        )
        job = report["job_id"]

        async def finished() -> dict[str, Any] | None:
            got = await self.api.get(f"/profiles/imports/{job}", self.admin)
            return got if got["status"] in ("succeeded", "failed") else None

        done = await until(finished, "the HRIS import", 120)
        if done["status"] != "succeeded" or done["counts"].get("failed"):
            raise SeedFailed(f"the HRIS import did not succeed: {done}")
        after = 0
        while True:
            page = await self.api.get(
                f"/profiles/imports/{job}/records", self.admin, after=after, limit=1000
            )
            for item in page["items"]:
                self.ids[item["employee_id"]] = item["person_id"]
            if not page.get("next"):
                break
            after = page["next"]
        self.step(step, len(records), len(records))

    async def mentors_and_intakes(self) -> None:
        o = self.org
        todo = (
            len(o.mentors) + len(o.reverse_mentors) + len(o.mentees) + len(o.executives)
        )
        done = 0
        for n, mentor in enumerate(o.mentors):
            await self.mentor_profile(mentor, org.LEADERSHIP, 2 if n % 4 == 0 else 3)
            done += 1
            self.step("mentors and intakes", done, todo)
        for mentor in o.reverse_mentors:
            await self.mentor_profile(mentor, org.REVERSE, 1)
            done += 1
            self.step("mentors and intakes", done, todo)
        for mentee in o.mentees:
            await self.intake(mentee, org.LEADERSHIP)
            done += 1
            self.step("mentors and intakes", done, todo)
        for executive in o.executives:
            await self.intake(executive, org.REVERSE)
            done += 1
            self.step("mentors and intakes", done, todo)

    async def mentor_profile(
        self, e: org.Employee, pool: tuple[str, ...], capacity: int
    ) -> None:
        strengths = self.rng.sample(pool, 3)
        await self.api.put(
            f"/profiles/people/{self.pid(e)}/mentor-profile",
            self.coordinator,
            {
                "strengths": [
                    {"competency_id": c, "proficiency": self.rng.randint(4, 5)}
                    for c in strengths
                ],
                "formats": ["one_to_one"],
                "max_mentees": capacity,
                "hours_per_month": 2 * capacity + 2,
                "leadership_style": self.rng.choice(org.STYLES),
                "availability": [
                    {"weekday": d, "start": "08:00", "end": "18:00"} for d in range(5)
                ],
            },
        )

    async def intake(
        self, e: org.Employee, pool: tuple[str, ...], lift: int = 0
    ) -> None:
        goals = self.rng.sample(pool, 2)
        await self.api.put(
            f"/profiles/people/{self.pid(e)}/intake",
            self.coordinator,
            {
                "goals": [
                    {"competency_id": c, "current": min(5, 2 + lift), "target": 4}
                    for c in goals
                ],
                "hours_per_month": 4,
                "preferred_formats": ["one_to_one"],
                "learning_style": self.rng.choice(org.LEARNING),
            },
        )

    async def create_cohorts(self) -> None:
        o = self.org
        specs = (
            ("leadership", "Leadership Accelerator 2027", "standard", o.mentors, o.mentees),
            ("reverse", "Reverse Mentoring: Digital & Culture", "reverse",
             o.reverse_mentors, o.executives),
        )  # fmt: skip
        todo = sum(len(m) + len(e) for *_, m, e in specs)
        done = 0
        for key, name, kind, mentors, mentees in specs:
            made = await self.api.post(
                "/profiles/cohorts",
                self.coordinator,
                {"name": name, "programme_type": kind, "capacity": len(mentees) + 5},
            )
            cohort = made["cohort_id"]
            self.cohorts[key] = cohort
            for e, role in [(m, m.roles[0]) for m in mentors] + [
                (m, "mentee") for m in mentees
            ]:
                await self.api.post(
                    f"/profiles/cohorts/{cohort}/participants",
                    self.coordinator,
                    {"person_id": self.pid(e), "role": role},
                )
                done += 1
                self.step("cohorts", done, todo)

    # -- the past -------------------------------------------------------------------

    async def last_years_cohort(self) -> Past:
        """Last year's cohort, imported as a programme history through the gateway;
        every record must be CREATED, or UNCHANGED when imported before."""
        past = past_document(self.org, self.seed, self.today)
        self.past_name = past.name
        report = await import_history(self.api, self.coordinator, past.document)
        records = report["records"]
        failed = [r for r in records if r["outcome"] not in ("CREATED", "UNCHANGED")]
        if report["status"] != "SUCCEEDED" or failed:
            raise SeedFailed(
                f"last year's cohort was not imported ({report['status']}, "
                f"{report['error']}): {failed[:5]}"
            )
        for r in records:
            if r["section"] == "COHORTS":
                self.cohorts["past"] = local_id(r["entityId"])
            elif r["section"] == "PAIRINGS":
                self.past_pairings[r["key"]] = local_id(r["entityId"])
        self.step("last year's cohort", len(records), len(records))
        return past

    async def past_scored(self, past: Past) -> None:
        """Wait until insights scores last year's cohort as of its end: milestones
        achieved and promotions."""
        sponsor = self.token(self.org.sponsor, "admin", "sponsor")
        cohort = self.cohorts["past"]

        async def scored() -> bool:
            got = await self.api.get(
                f"/insights/scorecards/cohorts/{cohort}",
                sponsor,
                as_of=past.ends_on.isoformat(),
            )
            return bool(
                got["behaviour"]["milestones"]["achieved"] and got["impact"]["promoted"]
            )

        await until(scored, "insights to score last year's cohort", 120)

    # -- matching ----------------------------------------------------------------------

    async def run_round(self, key: str, mentees: list[org.Employee]) -> dict[str, Any]:
        """Start the cohort's round once matching has seen every admission."""
        cohort = self.cohorts[key]
        last = self.pid(mentees[-1])

        async def seen() -> bool:
            got = await self.api.client.get(
                f"/matching/mentees/{last}/suggestions",
                params={"cohort_id": cohort},
                headers={"Authorization": f"Bearer {self.coordinator}"},
            )
            return got.status_code == 200 and bool(got.json()["suggestions"])

        await until(seen, f"matching to see the {key} cohort")
        done = await self.api.post(
            "/matching/rounds",
            self.coordinator,
            {"cohort_id": cohort},
            params={"wait": "true"},
        )
        if done.get("status") != "completed":
            raise SeedFailed(f"the {key} round did not complete: {done}")
        self.rounds[key] = done["round_id"]
        return done

    async def proposals(self, key: str) -> list[dict[str, Any]]:
        return list(
            await self.api.get(
                "/matching/pairings",
                self.coordinator,
                round_id=self.rounds[key],
                state="proposed",
            )
        )

    async def leadership_round(self) -> list[Pair]:
        await self.run_round("leadership", self.org.mentees)
        proposed = await self.proposals("leadership")
        if len(proposed) != len(self.org.mentees):
            raise SeedFailed(
                f"the leadership round proposed {len(proposed)} pairs "
                f"for {len(self.org.mentees)} mentees"
            )
        by_person = {self.pid(e): e for e in self.org.people}
        # In the people's order, not the ids' (random): the same seed, the same story.
        proposed.sort(key=lambda p: by_person[p["mentee_id"]].employee_id)
        slots: dict[str, int] = {}
        pairs = []
        for n, pairing in enumerate(proposed, 1):
            pid = pairing["pairing_id"]
            await self.api.post(
                f"/matching/pairings/{pid}/approve",
                self.coordinator,
                {
                    "starts_on": (
                        self.today - timedelta(days=STARTED_DAYS_AGO)
                    ).isoformat()
                },
            )
            mentor, mentee = (
                by_person[pairing["mentor_id"]],
                by_person[pairing["mentee_id"]],
            )
            pair = Pair(
                relationship_id=pid,
                mentor_id=self.pid(mentor),
                mentee_id=self.pid(mentee),
                mentor_token=self.token(mentor, "mentor"),
                mentee_token=self.token(mentee, "mentee"),
                slot=slots.setdefault(mentor.employee_id, 0),
                key=mentee.employee_id,
            )
            slots[mentor.employee_id] += 1
            for token in (pair.mentor_token, pair.mentee_token):
                await self.api.post(f"/matching/pairings/{pid}/accept", token)
            pairs.append(pair)
            self.step("leadership round", n, len(proposed))
        return pairs

    async def reverse_round(self) -> int:
        await self.run_round("reverse", self.org.executives)
        proposed = len(await self.proposals("reverse"))
        self.step("reverse-mentoring round", proposed, proposed)
        return proposed

    async def external_and_group_rounds(self) -> None:
        """Directors paired with the external advisors, one of whom declines with a
        reason; and one mentor's circle of three (both rounds left proposed)."""
        o = self.org
        assert o.circle_mentor is not None
        step = "external and group rounds"
        await self.mentor_profile(o.circle_mentor, org.LEADERSHIP, len(o.circle))
        for e in o.board:
            await self.intake(e, ADVISED)
        for e in o.circle:
            await self.intake(e, org.LEADERSHIP)
        specs: tuple[tuple[str, str, str, list[org.Employee], list[org.Employee]], ...]
        specs = (
            ("external", EXTERNAL_COHORT, "external", [], o.board),
            ("group", GROUP_COHORT, "group", [o.circle_mentor], o.circle),
        )
        for key, name, kind, mentors, mentees in specs:
            made = await self.api.post(
                "/profiles/cohorts",
                self.coordinator,
                {"name": name, "programme_type": kind, "capacity": len(mentees) + 2},
            )
            self.cohorts[key] = made["cohort_id"]
            for e, role in [(m, "mentor") for m in mentors] + [
                (m, "mentee") for m in mentees
            ]:
                await self.api.post(
                    f"/profiles/cohorts/{made['cohort_id']}/participants",
                    self.coordinator,
                    {"person_id": self.pid(e), "role": role},
                )
            await self.run_round(key, mentees)
            self.step(step, len(self.rounds) - 2, 2)
        declining = o.board[0]
        [pairing] = [
            p
            for p in await self.proposals("external")
            if p["mentee_id"] == self.pid(declining)
        ]
        await self.api.post(
            f"/matching/pairings/{pairing['pairing_id']}/decline",
            self.token(declining, "mentee"),
            {"reason": DECLINE_REASON},
        )

    # -- relationships ---------------------------------------------------------------

    async def histories(self, pairs: list[Pair], stalled: Pair) -> History:
        wanted = {p.relationship_id for p in pairs}

        async def started() -> bool:
            listed = await self.api.get("/sessions/relationships", self.coordinator)
            have = wanted & {r["relationship_id"] for r in listed}
            self.step("relationships", len(have), len(wanted))
            return have == wanted

        await until(started, "sessions to start every relationship")
        history = History(self.api, self.seed, self.today)
        done = 0
        gate = asyncio.Semaphore(HISTORY_WRITERS)

        async def write(pair: Pair) -> None:
            nonlocal done
            async with gate:
                if pair is stalled:
                    await history.stalled(pair)
                else:
                    await history.thriving(pair)
            done += 1
            self.step("history", done, len(pairs))

        await asyncio.gather(*(write(pair) for pair in pairs))
        return history

    # -- outcomes ------------------------------------------------------------------------

    async def promotion(self, pairs: list[Pair], stalled: Pair) -> Pair:
        """The HRIS reports one mentee promoted today; a third re-assess their skills."""
        by_person = {self.pid(e): e for e in self.org.people}
        candidates = [p for p in pairs if p is not stalled]
        chosen = candidates[self.rng.randrange(len(candidates))]
        mentee = by_person[chosen.mentee_id]
        self.promoted_employee = mentee
        await self.hris_import(
            [
                mentee.record(
                    level=mentee.level + 1,
                    title=org.title_for(mentee.level + 1, mentee.function),
                    effective_on=self.today.isoformat(),
                )
            ],
            step="promotion",
        )
        for n, pair in enumerate(candidates[::3]):
            await self.intake(by_person[pair.mentee_id], org.LEADERSHIP, lift=1)
            self.step("skill re-assessments", n + 1, len(candidates[::3]))
        return chosen

    async def insights_caught_up(
        self, stalled: Pair, promoted: Pair, signed: Signed
    ) -> None:
        """Wait until insights has judged the stalled pair, counted the promotion
        and summed every hour logged against the advisors' agreements."""
        sponsor = self.token(self.org.sponsor, "admin", "sponsor")

        async def at_risk() -> bool:
            got = await self.api.client.get(
                f"/insights/relationships/{stalled.relationship_id}/health",
                headers={"Authorization": f"Bearer {sponsor}"},
            )
            return got.status_code == 200 and got.json().get("state") == "at_risk"

        async def counted() -> bool:
            got = await self.api.get(
                f"/insights/scorecards/mentees/{promoted.mentee_id}", sponsor
            )
            return bool(got["impact"]["promoted"])

        async def hours() -> bool:
            got = await self.api.get("/insights/operations", sponsor)
            logged = {
                h["agreement_id"]: h["hours_logged"] for h in got["advisor_hours"]
            }
            return all(
                logged.get(aid) == round(minutes / 60, 2)
                for aid, minutes in signed.minutes.items()
            )

        await until(at_risk, "insights to flag the stalled pair")
        self.step("insights", 1, 3)
        await until(counted, "insights to count the promotion")
        self.step("insights", 2, 3)
        await until(hours, "insights to sum the advisors' hours")
        self.step("insights", 3, 3)

    def past_facts(self, facts: DemoFacts, past: Past, history: History) -> None:
        """Last year's cohort in the facts: its dates, the quarters mentor impact
        shows, and a mentor with sessions held in each of them (the demo's mentor
        when they have; else the first such mentor)."""
        quarters = quarters_before(self.today)
        held: dict[str, list[date]] = {}
        for employee, days in past.held.items():
            held.setdefault(self.ids[employee], []).extend(days)
        for mentor_id, days in history.held.items():
            held.setdefault(mentor_id, []).extend(days)
        by_person = {self.pid(e): e for e in self.org.people}
        candidates = [facts.user("mentor").person_id] + [
            self.pid(m) for m in self.org.mentors
        ]
        chosen = next(
            (
                m
                for m in candidates
                if all(any(in_quarter(d, q) for d in held.get(m, [])) for q in quarters)
            ),
            candidates[0],
        )
        facts.history_anchor = self.today.isoformat()
        facts.past_starts_on = past.starts_on.isoformat()
        facts.past_ends_on = past.ends_on.isoformat()
        facts.past_quarters = quarters
        facts.impact_mentor = Person(chosen, by_person[chosen].name)
        facts.past_relationship_id = self.past_pairings[past.early_pairing]

    # -- notifications and webhooks ------------------------------------------------------

    async def webhook_endpoint(self) -> None:
        """The demo integrator's endpoint, registered by an integration client for
        pairings and early warnings; the integrator verifies with its secret and
        refuses its first message once, so that the delivery log shows a retry."""
        step = "webhook endpoint"
        if self.integrator is None:
            self.step(step, 0, 0)
            return
        answer = (
            await graphql(
                self.api,
                self.integration,
                REGISTER_ENDPOINT,
                {
                    "i": {
                        "url": self.hook_url,
                        "eventTypes": INTEGRATOR_EVENTS,
                        "description": INTEGRATOR_DESCRIPTION,
                    }
                },
            )
        )["registerWebhookEndpoint"]
        if answer["__typename"] != "WebhookSecretSuccess":
            raise SeedFailed(f"the demo's webhook endpoint was refused: {answer}")
        self.endpoint = (local_id(answer["endpoint"]["id"]), answer["secret"])
        self.integrator.secret = answer["secret"]
        self.integrator.refuse_next = 1
        self.step(step, 1, 1)

    async def notifications(self, promoted: Pair) -> None:
        """The demo mentee and mentor read all but their newest notifications; the
        endpoint's messages go out (one of them retried once)."""
        step = "notifications"
        for n, token in enumerate((promoted.mentee_token, promoted.mentor_token), 1):

            async def told(token: str = token) -> list[dict[str, Any]] | None:
                inbox = (await graphql(self.api, token, INBOX, {}))["myNotifications"]
                items = [e["node"] for e in inbox["edges"]]
                kinds = {i["kind"] for i in items}
                full = "PAIRING_CONFIRMED" in kinds and len(items) > UNREAD_KEPT
                return items if full else None

            items = await until(told, "the demo pair's notifications", 60)
            older = [i["id"] for i in items[UNREAD_KEPT:] if not i["read"]]
            if older:
                marked = (
                    await graphql(
                        self.api, token, MARK_READ, {"i": {"notificationIds": older}}
                    )
                )["markNotificationsRead"]
                if marked["__typename"] != "MarkNotificationsReadSuccess":
                    raise SeedFailed(f"notifications were not marked read: {marked}")
                self.counts["notifications_read"] = (
                    self.counts.get("notifications_read", 0) + marked["marked"]
                )
            self.step(step, n, 3)
        if self.endpoint[0]:
            endpoint = global_id("WebhookEndpoint", self.endpoint[0])

            async def delivered() -> list[dict[str, Any]] | None:
                got = (
                    await graphql(
                        self.api, self.integration, DELIVERIES, {"e": endpoint}
                    )
                )["webhookDeliveries"]
                sent = [d for d in got if d["status"] == "SENT"]
                return sent if any(d["attempts"] > 1 for d in sent) else None

            sent = await until(delivered, "the demo integrator's deliveries", 90)
            self.counts["webhook_deliveries"] = len(sent)
            self.counts["webhook_retried"] = sum(1 for d in sent if d["attempts"] > 1)
        self.step(step, 3, 3)

    # -- the facts -------------------------------------------------------------------------

    def facts(
        self,
        pairs: list[Pair],
        stalled: Pair,
        promoted: Pair,
        advisors: list[str],
        signed: Signed,
    ) -> DemoFacts:
        o = self.org
        by_person = {self.pid(e): e for e in o.people}
        mentor = by_person[promoted.mentor_id]
        mentee = by_person[promoted.mentee_id]
        executive = o.executives[0]

        def user(e: org.Employee, roles: list[str]) -> DemoUser:
            return DemoUser(
                e.name, self.pid(e), roles, dev_token(self.pid(e), roles), e.title
            )

        return DemoFacts(
            tenant=TENANT,
            seed=self.seed,
            organisation=org.ORG_NAME,
            users=[
                user(o.sponsor, ["admin", "sponsor"]),
                user(o.coordinator, ["coordinator"]),
                user(mentee, ["mentee"]),
                user(mentor, ["mentor"]),
                user(executive, ["mentee"]),
            ],
            cohorts=dict(self.cohorts),
            cohort_names={
                "leadership": "Leadership Accelerator 2027",
                "reverse": "Reverse Mentoring: Digital & Culture",
                "external": EXTERNAL_COHORT,
                "group": GROUP_COHORT,
                "past": self.past_name,
            },
            rounds=dict(self.rounds),
            stalled_relationship_id=stalled.relationship_id,
            stalled_mentor=Person(stalled.mentor_id, by_person[stalled.mentor_id].name),
            stalled_mentee=Person(stalled.mentee_id, by_person[stalled.mentee_id].name),
            promoted=Person(promoted.mentee_id, mentee.name),
            suppressed_group={"dimension": "business_unit", "value": org.SMALL_UNIT},
            advisors=advisors,
            agreements=dict(signed.agreements),
            counts=dict(self.counts),
        )

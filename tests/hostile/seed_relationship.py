"""The relationship's resources in sessions, created by its parties and coordinator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.waiting import until


class RelationshipSeeds:
    """Steps of ``Seeder`` for sessions: the contract signed by both, a session, a
    note, a milestone, a rotation, an escalation, a pulse survey, a journal prompt."""

    ids: dict[str, str]
    today: Any
    c: Any
    admin: dict[str, str]

    @property
    def mentor_token(self) -> dict[str, str]:
        return self.as_("mentor", self.ids["mentor"])

    @property
    def mentee_token(self) -> dict[str, str]:
        return self.as_("mentee", self.ids["person"])

    async def relationship(self) -> None:
        pairing = self.ids["pairing"]

        async def started() -> bool:
            r = await self.c["sessions"].get(
                f"/relationships/{pairing}", headers=self.admin
            )
            return r.status_code == 200

        await until(started, "sessions to start the relationship")
        self.ids["relationship"] = pairing
        drafted = await self.call(
            "sessions",
            "PUT",
            f"/relationships/{pairing}/contract",
            headers=self.mentee_token,
            json={
                "cadence": {"every_days": 14, "minutes": 60},
                "hours_per_month": 4,
                "objectives": ["Present the strategic plan to the board"],
                "terms": "Confidential; feedback after every session.",
            },
        )
        version = drafted["contract"]["version"]
        for who in (self.mentee_token, self.mentor_token):
            await self.call(
                "sessions",
                "POST",
                f"/relationships/{pairing}/contract/signatures",
                headers=who,
                json={"version": version},
            )

    async def session(self) -> None:
        starts = datetime.combine(
            self.today + timedelta(days=7), datetime.min.time(), UTC
        ) + timedelta(hours=10)
        made = await self.call(
            "sessions",
            "POST",
            f"/relationships/{self.ids['relationship']}/sessions",
            headers=self.mentor_token,
            json={"starts_at": starts.isoformat(), "minutes": 60},
        )
        self.ids["session"] = made["session_id"]

    async def note(self) -> None:
        made = await self.call(
            "sessions",
            "POST",
            f"/relationships/{self.ids['relationship']}/notes",
            headers=self.mentee_token,
            json={"kind": "session_note", "visibility": "shared", "body": "Went well"},
        )
        self.ids["note"] = made["note_id"]

    async def milestone(self) -> None:
        made = await self.call(
            "sessions",
            "POST",
            f"/relationships/{self.ids['relationship']}/milestones",
            headers=self.mentee_token,
            json={
                "objective_index": 0,
                "label": "Board presentation drafted",
                "due_on": (self.today + timedelta(days=60)).isoformat(),
                "criteria": ["Draft reviewed by the mentor"],
            },
        )
        self.ids["milestone"] = made.get("milestone_id") or made.get("id")

    async def rotation(self) -> None:
        made = await self.call(
            "sessions",
            "POST",
            "/rotations",
            json={
                "relationship_id": self.ids["relationship"],
                "host_id": self.ids["mentor"],
                "function": "Operations",
                "starts_on": (self.today + timedelta(days=7)).isoformat(),
                "ends_on": (self.today + timedelta(days=21)).isoformat(),
                "project_kind": "process_redesign",
            },
        )
        self.ids["rotation"] = made.get("rotation_id") or made.get("id")

    async def escalation(self) -> None:
        made = await self.call(
            "sessions",
            "POST",
            f"/relationships/{self.ids['relationship']}/escalations",
            headers=self.mentee_token,
            json={"category": "availability", "detail": "Hard to find a slot"},
        )
        self.ids["escalation"] = made.get("escalation_id") or made.get("id")

    async def survey(self) -> None:
        made = await self.call(
            "sessions",
            "POST",
            "/pulse-surveys",
            json={
                "cohort_id": self.ids["cohort"],
                "questions": ["How useful was your last session?"],
                "closes_at": (datetime.now(UTC) + timedelta(days=14)).isoformat(),
            },
        )
        self.ids["survey"] = made.get("survey_id") or made.get("id")

    async def prompt(self) -> None:
        prompts = await self.call("sessions", "GET", "/journal-prompts")
        items = prompts.get("items", prompts) if isinstance(prompts, dict) else prompts
        first = items[0]
        self.ids["prompt"] = first.get("prompt_id") or first.get("id")

"""An advisor through due diligence, with an agreement, an engagement, a council
with a recommendation, and a risk."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

CHECKS = ("background", "conflict_of_interest", "confidentiality", "compliance")


class AdvisorSeeds:
    """Steps of ``Seeder`` for the advisors service."""

    ids: dict[str, str]
    today: Any
    sponsor: dict[str, str]

    async def advisor(self) -> None:
        made = await self.call(
            "advisors",
            "POST",
            "/advisors",
            headers=self.sponsor,
            json={
                "name": "Grace Hopper",
                "email": f"grace-{uuid.uuid4().hex[:6]}@navy.example",
                "organisation": "Ministry of Compilers",
                "bio": "Wrote the first compiler.",
                "expertise_sought": ["board governance"],
            },
        )
        aid = made["advisor_id"]
        self.ids["advisor"] = aid
        await self.call("advisors", "POST", f"/advisors/{aid}/diligence")
        expiry = (self.today + timedelta(days=365)).isoformat()
        for check in CHECKS:
            await self.call(
                "advisors",
                "PUT",
                f"/advisors/{aid}/checks/{check}",
                json={
                    "status": "passed",
                    "evidence": f"{check} file 42",
                    "owner": "compliance-1",
                    "expires_on": expiry,
                },
            )
        await self.call(
            "advisors",
            "POST",
            f"/advisors/{aid}/approve",
            json={"geography": "GB", "time_zone": "Europe/London", "languages": ["en"]},
        )

    async def agreement(self) -> None:
        made = await self.call(
            "advisors",
            "POST",
            "/agreements",
            json={
                "advisor_id": self.ids["advisor"],
                "starts_on": self.today.isoformat(),
                "ends_on": (self.today + timedelta(days=300)).isoformat(),
                "scope": "mentoring",
                "hours_per_month": 6,
                "compensation": {"pro_bono": True},
            },
        )
        self.ids["agreement"] = made["agreement_id"]
        engaged = await self.call(
            "advisors",
            "POST",
            "/engagements",
            json={
                "advisor_id": self.ids["advisor"],
                "topic": "governance",
                "on": (self.today + timedelta(days=10)).isoformat(),
                "audience_size": 12,
            },
        )
        self.ids["engagement"] = engaged["engagement_id"]

    async def council(self) -> None:
        made = await self.call(
            "advisors",
            "POST",
            "/councils",
            json={
                "name": "Transformation council",
                "purpose": "Advise the programme on its transformation track",
                "cadence_weeks": 6,
            },
        )
        council = made["council_id"]
        self.ids["council"] = council
        await self.call(
            "advisors",
            "POST",
            f"/councils/{council}/members",
            json={"member_id": self.ids["advisor"], "kind": "advisor"},
        )
        meeting = await self.call(
            "advisors",
            "POST",
            f"/councils/{council}/meetings",
            json={
                "held_on": self.today.isoformat(),
                "attendees": 4,
                "agenda": ["Retention"],
            },
        )
        self.ids["meeting"] = meeting["meeting_id"]
        recommendation = await self.call(
            "advisors",
            "POST",
            f"/councils/{council}/recommendations",
            headers=self.as_("advisor", self.ids["advisor"]),
            json={
                "meeting_id": self.ids["meeting"],
                "title": "Pair new VPs",
                "made_by": self.ids["advisor"],
            },
        )
        self.ids["recommendation"] = recommendation["recommendation_id"]

    async def risk(self) -> None:
        made = await self.call(
            "advisors",
            "POST",
            "/risks",
            json={
                "title": "Executives lack time",
                "category": "programme",
                "likelihood": 3,
                "impact": 4,
                "owner_id": "coordinator-1",
            },
        )
        self.ids["risk"] = made["risk_id"]

"""A one-off engagement: an approved advisor gives one session on a high-leverage
topic; once delivered, its hours count against the advisor's agreement."""

from __future__ import annotations

from datetime import date

from chassis.aggregate import Aggregate
from chassis.errors import Conflict
from contracts.advisors.agreements import (
    EngagementDelivered,
    EngagementScheduled,
    EngagementStatus,
    EngagementTopic,
    HoursKind,
)
from services.advisors.domain.agreement import Agreement


class Engagement(Aggregate):
    def initial_state(self) -> None:
        self.advisor_id = ""
        self.topic = EngagementTopic.OTHER
        self.on = date.min
        self.audience_size = 0
        self.status = EngagementStatus.SCHEDULED
        self.agreement_id: str | None = None
        self.minutes = 0

    @classmethod
    def schedule(
        cls,
        engagement_id: str,
        tenant: str,
        *,
        advisor_id: str,
        topic: EngagementTopic,
        on: date,
        audience_size: int,
    ) -> Engagement:
        engagement = cls(engagement_id, tenant)
        engagement.initial_state()
        engagement._record(
            EngagementScheduled(
                engagement_id=engagement_id,
                advisor_id=advisor_id,
                topic=topic,
                on=on,
                audience_size=audience_size,
            )
        )
        return engagement

    def deliver(self, agreement: Agreement, minutes: int, on: date) -> None:
        """Delivered once; its hours go on the agreement under the agreement's caps."""
        if self.status == EngagementStatus.DELIVERED:
            raise Conflict(f"engagement {self.id} was already delivered")
        if agreement.advisor_id != self.advisor_id:
            raise Conflict("the agreement belongs to another advisor")
        agreement.log_hours(minutes, on, HoursKind.SESSION, engagement_id=self.id)
        self._record(
            EngagementDelivered(
                engagement_id=self.id,
                advisor_id=self.advisor_id,
                agreement_id=agreement.id,
                minutes=minutes,
                on=on,
            )
        )

    def when_EngagementScheduled(self, e: EngagementScheduled) -> None:
        self.advisor_id = e.advisor_id
        self.topic = e.topic
        self.on = e.on
        self.audience_size = e.audience_size

    def when_EngagementDelivered(self, e: EngagementDelivered) -> None:
        self.status = EngagementStatus.DELIVERED
        self.agreement_id = e.agreement_id
        self.minutes = e.minutes

"""The programme's risk register: one stream per risk (likelihood and impact on a 1-5
scale, an owner, a mitigation, a status), ranked by likelihood x impact, with a heat
map the governance review reads at a glance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from chassis.aggregate import Aggregate
from chassis.errors import Conflict, DomainError
from contracts.advisors import councils as c
from contracts.advisors.councils import MitigationStatus, RiskSeverity, RiskStatus
from contracts.api.advisors import HeatCell
from services.advisors.domain.events import registry

OPEN, MITIGATING, CLOSED = RiskStatus.OPEN, RiskStatus.MITIGATING, RiskStatus.CLOSED
SCALE = range(1, 6)


@registry.override
class RiskRaised(c.RiskRaised):
    """The mitigation plan is the programme's own judgement: stored, not published."""

    mitigation: str = ""


@registry.override
class RiskMitigationUpdated(c.RiskMitigationUpdated):
    mitigation: str


class ScoreOutOfRange(DomainError):
    code = "ScoreOutOfRange"
    title = "Likelihood and impact are scored from 1 to 5"


class RiskAlreadyClosed(Conflict):
    code = "RiskAlreadyClosed"
    title = "The risk is closed"


class InvalidRiskStatus(DomainError):
    code = "InvalidRiskStatus"
    title = "A mitigation leaves a risk open or mitigating (close it to close it)"


def require_score(likelihood: int, impact: int) -> None:
    if likelihood not in SCALE or impact not in SCALE:
        raise ScoreOutOfRange(f"likelihood {likelihood}, impact {impact}")


def severity(score: int) -> RiskSeverity:
    """The band of a 5x5 score, as most programme risk registers colour it."""
    if score >= 20:
        return RiskSeverity.CRITICAL
    if score >= 10:
        return RiskSeverity.HIGH
    if score >= 5:
        return RiskSeverity.MEDIUM
    return RiskSeverity.LOW


class Risk(Aggregate):
    def initial_state(self) -> None:
        self.title = ""
        self.category = ""
        self.owner_id = ""
        self.likelihood = 0
        self.impact = 0
        self.mitigation = ""
        self.status = OPEN

    @property
    def risk_id(self) -> str:
        return self.id

    @property
    def score(self) -> int:
        return self.likelihood * self.impact

    @classmethod
    def raise_new(
        cls,
        risk_id: str,
        tenant: str,
        *,
        title: str,
        category: str,
        likelihood: int,
        impact: int,
        owner_id: str,
        mitigation: str = "",
    ) -> Risk:
        require_score(likelihood, impact)
        risk = cls(risk_id, tenant)
        risk.initial_state()
        risk._record(
            RiskRaised(
                risk_id=risk_id,
                title=title,
                category=category,
                likelihood=likelihood,
                impact=impact,
                owner_id=owner_id,
                mitigation=mitigation,
            )
        )
        return risk

    def reassess(self, likelihood: int, impact: int) -> None:
        self._require_open()
        require_score(likelihood, impact)
        self._record(
            c.RiskReassessed(risk_id=self.id, likelihood=likelihood, impact=impact)
        )

    def update_mitigation(
        self, mitigation: str, status: MitigationStatus = MitigationStatus.MITIGATING
    ) -> None:
        self._require_open()
        if status not in tuple(MitigationStatus):
            raise InvalidRiskStatus(f"status {status!r}")
        self._record(
            RiskMitigationUpdated(
                risk_id=self.id,
                mitigation=mitigation,
                status=status,
            )
        )

    def close(self) -> None:
        self._require_open()
        self._record(c.RiskClosed(risk_id=self.id))

    def _require_open(self) -> None:
        if self.status == CLOSED:
            raise RiskAlreadyClosed(f"risk {self.id} is closed")

    def when_RiskRaised(self, e: RiskRaised) -> None:
        self.title, self.category, self.owner_id = e.title, e.category, e.owner_id
        self.likelihood, self.impact, self.mitigation = (
            e.likelihood,
            e.impact,
            e.mitigation,
        )

    def when_RiskReassessed(self, e: c.RiskReassessed) -> None:
        self.likelihood, self.impact = e.likelihood, e.impact

    def when_RiskMitigationUpdated(self, e: RiskMitigationUpdated) -> None:
        self.mitigation, self.status = e.mitigation, RiskStatus(e.status)

    def when_RiskClosed(self, _e: c.RiskClosed) -> None:
        self.status = CLOSED


@dataclass(frozen=True)
class Scored:
    """What ranking needs of a risk (an aggregate or a register row)."""

    risk_id: str
    likelihood: int
    impact: int

    @property
    def score(self) -> int:
        return self.likelihood * self.impact


class Rated(Protocol):
    """What ranking and the heat map read of a risk (an aggregate or a view)."""

    @property
    def risk_id(self) -> str: ...
    @property
    def likelihood(self) -> int: ...
    @property
    def impact(self) -> int: ...


R = TypeVar("R", bound=Rated)


def ranked(risks: Iterable[R]) -> list[R]:
    """Highest likelihood x impact first; on a tie the greater impact, then likelihood;
    then by id, so the order is stable."""
    return sorted(
        risks,
        key=lambda r: (-r.likelihood * r.impact, -r.impact, -r.likelihood, r.risk_id),
    )


def heat_map(risks: Iterable[Rated]) -> list[HeatCell]:
    """Every cell of the 5x5 grid with the number of risks in it."""
    counts = Counter((r.likelihood, r.impact) for r in risks)
    return [
        HeatCell(
            likelihood=likelihood,
            impact=impact,
            score=likelihood * impact,
            severity=severity(likelihood * impact),
            count=counts[(likelihood, impact)],
        )
        for likelihood in SCALE
        for impact in SCALE
    ]

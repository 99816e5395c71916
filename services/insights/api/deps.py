"""What insights' routes depend on: the caller, and the application objects the
service provides (``chassis.service.provided``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from chassis.auth.fastapi import require_roles
from chassis.auth.principal import Principal, Role
from chassis.service import provided
from services.insights.application.equity import Equity
from services.insights.application.erasure import ErasureReceipts
from services.insights.application.health import Health
from services.insights.application.impact import Impact
from services.insights.application.lag import LagMonitor
from services.insights.application.operations import Operations
from services.insights.application.patterns import Patterns
from services.insights.application.rebuild import Rebuilds
from services.insights.application.scorecards import Scorecards

HealthDep = Annotated[Health, Depends(provided(Health))]
ImpactDep = Annotated[Impact, Depends(provided(Impact))]
EquityDep = Annotated[Equity, Depends(provided(Equity))]
OperationsDep = Annotated[Operations, Depends(provided(Operations))]
PatternsDep = Annotated[Patterns, Depends(provided(Patterns))]
ScorecardsDep = Annotated[Scorecards, Depends(provided(Scorecards))]
RebuildsDep = Annotated[Rebuilds, Depends(provided(Rebuilds))]
LagDep = Annotated[LagMonitor, Depends(provided(LagMonitor))]
ErasureReceiptsDep = Annotated[ErasureReceipts, Depends(provided(ErasureReceipts))]

Overseer = Annotated[
    Principal, Depends(require_roles(Role.COORDINATOR, Role.SPONSOR, Role.ADMIN))
]
AllTenants = Annotated[
    bool,
    Query(description="Every organisation, not only the caller's (operators only)"),
]

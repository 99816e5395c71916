"""Dependency aliases of the advisors API: the application objects the service's
part provides (``chassis.service.provided``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from chassis.service import provided
from services.advisors.application.agreements import Agreements
from services.advisors.application.councils import Councils
from services.advisors.application.lifecycle import Advisors
from services.advisors.application.risks import Risks

AdvisorsDep = Annotated[Advisors, Depends(provided(Advisors))]
AgreementsDep = Annotated[Agreements, Depends(provided(Agreements))]
CouncilsDep = Annotated[Councils, Depends(provided(Councils))]
RisksDep = Annotated[Risks, Depends(provided(Risks))]

__all__ = ["AdvisorsDep", "AgreementsDep", "CouncilsDep", "RisksDep"]

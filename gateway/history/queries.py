"""``programmeHistoryImport(id)``: where an import is and its per-record report."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.context import ctx
from gateway.history.types import ProgrammeHistoryImport
from gateway.ids import local_id


@strawberry.type
class HistoryQuery:
    @strawberry.field(
        description="A programme-history import (null when it does not exist, is "
        "another organisation's, or ended more than a day ago)."
    )
    def programme_history_import(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Its id.")],
    ) -> ProgrammeHistoryImport | None:
        c = ctx(info)
        job = c.history.get(local_id(id, "ProgrammeHistoryImport", "id"), c.principal)
        return ProgrammeHistoryImport.from_job(job) if job is not None else None

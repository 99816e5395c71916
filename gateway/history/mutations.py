"""``importProgrammeHistory``: start an import of an organisation's past."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from chassis.auth import Role
from gateway.context import ctx
from gateway.errors import CommonErrors, FieldProblem, Forbidden, ValidationError
from gateway.history import document as doc
from gateway.history.types import ProgrammeHistoryImport

MAX_SHOWN = 50


@strawberry.input(description="An organisation's programme history to import.")
class ImportProgrammeHistoryInput:
    document: JSON = strawberry.field(
        description="A `tandem.programme-history/1` document: cohorts, outcomes, "
        "pairings, sessions, milestones, feedback and check-ins, each record with "
        "the file's own `key`; people by their HR `employee_id` (import them first "
        "with `importPeople`). See docs/history-import.md."
    )
    dry_run: bool | None = strawberry.field(
        default=False,
        description="Validate every record and report what would happen; write "
        "nothing.",
    )


@strawberry.type(description="The import was started.")
class ImportProgrammeHistorySuccess:
    job: ProgrammeHistoryImport = strawberry.field(
        description="The job; poll it with `programmeHistoryImport(id)`."
    )


ImportProgrammeHistoryResult = Annotated[
    ImportProgrammeHistorySuccess | CommonErrors,
    strawberry.union("ImportProgrammeHistoryResult"),
]


@strawberry.type
class HistoryMutation:
    @strawberry.mutation(
        description="Import a programme's past (coordinators, admins) as a job: "
        "profiles' cohorts and outcomes, then matching's pairings, then sessions' "
        "contracts, sessions, milestones, feedback and check-ins, each record dated "
        "when it happened. Idempotent per record: importing the same document again "
        "answers UNCHANGED for what is there and finishes what is not; a record "
        "with a key already imported with other content fails (`conflict`). A "
        "document that is not of the format is refused (`ValidationError` on "
        "`input.document`) and nothing is done."
    )
    async def import_programme_history(
        self, info: Info, input: ImportProgrammeHistoryInput
    ) -> ImportProgrammeHistoryResult:
        c = ctx(info)
        if not c.principal.has_role(Role.COORDINATOR, Role.ADMIN):
            return Forbidden(
                code="Forbidden",
                message="requires one of the roles: admin, coordinator",
            )
        document = input.document
        found = doc.problems(document)
        if found or not isinstance(document, dict):
            shown = found[:MAX_SHOWN]
            return ValidationError(
                code="ValidationError",
                message="input.document: " + "; ".join(shown),
                fields=[FieldProblem(path="input.document", message=p) for p in shown],
            )
        job = c.history.start(c.caller, document, bool(input.dry_run))
        return ImportProgrammeHistorySuccess(job=ProgrammeHistoryImport.from_job(job))

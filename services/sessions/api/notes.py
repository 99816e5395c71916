"""Notes, journals and after-action reviews over HTTP (the reading rule is the
application's: ``application/notes.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from chassis.http.openapi import problems
from chassis.inputs import Ref, RequestBody, Text
from contracts.api import sessions as api
from contracts.sessions.notes import NoteKind, Visibility
from services.sessions.api.deps import NotesDep, PrincipalDep

router = APIRouter(tags=["notes"])


NoteText = Annotated[Text, Field(min_length=1)]


class NoteIn(RequestBody):
    kind: NoteKind
    visibility: Visibility = Visibility.PRIVATE
    body: NoteText
    prompt_id: Ref | None = Field(None, description="a journal prompt's id")
    session_id: Ref | None = Field(None, description="a session of the relationship")


class NoteChange(RequestBody):
    visibility: Visibility | None = None
    body: NoteText | None = None


@router.get("/journal-prompts")
async def journal_prompts(
    _principal: PrincipalDep, notes: NotesDep
) -> list[api.JournalPrompt]:
    """The guided prompts for journals (bias, decision timelines, values, growth)."""
    return notes.journal_prompts()


@router.post(
    "/relationships/{relationship_id}/notes",
    status_code=201,
    responses=problems(403, 404, 410),
    response_model_exclude_unset=True,
)
async def write_note(
    relationship_id: Ref, body: NoteIn, principal: PrincipalDep, notes: NotesDep
) -> api.Note:
    """Write a session note, journal entry or after-action review (the pair only)."""
    return await notes.write(
        principal,
        relationship_id,
        kind=body.kind,
        visibility=body.visibility,
        body=body.body,
        prompt_id=body.prompt_id,
        session_id=body.session_id,
    )


@router.get(
    "/relationships/{relationship_id}/notes",
    responses=problems(404),
    response_model_exclude_unset=True,
)
async def list_notes(
    relationship_id: Ref, principal: PrincipalDep, notes: NotesDep
) -> list[api.Note]:
    """Notes the caller may read; overseers get metadata of every note, no text."""
    return await notes.list(principal, relationship_id)


@router.get(
    "/notes/{note_id}", responses=problems(404), response_model_exclude_unset=True
)
async def get_note(note_id: Ref, principal: PrincipalDep, notes: NotesDep) -> api.Note:
    """One note: its body for those who may read it, metadata for overseers."""
    return await notes.get(principal, note_id)


@router.patch(
    "/notes/{note_id}",
    responses=problems(403, 404, 409, 410),
    response_model_exclude_unset=True,
)
async def edit_note(
    note_id: Ref, body: NoteChange, principal: PrincipalDep, notes: NotesDep
) -> api.Note:
    """Change a note's text or visibility (its author only)."""
    return await notes.edit(
        principal, note_id, visibility=body.visibility, body=body.body
    )


@router.delete("/notes/{note_id}", status_code=204, responses=problems(403, 404, 409))
async def delete_note(note_id: Ref, principal: PrincipalDep, notes: NotesDep) -> None:
    """Delete a note and its text (its author only)."""
    await notes.delete(principal, note_id)

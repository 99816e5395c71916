"""The words about a pairing, kept out of its events: explanations and notes.

Events are kept forever and published, so they carry numbers and closed reason codes
only (``contracts.matching``). The sentences live here, in two private tables that are
never published and that lose a person's rows when they are erased
(``PERSON_TABLES``, cleared by the ``PersonErased`` handler):

- ``pairing_explanations``: per pairing, the sentence explaining each criterion of its
  score. They quote the two people's profiles (the mentee's lacking experiences and
  learning style, the mentor's experience and leadership style), so they are written
  beside the proposal, in its transaction, and read back into the pairing's view; a
  pairing whose texts are gone (an erased person, a proposal older than this table)
  explains itself in numbers.
- ``pairing_notes``: the reason given with a step (a decline, a withdrawal, an
  ending, a ruled-out pair, a re-pairing request): its code, the free text typed with
  it (empty when the reason was given as a code only), its author and when. Only
  coordinators (and admins) and the note's author read it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.auth.principal import Principal, Role
from chassis.db import is_sqlite, read
from contracts.api.matching import PairingView
from contracts.matching import REASON_CODES, ReasonCode

NOTE_READERS = (Role.ADMIN, Role.COORDINATOR)
PROPOSED = "PairingProposed"


# An erased person's texts go: those they wrote and those about their pairings.
PERSON_TABLES: list[tuple[str, str]] = [
    ("pairing_explanations", "mentor_id"),
    ("pairing_explanations", "mentee_id"),
    ("pairing_notes", "author_id"),
    ("pairing_notes", "mentor_id"),
    ("pairing_notes", "mentee_id"),
]


async def keep_explanation(
    conn: AsyncConnection,
    tenant: str,
    pairing_id: str,
    mentor_id: str,
    mentee_id: str,
    reasons: Mapping[str, str],
) -> None:
    """The reason of each criterion of a new proposal (in its transaction)."""
    await conn.execute(
        text(
            "INSERT INTO pairing_explanations "
            "(pairing_id, tenant, mentor_id, mentee_id, reasons) "
            "VALUES (:id, :t, :m, :e, :r)"
        ),
        {
            "id": pairing_id,
            "t": tenant,
            "m": mentor_id,
            "e": mentee_id,
            "r": json.dumps(dict(reasons)),
        },
    )


async def keep_explanations(
    conn: AsyncConnection,
    tenant: str,
    rows: Sequence[tuple[str, str, str, Mapping[str, str]]],
) -> None:
    """``keep_explanation`` of many proposals (pairing, mentor, mentee, reasons) in
    one statement (a round's proposals)."""
    if not rows:
        return
    if is_sqlite(conn.engine):
        await conn.execute(
            text(
                "INSERT INTO pairing_explanations "
                "(pairing_id, tenant, mentor_id, mentee_id, reasons) "
                "VALUES (:id, :t, :m, :e, :r)"
            ),
            [
                {"id": i, "t": tenant, "m": m, "e": e, "r": json.dumps(dict(reasons))}
                for i, m, e, reasons in rows
            ],
        )
        return
    # PostgreSQL: one array per column, however many proposals.
    await conn.execute(
        text(
            "INSERT INTO pairing_explanations "
            "(pairing_id, tenant, mentor_id, mentee_id, reasons) "
            "SELECT id, :t, m, e, r FROM unnest(CAST(:ids AS text[]), "
            "CAST(:ms AS text[]), CAST(:es AS text[]), CAST(:rs AS text[])) "
            "AS x(id, m, e, r)"
        ),
        {
            "t": tenant,
            "ids": [i for i, _, _, _ in rows],
            "ms": [m for _, m, _, _ in rows],
            "es": [e for _, _, e, _ in rows],
            "rs": [json.dumps(dict(reasons)) for _, _, _, reasons in rows],
        },
    )


async def keep_note(
    conn: AsyncConnection,
    tenant: str,
    *,
    pairing_id: str | None,
    mentor_id: str,
    mentee_id: str,
    action: str,
    code: ReasonCode | None,
    author_id: str,
    body: str | None,
) -> None:
    """The reason the author gave with ``action``: its code and what they typed
    (``""`` for a code alone; nothing is kept when they gave neither)."""
    if not body and code is None:
        return
    now = datetime.now(UTC)
    await conn.execute(
        text(
            "INSERT INTO pairing_notes (note_id, tenant, pairing_id, mentor_id, "
            "mentee_id, action, code, author_id, body, written_at) VALUES "
            "(:n, :t, :p, :m, :e, :a, :c, :who, :b, :at)"
        ),
        {
            "n": str(uuid.uuid4()),
            "t": tenant,
            "p": pairing_id,
            "m": mentor_id,
            "e": mentee_id,
            "a": action,
            "c": code,
            "who": author_id,
            "b": body or "",
            "at": now.isoformat() if is_sqlite(conn.engine) else now,
        },
    )


def split_reason(
    typed: str | None,
    code: ReasonCode | None,
    default: ReasonCode = ReasonCode.OTHER,
) -> tuple[ReasonCode | None, str | None]:
    """(code for the event, text for the private note) from what a caller sent.

    A typed reason that is itself a code is taken as the code (no text to keep),
    as is one that repeats ``code``; other text goes to the note, with ``code`` or
    else ``default`` in the event."""
    if typed is not None and typed in REASON_CODES and code in (None, typed):
        return ReasonCode(typed), None
    return code or (default if typed else None), typed or None


def _fallback(part: Mapping[str, Any]) -> str:
    return (
        f"{part['criterion']}: {float(part['value']):.2f} of 1 "
        "(its explanation is no longer kept)"
    )


async def read_into(
    engine: AsyncEngine, principal: Principal, views: Sequence[dict[str, Any]]
) -> list[PairingView]:
    """``views`` with each part's reason, and the notes the caller may read.

    Two statements whatever the number of pairings. A note is read by coordinators
    and admins, and by its author; for them ``reason`` (why the pairing was
    proposed) is the text typed with the proposal, for the others its closed code
    (``reason_code`` for everyone)."""
    said, notes = await texts_of(engine, principal, [v["pairing_id"] for v in views])
    return [PairingView.model_validate(v) for v in answered(views, said, notes)]


async def texts_of(
    engine: AsyncEngine, principal: Principal, pairing_ids: Sequence[str]
) -> tuple[dict[str, dict[str, str]], dict[str, list[dict[str, Any]]]]:
    """The explanations (pairing → criterion → sentence) and the notes the caller
    may read (pairing → notes, oldest first) of these pairings: two statements."""
    ids = sorted(set(pairing_ids))
    if not ids:
        return {}, {}
    marks = ", ".join(f":id{n}" for n in range(len(ids)))
    params: dict[str, Any] = {f"id{n}": v for n, v in enumerate(ids)}
    params["t"] = principal.tenant
    reader = principal.has_role(*NOTE_READERS)
    params["who"] = principal.subject

    async def both(
        conn: AsyncConnection,
    ) -> tuple[dict[str, dict[str, str]], dict[str, list[dict[str, Any]]]]:
        notes: dict[str, list[dict[str, Any]]] = {}
        said = {
            r.pairing_id: json.loads(r.reasons)
            for r in await conn.execute(
                text(
                    "SELECT pairing_id, reasons FROM pairing_explanations "
                    f"WHERE tenant = :t AND pairing_id IN ({marks})"
                ),
                params,
            )
        }
        mine = "" if reader else " AND author_id = :who"
        for r in await conn.execute(
            text(
                "SELECT pairing_id, action, code, author_id, body, written_at "
                f"FROM pairing_notes WHERE tenant = :t AND pairing_id IN ({marks})"
                f"{mine} ORDER BY written_at, note_id"
            ),
            params,
        ):
            notes.setdefault(r.pairing_id, []).append(
                {
                    "action": r.action,
                    "code": r.code,
                    "author_id": r.author_id,
                    "text": r.body,
                    "written_at": r.written_at
                    if isinstance(r.written_at, str)
                    else r.written_at.isoformat(),
                }
            )
        return said, notes

    return await read(engine, both)


def answered(
    views: Sequence[dict[str, Any]],
    said: Mapping[str, Mapping[str, str]],
    notes: Mapping[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """``views`` as ``PairingView`` answers them, field for field and in its order,
    every value already as JSON has it: what ``read_into`` validates, and what a
    list sends as it is (``GET /pairings``; its tests hold it to the model)."""
    out = []
    for view in views:
        reasons = said.get(view["pairing_id"], {})
        kept = notes.get(view["pairing_id"], [])
        typed = [n["text"] for n in kept if n["action"] == PROPOSED and n["text"]]
        out.append(
            {
                "pairing_id": view["pairing_id"],
                "round_id": view["round_id"],
                "cohort_id": view["cohort_id"],
                "mentor_id": view["mentor_id"],
                "mentee_id": view["mentee_id"],
                "programme_type": view["programme_type"],
                "state": view["state"],
                "score": float(view["score"]),
                "parts": [
                    {
                        "criterion": p["criterion"],
                        "weight": float(p["weight"]),
                        "value": float(p["value"]),
                        "contribution": float(p["contribution"]),
                        "reason": reasons.get(p["criterion"]) or _fallback(p),
                    }
                    for p in view["parts"]
                ],
                "accepted_by": view["accepted_by"],
                "replaces": view["replaces"],
                "reason": typed[-1] if typed else view["reason"],
                "reason_code": view["reason"],
                "expires_at": view["expires_at"],
                "starts_on": view["starts_on"],
                "notes": kept,
            }
        )
    return out

"""The programme-history document: its shape, and what each service is sent.

The document (``docs/history-import.md``) refers to records by the file's own keys
and to people by their HR ``employee_id``; the services' jobs take ids. Checking the
shape happens before anything is called (a malformed document changes nothing);
the bodies are built step by step, each from what the earlier steps answered, and a
record whose reference cannot be resolved is reported here, never sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FORMAT = "tandem.programme-history/1"
PROFILES_SECTIONS = ("cohorts", "outcomes")
MATCHING_SECTIONS = ("pairings",)
SESSIONS_SECTIONS = ("contracts", "sessions", "milestones", "feedback", "check_ins")
# The order of the merged report (``contracts`` come from the pairings' ``contract``).
SECTIONS = (*PROFILES_SECTIONS, *MATCHING_SECTIONS, *SESSIONS_SECTIONS)
DOCUMENT_SECTIONS = tuple(s for s in SECTIONS if s != "contracts")
MAX_RECORDS = 20_000
MAX_KEY = 200

# Outcomes of a record in the merged report: the services' four, and one of the
# gateway's own for a dry run (the record depends on one the run would create).
NOT_CHECKED = "not_checked"
RESOLVED = frozenset({"created", "unchanged"})


@dataclass(frozen=True)
class Line:
    """One record of the merged report."""

    section: str
    key: str
    outcome: str
    code: str | None = None
    field: str | None = None
    message: str | None = None
    id: str | None = None


def problems(document: object) -> list[str]:
    """Why ``document`` is not a programme-history document (empty: it is one).

    Each problem names where it is (``pairings.3.key``). Only the shape is checked
    here; what a record says is the owning service's to judge, record by record.
    """
    if not isinstance(document, dict):
        return ["the document must be a JSON object"]
    found: list[str] = []
    if document.get("format") != FORMAT:
        found.append(f"format: must be {FORMAT!r}")
    unknown = sorted(set(document) - {"format", *DOCUMENT_SECTIONS})
    if unknown:
        found.append(
            f"{', '.join(unknown)}: not a section (sections: "
            f"{', '.join(DOCUMENT_SECTIONS)})"
        )
    total = 0
    for section in DOCUMENT_SECTIONS:
        records = document.get(section)
        if records is None:
            continue
        if not isinstance(records, list):
            found.append(f"{section}: must be a list of records")
            continue
        total += len(records)
        seen: set[str] = set()
        for i, record in enumerate(records):
            where = f"{section}.{i}"
            if not isinstance(record, dict):
                found.append(f"{where}: must be an object")
                continue
            key = record.get("key")
            if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
                found.append(f"{where}.key: 1 to {MAX_KEY} characters are required")
            elif key in seen:
                found.append(f"{where}.key: {key!r} appears twice in {section}")
            else:
                seen.add(key)
            contract = record.get("contract") if section == "pairings" else None
            if contract is not None and not isinstance(contract, dict):
                found.append(f"{where}.contract: must be an object")
    if total > MAX_RECORDS:
        found.append(f"at most {MAX_RECORDS} records in one document ({total} sent)")
    return found


def records(document: Mapping[str, Any], section: str) -> list[dict[str, Any]]:
    return list(document.get(section) or [])


def profiles_body(document: Mapping[str, Any]) -> dict[str, Any]:
    """What profiles is sent: its sections, as the file has them."""
    return {s: records(document, s) for s in PROFILES_SECTIONS if records(document, s)}


def employee_ids(document: Mapping[str, Any]) -> set[str]:
    """The employee ids the pairings and check-ins name (the gateway resolves
    them; profiles resolves those of its own sections)."""
    found: set[str] = set()
    for p in records(document, "pairings"):
        for side in ("mentor", "mentee"):
            if isinstance(p.get(side), str):
                found.add(p[side])
    for c in records(document, "check_ins"):
        if isinstance(c.get("sponsor"), str):
            found.add(c["sponsor"])
    return found


def _unresolved(
    section: str,
    key: str,
    field: str,
    ref: object,
    target: str,
    done: Mapping[str, Line],
) -> Line | None:
    """The line of a record whose ``field`` refers to ``ref`` in ``target``, when
    that reference is not (yet) an id; ``None`` when it is."""
    if not isinstance(ref, str) or ref not in done:
        return Line(
            section,
            key,
            "failed",
            f"unknown_{target.rstrip('s')}",
            field,
            f"{field}: no {target.rstrip('s')} {ref!r} in this document",
        )
    parent = done[ref]
    if parent.outcome in RESOLVED and parent.id:
        return None
    if parent.outcome in ("would_create", NOT_CHECKED):
        return Line(
            section,
            key,
            NOT_CHECKED,
            None,
            field,
            f"{field}: {target.rstrip('s')} {ref!r} would be created by this "
            "import; the record is checked when it is imported",
        )
    return Line(
        section,
        key,
        "failed",
        "dependency_failed",
        field,
        f"{field}: {target.rstrip('s')} {ref!r} was not imported",
    )


def matching_body(
    document: Mapping[str, Any],
    cohorts: Mapping[str, Line],
    people: Mapping[str, str],
) -> tuple[list[dict[str, Any]], list[Line]]:
    """``(pairings for matching, lines of the pairings not sent)``.

    ``cohorts``: the cohorts section's lines by key (their ids once imported);
    ``people``: person id by employee id.
    """
    programme = {
        c["key"]: c.get("programme_type") for c in records(document, "cohorts")
    }
    body: list[dict[str, Any]] = []
    lines: list[Line] = []
    for p in records(document, "pairings"):
        key = p["key"]
        missing = [
            side
            for side in ("mentor", "mentee")
            if not isinstance(p.get(side), str) or p[side] not in people
        ]
        if missing:
            side = missing[0]
            lines.append(
                Line(
                    "pairings",
                    key,
                    "failed",
                    "unknown_person",
                    side,
                    f"{side}: no person with employee id {p.get(side)!r}",
                )
            )
            continue
        blocked = _unresolved(
            "pairings", key, "cohort", p.get("cohort"), "cohorts", cohorts
        )
        if blocked is not None:
            lines.append(blocked)
            continue
        item: dict[str, Any] = {
            "key": key,
            "cohort_id": cohorts[p["cohort"]].id,
            "mentor_id": people[p["mentor"]],
            "mentee_id": people[p["mentee"]],
            "programme_type": programme.get(p["cohort"]),
            "approved_on": p.get("approved_on"),
            "starts_on": p.get("starts_on"),
        }
        for optional in ("ended_on", "end_reason"):
            if p.get(optional) is not None:
                item[optional] = p[optional]
        body.append(item)
    return body, lines


def sessions_body(
    document: Mapping[str, Any],
    pairings: Mapping[str, Line],
    people: Mapping[str, str] | None = None,
) -> tuple[dict[str, list[dict[str, Any]]], list[Line]]:
    """``(sections for sessions, lines of the records not sent)``: each record's
    ``pairing`` key becomes the pairing's id (``relationship_id``), a check-in's
    ``sponsor`` (employee id) the sponsor's person id (``sponsor_id``); a pairing's
    ``contract`` becomes a record of ``contracts`` under the pairing's key."""
    people = people or {}
    body: dict[str, list[dict[str, Any]]] = {}
    lines: list[Line] = []
    for p in records(document, "pairings"):
        contract = p.get("contract")
        if not contract:
            continue
        blocked = _unresolved(
            "contracts", p["key"], "pairing", p["key"], "pairings", pairings
        )
        if blocked is not None:
            lines.append(blocked)
            continue
        body.setdefault("contracts", []).append(
            {
                "key": p["key"],
                "relationship_id": pairings[p["key"]].id,
                "every_days": contract.get("every_days"),
                "minutes": contract.get("minutes"),
                "objectives": contract.get("objectives"),
                "signed_on": contract.get("signed_on") or p.get("starts_on"),
            }
        )
    for section in SESSIONS_SECTIONS[1:]:
        for record in records(document, section):
            key = record["key"]
            blocked = _unresolved(
                section, key, "pairing", record.get("pairing"), "pairings", pairings
            )
            if blocked is not None:
                lines.append(blocked)
                continue
            item = {k: v for k, v in record.items() if k not in ("pairing", "sponsor")}
            item["relationship_id"] = pairings[record["pairing"]].id
            if record.get("sponsor") is not None:
                sponsor = record["sponsor"]
                if not isinstance(sponsor, str) or sponsor not in people:
                    lines.append(
                        Line(
                            section,
                            key,
                            "failed",
                            "unknown_person",
                            "sponsor",
                            f"sponsor: no person with employee id {sponsor!r}",
                        )
                    )
                    continue
                item["sponsor_id"] = people[sponsor]
            body.setdefault(section, []).append(item)
    return body, lines


def relationship_ids(body: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    """The relationships the sessions body refers to, once each, in order."""
    return list(dict.fromkeys(r["relationship_id"] for rs in body.values() for r in rs))


def ordered(document: Mapping[str, Any], lines: list[Line]) -> list[Line]:
    """``lines`` in the report's order: section by section, each in file order."""
    position: dict[tuple[str, str], int] = {}
    for section in DOCUMENT_SECTIONS:
        for i, r in enumerate(records(document, section)):
            position[(section, r["key"])] = i
    for i, p in enumerate(records(document, "pairings")):
        position[("contracts", p["key"])] = i
    rank = {s: n for n, s in enumerate(SECTIONS)}
    return sorted(
        lines,
        key=lambda ln: (
            rank.get(ln.section, len(rank)),
            position.get((ln.section, ln.key), 1 << 30),
            ln.key,
        ),
    )

"""CSV exports of insights reports (framework-free).

Every report is exported in one long format, so a spreadsheet or an HRIS import can
read any of them the same way: one row per figure, with the report's scope and
``as_of``, the member it is about (empty for the report itself), the perspective
and the measure's dotted name. Nested lists are numbered (``goals.0.change``); the
competency id of a goal is kept in its own column. Text cells are written through
``chassis.exports`` (no spreadsheet formula can ride in a name).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping

from chassis.exports import SafeDictWriter

COLUMNS = ("scope", "scope_id", "as_of", "member", "perspective", "measure", "value")
PERSPECTIVES = ("skill_growth", "behaviour", "impact")


Cell = str | int | float


def _flatten(value: object, prefix: str) -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        for i, inner in enumerate(value):
            name = inner.get("competency_id", i) if isinstance(inner, dict) else i
            yield from _flatten(inner, f"{prefix}.{name}")
    elif isinstance(value, list):
        yield prefix, ";".join(str(v) for v in value)
    else:
        yield prefix, value


def _cell(value: object) -> Cell:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value  # a number, never mistaken for a formula (chassis.exports)
    return str(value)


def report_rows(report: Mapping[str, object]) -> list[dict[str, Cell]]:
    """The figures of a report as CSV rows (see the module docstring)."""
    base: dict[str, Cell] = {
        "scope": _cell(report.get("scope", "")),
        "scope_id": _cell(report.get("id")),
        "as_of": _cell(report.get("as_of")),
    }
    rows: list[dict[str, Cell]] = []

    def add(member: str, part: Mapping[str, object]) -> None:
        for perspective in PERSPECTIVES:
            for measure, value in _flatten(part.get(perspective, {}), ""):
                if measure.endswith(".competency_id"):
                    continue
                rows.append(
                    {
                        **base,
                        "member": member,
                        "perspective": perspective,
                        "measure": measure,
                        "value": _cell(value),
                    }
                )

    add("", report)
    members = report.get("members")
    for member in members if isinstance(members, list) else []:
        add(str(member.get("mentee_id", "")), member)
    return rows


def to_csv(report: Mapping[str, object]) -> str:
    """One report as CSV text (header row first)."""
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(report_rows(report))
    return out.getvalue()

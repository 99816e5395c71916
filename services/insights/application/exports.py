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
from collections.abc import Iterator
from typing import Any

from chassis.exports import SafeDictWriter

COLUMNS = ("scope", "scope_id", "as_of", "member", "perspective", "measure", "value")
PERSPECTIVES = ("skill_growth", "behaviour", "impact")


def _flatten(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
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


def _cell(value: Any) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value  # a number, never mistaken for a formula (chassis.exports)
    return str(value)


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures of a report as CSV rows (see the module docstring)."""
    base = {
        "scope": report.get("scope", ""),
        "scope_id": _cell(report.get("id")),
        "as_of": _cell(report.get("as_of")),
    }
    rows: list[dict[str, Any]] = []

    def add(member: str, part: dict[str, Any]) -> None:
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
    for member in report.get("members", []):
        add(str(member.get("mentee_id", "")), member)
    return rows


def to_csv(report: dict[str, Any]) -> str:
    """One report as CSV text (header row first)."""
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(report_rows(report))
    return out.getvalue()

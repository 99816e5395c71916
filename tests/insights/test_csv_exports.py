"""CSV formula injection (OWASP): every CSV insights returns goes through
``chassis.exports``, so text a person typed can never run in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest

from chassis.exports import SafeDictWriter, csv_safe, rendered
from services.insights.application import exports

ATTACKS = ["=1+1", "+1+1", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A9)", "\tx", "\rx"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_text_a_spreadsheet_would_run_is_quoted(attack):
    assert csv_safe(attack) == "'" + attack
    out = io.StringIO()
    writer = SafeDictWriter(out, ["group", "n"])
    writer.writeheader()
    writer.writerow({"group": attack, "n": 3})
    (row,) = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row == {"group": "'" + attack, "n": "3"}


def test_plain_text_and_numbers_are_left_alone():
    assert csv_safe("Retail") == "Retail" and csv_safe("a=b") == "a=b"
    assert csv_safe(-0.5) == -0.5 and csv_safe(None) is None and csv_safe(True)


def test_a_scorecard_export_quotes_a_formula_in_any_cell():
    report = {
        "scope": "=cmd",
        "id": "@id",
        "as_of": "2027-06-01",
        "skill_growth": {"note": '+HYPERLINK("http://evil")', "delta": -0.5},
        "members": [{"mentee_id": "-2+3", "impact": {"label": "\tx"}}],
    }
    rows = list(csv.DictReader(io.StringIO(exports.to_csv(report))))
    cells = [v for row in rows for v in row.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert "'=cmd" in cells and "'@id" in cells and "'-2+3" in cells
    assert "-0.5" in cells  # a number stays a number


def test_one_helper_answers_a_report_as_json_or_as_escaped_csv():
    report = {"groups": [{"group": "=HYPERLINK(1)", "n": -0.5}]}

    def rows(r):
        return r["groups"]

    assert rendered(report, "json", rows, ["group", "n"]) is report
    answer = rendered(report, "csv", rows, ["group", "n"], filename="r.csv")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="r.csv"'
    assert answer.body.decode() == "group,n\r\n'=HYPERLINK(1),-0.5\r\n"
    with pytest.raises(ValueError):
        rendered(report, "xml", rows, ["group", "n"])

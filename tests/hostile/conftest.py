"""The hostile suite's summary: one line per service and a total, after the run.

``HOSTILE_REPORT=path.json`` also writes every finding (5xx, refusals that changed
state, accepted values, references accepted by writes) to that file.
"""

from __future__ import annotations

import json
import os

from tests.hostile.verdicts import COLLECTED, total


def pytest_terminal_summary(terminalreporter) -> None:
    if not COLLECTED:
        return
    terminalreporter.section("hostile input")
    reports = [COLLECTED[name] for name in sorted(COLLECTED)]
    for report in reports:
        terminalreporter.write_line(report.tally.line(f"hostile[{report.service}]"))
    terminalreporter.write_line(total(reports).line("hostile"))
    path = os.environ.get("HOSTILE_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump([r.as_json() for r in reports], out, indent=1)
        terminalreporter.write_line(f"hostile: findings written to {path}")

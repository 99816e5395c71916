"""Write each service's OpenAPI document to ``docs/openapi/<service>.json``.

    python -m launcher.openapi_export                    # refuses a breaking change
    python -m launcher.openapi_export --accept-breaking  # after reviewing it
    python -m launcher.openapi_export profiles           # one service

The documents are committed and reviewed like code (as ``schema.graphql`` is): the
test suite fails while one differs from what the code serves, and this command
refuses to write a change that would break a client written against the committed
document (an operation or response field removed, a type changed, a new required
input …) unless ``--accept-breaking`` is given.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from chassis.http.openapi import breaking_changes, documented
from chassis.messaging.inprocess import InProcessBus
from launcher.registry import SERVICES

DOCS = Path(__file__).resolve().parent.parent / "docs" / "openapi"


def document_file(service: str) -> Path:
    return DOCS / f"{service}.json"


def current(service: str) -> dict[str, Any]:
    """The document ``service`` serves (built without a deployment's secrets)."""
    module = importlib.import_module(SERVICES[service])
    settings = module.Settings(
        environment="development",
        database_url="sqlite+aiosqlite:///:memory:",
        kafka_bootstrap_servers=None,
        migrate_on_start=False,
    )
    app = module.build_app(settings, transport=InProcessBus())
    return documented(app)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", metavar="SERVICE")
    parser.add_argument("--accept-breaking", action="store_true")
    args = parser.parse_args(argv)
    refused = False
    DOCS.mkdir(parents=True, exist_ok=True)
    for service in args.services or list(SERVICES):
        new = current(service)
        path = document_file(service)
        if path.exists() and not args.accept_breaking:
            changes = breaking_changes(json.loads(path.read_text()), new)
            if changes:
                for change in changes:
                    print(f"{service}: breaking: {change}")
                refused = True
                continue
        path.write_text(render(new))
        print(f"wrote {path.relative_to(DOCS.parent.parent)}")
    if refused:
        print("refused; review, then run with --accept-breaking", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

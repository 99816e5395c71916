"""Write the gateway's schema to ``schema.graphql`` (committed, reviewed like code).

    python -m gateway.schema_export                    # refuses a breaking change
    python -m gateway.schema_export --accept-breaking  # after reviewing it

A change that can break a client (a field or type removed, a type changed, an
argument made required …) is refused unless ``--accept-breaking`` is given; the test
suite fails while ``schema.graphql`` differs from the code in any way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from graphql import BreakingChange, build_schema, find_breaking_changes

from gateway.schema import build_schema as build_gateway_schema
from gateway.settings import GatewaySettings

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def current_sdl() -> str:
    # The SDL does not depend on the deployment: no secrets are needed to print it.
    settings = GatewaySettings(environment="development")
    return build_gateway_schema(settings).as_str() + "\n"


def breaking_changes(old_sdl: str, new_sdl: str) -> list[BreakingChange]:
    return find_breaking_changes(build_schema(old_sdl), build_schema(new_sdl))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accept-breaking", action="store_true")
    parser.add_argument("--output", type=Path, default=SCHEMA_FILE)
    args = parser.parse_args(argv)
    new = current_sdl()
    if args.output.exists() and not args.accept_breaking:
        changes = breaking_changes(args.output.read_text(), new)
        if changes:
            for change in changes:
                print(f"breaking: {change.type.name}: {change.description}")
            print("refused; review, then run with --accept-breaking", file=sys.stderr)
            return 1
    args.output.write_text(new)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

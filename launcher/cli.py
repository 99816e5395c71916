"""Command line of the launcher."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from chassis.auth.tokens import mint_token
from chassis.settings import DEFAULT_DEV_SECRET
from launcher.embedded import build_platform


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tandem", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the whole platform in one process (embedded)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument(
        "--data", default=".tandem/embedded", help="folder for SQLite files"
    )
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    app = build_platform(args.data)
    token = mint_token(
        DEFAULT_DEV_SECRET,
        subject="demo-coordinator",
        tenant="demo",
        roles=["admin", "coordinator"],
        issuer="tandem-dev",
        audience="tandem",
        ttl_s=12 * 3600,
    )
    base = f"http://{args.host}:{args.port}"
    print(f"Tandem (embedded: SQLite in {args.data}, in-process bus) on {base}")
    print(f"  platform: {base}/   health: {base}/healthz   ready: {base}/readyz")
    print(f"  GraphQL (GraphiQL in a browser): {base}/graphql")
    for name in app.state.services:
        print(f"  {name}: {base}/{name}/docs")
    print(f"Development token (tenant 'demo', admin+coordinator, 12 h):\n  {token}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0

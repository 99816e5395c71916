"""Command line of the launcher: ``tandem up`` runs the platform and seeds the demo.

The server starts first (``/healthz`` answers at once); the demo organisation is then
seeded through the platform's own APIs, in-process, with a progress line per step on
stderr. A data folder holding ``demo.json`` is already seeded and is served as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO, get_args

import httpx
import uvicorn
from fastapi import FastAPI

from chassis.settings import Environment
from launcher.demo import STEPS, DemoFacts, load_facts, seed_demo
from launcher.demo.facts import FILE_NAME, TENANT, dev_token
from launcher.demo.integrator import loopback_base
from launcher.embedded import build_platform
from launcher.registry import SERVICES

BAR = 24
EXAMPLES = (
    (
        "Relationships at risk, with the reasons",
        "{ earlyWarnings(first: 5) { edges { node { state reasons "
        "mentee { givenName familyName } mentor { givenName familyName } } } } }",
    ),
    (
        "The programme scorecard's business impact",
        "{ programmeScorecard { menteeCount businessImpact { participants "
        "{ people promoted promotionRate } lift { promotionRate } } } }",
    ),
    (
        "Pairs awaiting approval, explained",
        "{ pairings(status: PROPOSED, first: 3) { edges { node { score "
        "mentee { givenName } mentor { givenName } "
        "explanation { criterion contribution reason } } } } }",
    ),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tandem", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the whole platform in one process (embedded)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument(
        "--data", default=".tandem/embedded", help="folder for SQLite files"
    )
    up.add_argument(
        "--no-seed", action="store_true", help="do not seed the demo organisation"
    )
    up.add_argument(
        "--reset",
        action="store_true",
        help="delete the folder's databases and demo facts first, then start over",
    )
    up.add_argument(
        "--seed", type=int, default=7, help="demo seed (same seed, same organisation)"
    )
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    data = Path(args.data)
    taken = port_taken(args.host, args.port)
    if taken:
        print(
            f"tandem: cannot listen on {args.host}:{args.port}: {taken}",
            file=sys.stderr,
        )
        return 1
    if args.reset:
        removed = reset(data)
        print(f"tandem: --reset removed {removed} file(s) from {data}", file=sys.stderr)
    environment = embedded_environment(os.environ)
    try:
        app = build_platform(data, environment=environment)
    except ValueError as exc:  # pydantic's ValidationError: a refused setting
        print(
            f"tandem: cannot start (ENVIRONMENT={environment}): {exc}", file=sys.stderr
        )
        return 2
    base = f"http://{args.host}:{args.port}"
    print(f"Tandem (embedded: SQLite in {data}, in-process bus) on {base}")
    print(f"  platform: {base}/   health: {base}/healthz   ready: {base}/readyz")
    print(f"  GraphQL (GraphiQL in a browser): {base}/graphql")
    print(f"  programme dashboard (sign in as a demo user): {base}/dashboard/")
    if environment == "development":
        print(f"  demo sign-in tokens: {base}/dev/tokens")
    for name in app.state.services:
        print(f"  {name}: {base}/{name}/docs")
    sys.stdout.flush()
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")
    try:
        asyncio.run(serve(uvicorn.Server(config), app, data, args))
    except KeyboardInterrupt:
        pass
    return 0


def embedded_environment(environ: Mapping[str, str]) -> Environment:
    """The launcher asks for development unless ``ENVIRONMENT`` says otherwise."""
    value = environ.get("ENVIRONMENT", "").strip().lower() or "development"
    if value not in get_args(Environment):
        raise SystemExit(f"tandem: unknown ENVIRONMENT={value!r}")
    return value  # type: ignore[return-value]


def port_taken(host: str, port: int) -> str | None:
    """Why the server could not listen there (checked before touching any data)."""
    try:
        socket.create_server((host, port)).close()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def reset(data: Path) -> int:
    """Delete what the launcher wrote in ``data`` (and nothing else); how many files."""
    if not data.is_dir():
        return 0
    names = {FILE_NAME}
    for service in SERVICES:
        names |= {f"{service}.db", f"{service}.db-wal", f"{service}.db-shm"}
    removed = 0
    for path in data.iterdir():
        if path.name in names and path.is_file():
            path.unlink()
            removed += 1
    return removed


def fresh(data: Path) -> bool:
    """No service has written anything in ``data`` yet (checked before startup)."""
    return not any((data / f"{service}.db").exists() for service in SERVICES)


async def serve(
    server: uvicorn.Server, app: FastAPI, data: Path, args: argparse.Namespace
) -> None:
    """Serve; seed or describe the demo once the server has started."""
    was_fresh = fresh(data)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():  # e.g. the port was taken meanwhile: uvicorn said why
            return
        await asyncio.sleep(0.05)
    base = f"http://{args.host}:{args.port}"
    work = asyncio.create_task(prepare(app, data, args, was_fresh, base))
    await asyncio.wait({serving, work}, return_when=asyncio.FIRST_COMPLETED)
    if not work.done():  # stopped while seeding: the folder has no demo.json
        work.cancel()
    await serving


async def prepare(
    app: FastAPI, data: Path, args: argparse.Namespace, was_fresh: bool, base: str
) -> None:
    facts = load_facts(data)
    if facts is not None:
        print(f"Demo data already seeded in {data} (--reset to start over).")
    elif args.no_seed:
        print_token()
        return
    elif not was_fresh:
        print(
            f"Not seeding: {data} holds data but no {FILE_NAME} "
            "(--reset to start over, --no-seed to keep it as it is)."
        )
        print_token()
        return
    else:
        print(f"Seeding the demo organisation (seed {args.seed}) …", file=sys.stderr)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://tandem", timeout=120
        ) as client:
            try:
                facts = await seed_demo(
                    client,
                    seed=args.seed,
                    progress=ProgressBar(sys.stderr),
                    # The demo's webhook endpoint: this platform's demo integrator.
                    integrator=getattr(app.state, "integrator", None),
                    served_at=loopback_base(args.host, args.port),
                )
            except Exception as exc:  # the platform keeps serving, unseeded
                print(f"tandem: seeding failed: {exc}", file=sys.stderr)
                print_token()
                return
        facts.save(data)
    describe(facts, base)


class ProgressBar:
    """One line per step on a stream: redrawn in place on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.current: str | None = None

    def __call__(self, step: str, done: int, total: int) -> None:
        number = STEPS.index(step) + 1 if step in STEPS else 0
        filled = BAR * done // max(total, 1)
        line = (
            f"  [{number:2d}/{len(STEPS)}] {step:<24} "
            f"[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total}"
        )
        finished = done >= total
        if self.live:
            self.stream.write("\r" + line + ("\n" if finished else ""))
            self.stream.flush()
        elif finished:
            self.stream.write(line + "\n")
            self.stream.flush()


def print_token(out: Callable[[str], None] = print) -> None:
    token = dev_token("demo-coordinator", ["admin", "coordinator"])
    out(f"Development token (tenant '{TENANT}', admin+coordinator, 24 h):\n  {token}")


def describe(facts: DemoFacts, base: str, out: Callable[[str], None] = print) -> None:
    """The demo's users with their tokens, what was planted, and queries to try."""
    c = facts.counts
    out(
        f"Demo organisation '{facts.organisation}' (tenant '{facts.tenant}'): "
        f"{c.get('people')} people, {c.get('pairs')} pairs, "
        f"{c.get('sessions_held')} sessions held, {c.get('advisors')} advisors, "
        f"{c.get('proposed_pairs')} pairs awaiting approval."
    )
    out(
        f"  stalled pair: {facts.stalled_mentee.name} with "
        f"{facts.stalled_mentor.name}; promoted: {facts.promoted.name}; suppressed: "
        f"{facts.suppressed_group['dimension']} = {facts.suppressed_group['value']}"
    )
    if facts.webhook_url:
        out(
            f"  webhook endpoint (the demo integrator, development only): "
            f"{facts.webhook_url}; {c.get('webhook_deliveries')} deliveries, "
            f"{c.get('webhook_retried')} retried"
        )
    out("Demo users (paste a token into GraphiQL's headers as "
        '{"Authorization": "Bearer <token>"}; 24 h):')  # fmt: skip
    for user in facts.users:
        out(f"  {user.name} ({', '.join(user.roles)}): {user.token}")
    out(f"Try in GraphiQL ({base}/graphql), e.g. as {facts.user('coordinator').name}:")
    for title, query in EXAMPLES:
        out(f"  # {title}\n  {query}")
    sys.stdout.flush()

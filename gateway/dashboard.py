"""The reference programme dashboard (``portal/``), served at ``/dashboard``.

The dashboard is a static build (``cd portal && npm ci && npm run build`` writes
``portal/dist``) that talks to this gateway's public ``/graphql`` only. Every path
under ``/dashboard/`` that is not a built file answers ``index.html``, so the
dashboard's own routes (``/dashboard/equity``, ``/dashboard/rounds/<id>``) survive a
reload; a missing asset (a path with a file extension) is a plain 404. When nothing
is built, ``/dashboard`` answers a 404 page that says how to build it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from gateway.settings import GatewaySettings

PREFIX = "/dashboard"
DIST = Path(__file__).resolve().parent.parent / "portal" / "dist"

# The dashboard runs only its own script and talks only to its own origin (HTTP and
# the subscription websocket). ECharts sets inline styles, hence 'unsafe-inline'
# for styles only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dashboard not built</title></head>
<body><main>
<h1>The Tandem dashboard is not built</h1>
<p>This gateway serves the dashboard from <code>portal/dist</code>, which does not
exist yet. Build it once (Node.js 20.19 or later):</p>
<pre>cd portal
npm ci
npm run build</pre>
<p>then reload this page. The GraphQL API is at <a href="/graphql">/graphql</a>.</p>
</main></body></html>
"""


def _inside(root: Path, relative: str) -> Path | None:
    """The file ``relative`` under ``root``, or None (missing, or outside ``root``)."""
    candidate = (root / relative).resolve()
    if candidate.is_file() and candidate.is_relative_to(root):
        return candidate
    return None


def mount_dashboard(
    app: FastAPI, settings: GatewaySettings, dist: Path | None = None
) -> None:
    """Serve the built dashboard at ``/dashboard`` (a how-to-build 404 without one)."""
    root = (dist or DIST).resolve()
    index = root / "index.html"

    @app.get(PREFIX, include_in_schema=False)
    async def dashboard_root() -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    @app.get(PREFIX + "/{path:path}", include_in_schema=False)
    async def dashboard(path: str) -> Response:
        """A built file, else the dashboard's index.html for its own routes."""
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=404)
        found = _inside(root, path) if path else None
        if found is not None and found != index:
            # Vite names assets by content hash: they never change under one name.
            immutable = found.parent.name == "assets"
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(found, headers={"cache-control": cache})
        if "." in path.rsplit("/", 1)[-1]:
            return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(
            index,
            media_type="text/html",
            headers={"cache-control": "no-cache", "content-security-policy": CSP},
        )

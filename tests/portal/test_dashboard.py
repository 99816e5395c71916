"""The programme dashboard in a real browser, against the seeded demo organisation.

The dashboard (``portal/``) is installed from its lock file and built when needed,
the embedded platform is started as its own process on a free port with a fresh data
folder (``python -m launcher up``, which seeds the demo), and the browser scenarios
(``portal/e2e``, node's test runner driving Debian's chromium through
playwright-core) run against it. Each scenario is reported here as its own test.
Screenshots of every page land in ``test-artifacts/portal/``.

Nothing is skipped: without Node.js or chromium these tests fail and say how to get
them (``deploy/bootstrap.sh`` installs chromium).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from gateway.dashboard import mount_dashboard
from gateway.settings import GatewaySettings
from tests.support.waiting import until_sync

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal"
ARTIFACTS = ROOT / "test-artifacts" / "portal"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
NODE_MIN = (20, 19)

# The scenarios of portal/e2e/dashboard.test.mjs, by their names there.
SCENARIOS = {
    "sign-in": "sign-in offers the demo users and keeps the token in the tab only",
    "overview": "the overview renders its charts with the API's numbers",
    "at-risk": "an at-risk pair is listed with the reasons that fired, "
    "and its timeline opens",
    "approve": "a coordinator approves a proposed pair and the page updates",
    "advisors-circles-reasons": "advisor mentors, group circles and decline "
    "reasons show on their rounds",
    "equity": "a suppressed equity group shows as suppressed, never as zero",
    "scorecard": "the cohort scorecard shows its three perspectives as of a "
    "chosen date",
    "impact": "mentor impact per quarter exports the figures on screen as CSV",
    "pin-forbid-live-round": "pin a pair and re-run, forbid a pair, then a new "
    "round followed live",
    "own-page": "a mentee and a mentor signing in see their own page",
    "notifications-webhooks": "a person's notification inbox and an admin's "
    "webhook deliveries",
}
SCREENSHOTS = (
    "01-sign-in",
    "02-overview",
    "03-relationship-health",
    "04-relationship-timeline",
    "04b-relationship-timeline-notes",
    "05-matching-round",
    "06-matching-round-approved",
    "07-equity",
    "08-cohort-scorecard",
    "08b-cohort-scorecard-past",
    "09-mentor-impact",
    "09b-mentor-impact-last-quarter",
    "10-round-rerun-with-pin",
    "11-round-completed",
    "12-external-round-advisors",
    "13-group-round-circles",
    "14-my-mentoring-mentee",
    "15-my-mentoring-mentor",
    "16-notifications-inbox",
    "17-webhook-deliveries",
)
SETUP_HINT = (
    "install Node.js >= 20.19 with npm, and run deploy/bootstrap.sh (it installs "
    "Debian's chromium for these tests)"
)


def _run(cmd: list[str], timeout_s: float) -> None:
    done = subprocess.run(
        cmd, cwd=PORTAL, capture_output=True, text=True, timeout=timeout_s
    )
    if done.returncode != 0:
        pytest.fail(
            f"`{' '.join(cmd)}` failed in portal/:\n{done.stdout[-4000:]}\n"
            f"{done.stderr[-4000:]}"
        )


def _newest(paths: list[Path]) -> float:
    stamps = [
        f.stat().st_mtime
        for p in paths
        for f in ([p] if p.is_file() else p.rglob("*"))
        if f.is_file()
    ]
    return max(stamps, default=0.0)


def _prepare_portal() -> None:
    """``npm ci`` when the lock file changed, ``npm run build`` when sources did."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail(f"Node.js is not installed: {SETUP_HINT}")
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    if found < NODE_MIN:
        pytest.fail(f"Node.js {version.strip()} is too old: {SETUP_HINT}")
    if not CHROMIUM.exists():
        pytest.fail(f"chromium is not installed at {CHROMIUM}: {SETUP_HINT}")
    installed = PORTAL / "node_modules" / ".package-lock.json"
    lock = PORTAL / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        _run([npm, "ci", "--no-audit", "--no-fund"], timeout_s=900)
    built = PORTAL / "dist" / "index.html"
    sources = [
        PORTAL / "src",
        PORTAL / "scripts",
        PORTAL / "index.html",
        PORTAL / "vite.config.ts",
        PORTAL / "tsconfig.json",
        lock,
        ROOT / "schema.graphql",
    ]
    if not built.exists() or built.stat().st_mtime < _newest(sources):
        # Also checks that src/generated/graphql.ts matches schema.graphql and that
        # the TypeScript compiles.
        _run([npm, "run", "build"], timeout_s=900)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_demo(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the platform answers /dev/tokens (the demo is seeded)."""

    def seeded() -> bool:
        try:
            return httpx.get(f"{base}/dev/tokens", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def exited() -> str | None:
        return (
            None if proc.poll() is None else f"the platform exited ({proc.returncode})"
        )

    try:
        until_sync(
            seeded,
            "the demo to be seeded",
            600,
            interval_s=0.5,
            give_up=exited,
            detail=lambda: log.read_text()[-4000:],
        )
    except AssertionError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def demo_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The embedded platform with the demo organisation, as its own process."""
    _prepare_portal()
    data = tmp_path_factory.mktemp("demo")
    port = _free_port()
    log = data / "platform.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "launcher",
                "up",
                "--port",
                str(port),
                "--data",
                str(data),
            ],
            cwd=ROOT,
            # The demo signs people in through /dev/tokens: development only.
            env={**os.environ, "ENVIRONMENT": "development"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_demo(base, proc, log)
        yield {"base": base, "data": data, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Scenarios:
    outcomes: dict[str, str]  # scenario name -> "ok" or "not ok"
    report: str  # the TAP output


@pytest.fixture(scope="module")
def scenarios(demo_platform: dict) -> Scenarios:
    """Runs the browser scenarios once; each one's outcome and its report."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    env = {
        **os.environ,
        "TANDEM_BASE_URL": demo_platform["base"],
        "TANDEM_ARTIFACTS": str(ARTIFACTS),
        "TANDEM_DEMO_JSON": str(demo_platform["data"] / "demo.json"),
        "CHROMIUM": str(CHROMIUM),
    }
    done = subprocess.run(
        ["node", "--test", "--test-concurrency=1", "--test-reporter=tap", "e2e/"],
        cwd=PORTAL,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    report = done.stdout + done.stderr
    (ARTIFACTS / "e2e.tap").write_text(report)
    outcomes: dict[str, str] = {}
    for match in re.finditer(r"^\s*(not ok|ok) \d+ - (.+?)(?: # .*)?$", report, re.M):
        outcomes[match.group(2)] = match.group(1)
    return Scenarios(outcomes, report)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_dashboard_scenario(scenarios: Scenarios, scenario: str) -> None:
    name = SCENARIOS[scenario]
    outcome = scenarios.outcomes.get(name)
    assert outcome is not None, f"the scenario did not run:\n{scenarios.report}"
    if outcome != "ok":
        block = _block(scenarios.report, name)
        pytest.fail(f"browser scenario failed: {name}\n{block}")


def test_every_page_has_a_screenshot(scenarios: Scenarios) -> None:
    missing = [s for s in SCREENSHOTS if not (ARTIFACTS / f"{s}.png").exists()]
    assert not missing, f"no screenshot of {missing}"


def test_the_platform_serves_the_dashboard_and_its_client_routes(
    demo_platform: dict,
) -> None:
    base = demo_platform["base"]
    page = httpx.get(f"{base}/dashboard/rounds/some-round")
    assert page.status_code == 200
    assert '<div id="app">' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    asset = re.search(r'src="(/dashboard/assets/[^"]+\.js)"', page.text)
    assert asset, page.text
    script = httpx.get(base + asset.group(1))
    assert script.status_code == 200
    assert "immutable" in script.headers["cache-control"]
    assert httpx.get(f"{base}/dashboard/assets/missing.js").status_code == 404
    moved = httpx.get(f"{base}/dashboard")
    assert moved.status_code == 308 and moved.headers["location"] == "/dashboard/"


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    )


async def test_without_a_build_the_dashboard_says_how_to_build_it(
    tmp_path: Path,
) -> None:
    app = FastAPI()
    mount_dashboard(app, GatewaySettings(), dist=tmp_path / "dist")
    async with _client(app) as client:
        answer = await client.get("/dashboard/overview")
    assert answer.status_code == 404
    assert "npm run build" in answer.text and "npm ci" in answer.text


async def test_nothing_outside_the_build_is_served(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>x</title>")
    (tmp_path / "secret.txt").write_text("not for the web")
    app = FastAPI()
    mount_dashboard(app, GatewaySettings(), dist=dist)
    async with _client(app) as client:
        for path in ("/dashboard/../secret.txt", "/dashboard/%2e%2e/secret.txt"):
            answer = await client.get(path)
            assert "not for the web" not in answer.text


def _block(report: str, name: str) -> str:
    """The TAP lines of one scenario's failure."""
    at = report.find(f"- {name}")
    return report[at : at + 3000] if at >= 0 else report[-3000:]

"""docker-compose.yml and the images it runs, checked without a Docker engine.

First compose-go, the loader of Docker Compose itself, loads the file as
``docker compose config`` would (schema, interpolation, references). Then the file is
loaded as YAML (anchors and merge keys resolved) and interpolated the way Compose does
it, checked against compose-go's result, so each check sees what ``docker compose up``
would run: healthchecks, ordered start-up, secrets that must be given, one image for
every Tandem process, a migration before each service, the topics the code uses, and
settings every process accepts in production. The PostgreSQL init script runs against
the real server of the test session.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from deploy.local.postgres import PostgresServer
from gateway.settings import SERVICES as GATEWAY_CALLS
from launcher.registry import SERVICES
from tests.deploy.conftest import ROOT, Process, settings_fields

COMPOSE_FILE = ROOT / "docker-compose.yml"
SECRETS = {
    "JWT_SECRET",
    "POSTGRES_PASSWORD",
    "PROFILES_MASTER_KEY",
    "ADVISORS_MASTER_KEY",
    "SESSIONS_PULSE_KEY",
    "SESSIONS_MASTER_KEY",
}
GIVEN = {
    "JWT_SECRET": "a-real-secret-" + "s" * 34,
    "POSTGRES_PASSWORD": "0123456789abcdef",
    "PROFILES_MASTER_KEY": base64.b64encode(b"p" * 32).decode(),
    "ADVISORS_MASTER_KEY": base64.b64encode(b"a" * 32).decode(),
    "SESSIONS_PULSE_KEY": base64.b64encode(b"s" * 32).decode(),
    "SESSIONS_MASTER_KEY": base64.b64encode(b"n" * 32).decode(),
}
VARIABLE = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}"
)
NON_SETTINGS_ENV = re.compile(r"^OTEL_[A-Z_]+$")


class MissingVariable(Exception):
    """A required variable (``${VAR:?message}``) is unset, as Compose reports it."""


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's interpolation: ``${V}``, ``${V:-d}``, ``${V-d}``, ``${V:?m}``, ``$$``."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name)
        unset = current is None or (current == "" and op is not None and op[0] == ":")
        if op and op.endswith("?") and unset:
            raise MissingVariable(f"required variable {name} is missing a value: {arg}")
        if op and op.endswith("-") and unset:
            return arg
        return current or ""

    parts = value.split("$$")
    return "$".join(VARIABLE.sub(one, part) for part in parts)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    """The file as Compose would run it, every secret given."""
    return interpolate(raw, dict(GIVEN))


def _composecheck(
    binary: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), str(COMPOSE_FILE)],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_itself_accepts_the_file_and_resolves_it_as_we_do(
    composecheck: Path, compose: dict[str, Any]
) -> None:
    done = _composecheck(composecheck, GIVEN)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)["services"]
    assert set(resolved) == set(services(compose))
    for name, spec in services(compose).items():
        theirs = resolved[name]
        assert {k: str(v) for k, v in theirs.get("environment", {}).items()} == {
            k: str(v) for k, v in spec.get("environment", {}).items()
        }, name
        assert theirs.get("command") == spec.get("command"), name
        assert set(theirs.get("depends_on", {})) == set(spec.get("depends_on", {}))


def test_compose_itself_refuses_to_run_without_the_secrets(composecheck: Path) -> None:
    for secret in SECRETS:
        env = {k: v for k, v in GIVEN.items() if k != secret}
        done = _composecheck(composecheck, env)
        assert done.returncode != 0, secret
        assert f"required variable {secret} is missing a value" in done.stderr


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def one_shot(compose: dict[str, Any]) -> set[str]:
    """Steps others wait to have *completed*: they run once and exit."""
    return {
        name
        for spec in services(compose).values()
        for name, dep in spec.get("depends_on", {}).items()
        if dep["condition"] == "service_completed_successfully"
    }


def tandem_processes(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every container running Tandem's code (a service, the gateway, a migration)."""
    return {
        name: spec
        for name, spec in services(compose).items()
        if spec.get("command") and spec["command"][0] in ("uvicorn", "python")
    }


def test_every_long_running_container_has_a_healthcheck(
    compose: dict[str, Any],
) -> None:
    jobs = one_shot(compose)
    for name, spec in services(compose).items():
        if name in jobs:
            assert spec.get("restart") == "no", f"{name} runs once: no restart"
            continue
        check = spec.get("healthcheck")
        assert check and check["test"], f"{name} has no healthcheck"
        assert not check.get("disable"), name


def test_depends_on_always_waits_for_a_condition(compose: dict[str, Any]) -> None:
    conditions = {"service_healthy", "service_completed_successfully"}
    jobs = one_shot(compose)
    for name, spec in services(compose).items():
        depends = spec.get("depends_on", {})
        assert isinstance(depends, dict), (
            f"{name}: depends_on as a list waits for nothing"
        )
        for dep, how in depends.items():
            assert dep in services(compose), f"{name} depends on unknown {dep}"
            assert how["condition"] in conditions, f"{name} -> {dep}"
            expected = (
                "service_completed_successfully" if dep in jobs else "service_healthy"
            )
            assert how["condition"] == expected, f"{name} -> {dep}"


def test_every_secret_must_be_given_and_nothing_runs_without_it(
    raw: dict[str, Any],
) -> None:
    text = COMPOSE_FILE.read_text()
    used = {m["name"] for m in VARIABLE.finditer(text)}
    assert SECRETS <= used
    for match in VARIABLE.finditer(text):
        if re.search(r"SECRET|PASSWORD|KEY", match["name"]):
            assert match["op"] == ":?", f"{match[0]} must fail when unset (:?)"
            assert match["arg"].strip(), f"{match[0]} should say what to set"
    for secret in SECRETS:
        env = {k: v for k, v in GIVEN.items() if k != secret}
        with pytest.raises(MissingVariable, match=secret):
            interpolate(raw, env)
    # An empty value is refused as well (":?" and not "?").
    with pytest.raises(MissingVariable, match="JWT_SECRET"):
        interpolate(raw, {**GIVEN, "JWT_SECRET": ""})


def test_one_image_for_every_tandem_process_built_once(compose: dict[str, Any]) -> None:
    tandem = tandem_processes(compose)
    assert {spec["image"] for spec in tandem.values()} == {"tandem:local"}
    builders = [name for name, spec in tandem.items() if "build" in spec]
    assert len(builders) == 1, f"built by {builders}"
    build = tandem[builders[0]]["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).resolve() == (
        ROOT / "deploy" / "Dockerfile"
    )
    # The builder comes first in the file and nobody else pulls the local image.
    assert builders[0] == next(iter(tandem))
    for name, spec in tandem.items():
        if name not in builders:
            assert spec["pull_policy"] == "never", name
        assert spec["read_only"] is True, name
        assert spec["cap_drop"] == ["ALL"], name
        assert "/tmp" in spec["tmpfs"], name


def _database(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def test_each_service_is_migrated_before_it_starts(
    compose: dict[str, Any], processes: dict[str, Process]
) -> None:
    specs = services(compose)
    created = specs["postgres"]["environment"]["TANDEM_DATABASES"].split()
    for name, process in processes.items():
        spec = specs[name]
        assert spec["command"][:3] == ["uvicorn", "--factory", process.app_module]
        if process.produces is None:  # the gateway: no database
            assert "DATABASE_URL" not in spec["environment"]
            continue
        migrate = specs[f"migrate-{name}"]
        assert spec["depends_on"][f"migrate-{name}"]["condition"] == (
            "service_completed_successfully"
        )
        assert spec["depends_on"]["kafka-topics"]["condition"] == (
            "service_completed_successfully"
        )
        assert migrate["command"] == [
            "python",
            "-m",
            "chassis.migrations",
            "upgrade",
            "--service",
            name,
        ]
        url = spec["environment"]["DATABASE_URL"]
        assert migrate["environment"]["DATABASE_URL"] == url
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert _database(url) == name and name in created
        assert spec["environment"]["MIGRATE_ON_START"] == "false"
    # Each service owns its database.
    owned = [
        _database(specs[name]["environment"]["DATABASE_URL"])
        for name in processes
        if "DATABASE_URL" in specs[name]["environment"]
    ]
    assert len(owned) == len(set(owned)) == len(SERVICES)


def test_the_topics_step_creates_every_topic_the_code_uses(
    compose: dict[str, Any], processes: dict[str, Process]
) -> None:
    script = "\n".join(services(compose)["kafka-topics"]["command"])
    created = set(re.findall(r"\btandem\.[a-z.]+\.(?:v1|dlt)\b", script))
    asyncapi = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())
    channels = {c["address"] for c in asyncapi["channels"].values()}
    dead_letters = {p.dead_letter_topic for p in processes.values() if p.group}
    assert created == channels | dead_letters
    # After interpolation the shell sees its own variables ($$ -> $).
    assert '"$topic"' in script
    kafka = services(compose)["kafka"]["environment"]
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_every_process_would_start_in_production_with_its_environment(
    compose: dict[str, Any],
    processes: dict[str, Process],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, process in processes.items():
        env = {k: str(v) for k, v in services(compose)[name]["environment"].items()}
        known = settings_fields(process.settings_class)
        unknown = {k for k in env if k not in known and not NON_SETTINGS_ENV.match(k)}
        assert not unknown, f"{name} sets what it never reads: {unknown}"
        with monkeypatch.context() as patch:
            for key in known:
                patch.delenv(key, raising=False)
            for key, value in env.items():
                patch.setenv(key, value)
            settings = process.settings_class()  # raises on a refused setting
        assert settings.environment == "production", name
        assert settings.kafka_bootstrap_servers == "kafka:9092", name


def test_the_gateway_reaches_every_service_once_they_are_ready(
    compose: dict[str, Any], processes: dict[str, Process]
) -> None:
    gateway = services(compose)["gateway"]
    # The services the gateway calls (notifications is not exposed through it yet).
    for name in GATEWAY_CALLS:
        url = urlsplit(gateway["environment"][f"{name.upper()}_URL"])
        assert (url.hostname, url.port) == (name, 8000)
        assert gateway["depends_on"][name]["condition"] == "service_healthy"
    assert any(p.endswith(":8000") for p in gateway["ports"])


def test_traces_go_through_the_collector_to_jaeger(compose: dict[str, Any]) -> None:
    specs = services(compose)
    collector = yaml.safe_load(
        (ROOT / "deploy" / "otel" / "collector.yaml").read_text()
    )
    traces = collector["service"]["pipelines"]["traces"]
    (exporter,) = traces["exporters"]
    assert collector["exporters"][exporter]["endpoint"].split(":")[0] == "jaeger"
    assert "otlp" in traces["receivers"]
    assert "metrics" in collector["service"]["pipelines"]
    for name, spec in tandem_processes(compose).items():
        endpoint = spec["environment"].get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if name.startswith("migrate-"):
            continue
        assert urlsplit(endpoint).hostname == "otel-collector", name
    assert (
        specs["otel-collector"]["depends_on"]["jaeger"]["condition"]
        == "service_healthy"
    )


def _pinned(image: str) -> bool:
    """A tag naming a release (x.y or x.y.z...), or a digest: never latest."""
    return "@sha256:" in image or bool(
        re.search(r":\d+\.\d+(\.\d+)?(-[\w.-]+)?$", image)
    )


def test_every_third_party_image_is_pinned(compose: dict[str, Any]) -> None:
    for name, spec in services(compose).items():
        if "build" in spec or spec["image"].endswith(":local"):
            continue
        assert _pinned(spec["image"]), f"{name}: {spec['image']}"
    for dockerfile in (
        ROOT / "deploy" / "Dockerfile",
        ROOT / "deploy" / "otel" / "Dockerfile",
    ):
        text = dockerfile.read_text()
        images = re.findall(r"^ARG \w+_IMAGE=(\S+)$", text, flags=re.M)
        assert images, dockerfile
        for image in images:
            assert _pinned(image), f"{dockerfile.name}: {image}"


def test_the_image_runs_unprivileged_from_a_read_only_tree() -> None:
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+(?: AS (\w+))?$", text, flags=re.M)
    assert len(stages) >= 2, "multi-stage"
    final = text[text.rindex("\nFROM ") :]
    user = re.findall(r"^USER (\S+)$", final, flags=re.M)
    assert user and user[-1].split(":")[0] not in ("0", "root"), user
    # Nothing at run time may need to write outside /tmp.
    assert "PYTHONDONTWRITEBYTECODE=1" in final
    assert "HOME=/tmp" in final
    # The optimiser's kernels are compiled into the image, for any host's CPU.
    assert "optimiser.warm()" in final and "NUMBA_CPU_NAME=generic" in final
    for package in ("chassis", "contracts", "services", "gateway", "launcher"):
        assert re.search(rf"^COPY {package} {package}$", final, flags=re.M), package
    assert re.search(r"^CMD \[", final, flags=re.M), "a default command"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "portal/node_modules"} <= set(ignored)


def _options(module: str, *args: str) -> set[str]:
    """The options ``python -m module args --help`` lists."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return set(re.findall(r"--[a-z][a-z-]*", done.stdout))


def test_the_image_commands_are_ones_the_clis_accept() -> None:
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    cmd = json.loads(re.findall(r"^CMD (\[.*\])$", text, flags=re.M)[-1])
    python = cmd.index("python")
    module, subcommand, *rest = cmd[python + 2 :]
    used = {a for a in rest if a.startswith("--")}
    assert used <= _options(module, subcommand), cmd
    assert "--service" in _options("chassis.migrations", "upgrade")


# --------------------------------------------------------------- PostgreSQL init


def _run_init(
    server: PostgresServer, databases: str
) -> subprocess.CompletedProcess[str]:
    admin = urlsplit(server.admin_url)
    env = {
        "PATH": f"{server.bindir}:/usr/bin:/bin",
        "PGHOST": admin.hostname or "127.0.0.1",
        "PGPORT": str(admin.port or 5432),
        "POSTGRES_USER": admin.username or "postgres",
        "TANDEM_DATABASES": databases,
    }
    if admin.password:
        env["PGPASSWORD"] = admin.password
    return subprocess.run(
        ["bash", str(ROOT / "deploy" / "postgres" / "init-databases.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.postgres
def test_postgres_init_creates_one_database_per_service_and_can_run_again(
    postgres_server: PostgresServer,
) -> None:
    names = ["deploy_init_profiles", "deploy_init_matching"]
    try:
        first = _run_init(postgres_server, " ".join(names))
        assert first.returncode == 0, first.stderr
        assert first.stdout.count("creating database") == 2
        again = _run_init(postgres_server, " ".join(names))
        assert again.returncode == 0, again.stderr
        assert "creating database" not in again.stdout
        listed = subprocess.run(
            [
                str(postgres_server.bindir / "psql"),
                postgres_server.admin_url,
                "-tAc",
                "SELECT datname FROM pg_database WHERE datname LIKE 'deploy_init_%'",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert sorted(listed.stdout.split()) == sorted(names)
    finally:
        for name in names:
            postgres_server.drop_database(name)


@pytest.mark.postgres
def test_postgres_init_refuses_a_name_that_is_not_an_identifier(
    postgres_server: PostgresServer,
) -> None:
    bad = _run_init(postgres_server, 'x"; DROP DATABASE postgres; --')
    assert bad.returncode != 0
    assert "refusing database name" in bad.stderr


def test_service_database_names_match_the_postgres_default(raw: dict[str, Any]) -> None:
    script = (ROOT / "deploy" / "postgres" / "init-databases.sh").read_text()
    default = re.search(r"TANDEM_DATABASES:-([a-z ]+)\}", script)
    assert default is not None
    compose_list = raw["services"]["postgres"]["environment"]["TANDEM_DATABASES"]
    assert default[1].split() == compose_list.split()

"""Fixtures for the deployment checks: real kustomize and Compose loaders, topics.

``kustomize`` is the real binary, built once from its Go module into
``deploy/k8s/.tools/`` (git-ignored) and reused afterwards; where Go is missing,
``kubectl kustomize`` (the same kustomize, built into kubectl) stands in. With
neither, the tests that render manifests FAIL with what to install.

``composecheck`` (``tests/deploy/composecheck``) is compose-go, the loader of Docker
Compose itself, built the same way: it does what ``docker compose config`` does,
without a Docker engine. It needs Go.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from chassis.messaging import InProcessBus
from gateway.settings import GatewaySettings
from launcher.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("development", "production")
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION = "v5.8.1"
TOOLS = K8S / ".tools"
COMPOSECHECK = Path(__file__).resolve().parent / "composecheck"


@dataclass(frozen=True)
class Process:
    """What one Tandem process is, as its own code says."""

    name: str
    settings_class: type
    app_module: str
    produces: str | None = None
    group: str | None = None
    consumes: tuple[str, ...] = ()
    dead_letter_topic: str | None = None


def _go_build(binary: Path, args: list[str], cwd: Path | None = None) -> None:
    """Build a Go program into ``binary`` once (scratch folder, then an atomic move:
    a half-built binary is never mistaken for a finished one)."""
    go = shutil.which("go")
    assert go is not None
    TOOLS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=TOOLS) as scratch:
        env = {
            **os.environ,
            "GOBIN": scratch,
            "CGO_ENABLED": "0",
            "GOFLAGS": "-buildvcs=false",
        }
        if args[0] == "build":
            args = ["build", "-o", str(Path(scratch) / binary.name), *args[1:]]
        done = subprocess.run(
            [go, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            pytest.fail(f"go {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        binary.parent.mkdir(parents=True, exist_ok=True)
        os.replace(Path(scratch) / binary.name, binary)


def _kustomize_command() -> list[str]:
    binary = TOOLS / f"kustomize-{KUSTOMIZE_VERSION}" / "kustomize"
    if binary.exists():
        return [str(binary)]
    if shutil.which("go") is not None:
        _go_build(binary, ["install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"])
        return [str(binary)]
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        return [kubectl, "kustomize"]
    pytest.fail(
        "rendering the Kubernetes manifests needs kustomize: install Go (the tests "
        f"build {KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION} once into deploy/k8s/.tools) "
        "or kubectl (which embeds kustomize)"
    )


@pytest.fixture(scope="session")
def kustomize() -> list[str]:
    """The command that runs kustomize (its first use may build it: ~1-2 min)."""
    return _kustomize_command()


@pytest.fixture(scope="session")
def composecheck() -> Path:
    """compose-go's loader as a command (built on first use: ~20 s with Go)."""
    sources = sorted(
        p for p in COMPOSECHECK.iterdir() if p.name in ("go.mod", "go.sum", "main.go")
    )
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    binary = TOOLS / f"composecheck-{digest[:12]}" / "composecheck"
    if not binary.exists():
        if shutil.which("go") is None:
            pytest.fail(
                "checking docker-compose.yml with compose-go needs Go "
                "(tests/deploy/composecheck is built once into deploy/k8s/.tools)"
            )
        _go_build(binary, ["build", "."], cwd=COMPOSECHECK)
    return binary


def render(kustomize: list[str], path: Path) -> list[dict[str, Any]]:
    """``kustomize build path``, parsed into objects."""
    done = subprocess.run(
        [*kustomize, "build", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"kustomize build {path} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="session")
def rendered(kustomize: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every overlay, rendered once for the session."""
    return {name: render(kustomize, K8S / "overlays" / name) for name in OVERLAYS}


@pytest.fixture(scope="session")
def processes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Process]:
    """Each service's topics and consumer group, read from its composition root.

    The apps are built (not started) on SQLite and the in-process bus, so what the
    manifests must declare comes from the code itself, not from a list kept here.
    """
    folder = tmp_path_factory.mktemp("apps")
    found: dict[str, Process] = {}
    for name, module_path in SERVICES.items():
        module = importlib.import_module(module_path)
        settings = module.Settings(
            database_url=f"sqlite+aiosqlite:///{folder / name}.db",
            kafka_bootstrap_servers=None,
        )
        runtime = module.build_app(settings, transport=InProcessBus()).state.runtime
        consumer = runtime.consumer
        found[name] = Process(
            name=name,
            settings_class=module.Settings,
            app_module=f"{module_path}:build_app",
            produces=runtime.topic,
            group=consumer.name if consumer else None,
            consumes=tuple(consumer.topics) if consumer else (),
            dead_letter_topic=consumer.dead_letter_topic if consumer else None,
        )
    found["gateway"] = Process(
        name="gateway",
        settings_class=GatewaySettings,
        app_module="gateway.main:build_app",
    )
    return found


def settings_fields(settings_class: type) -> set[str]:
    """The environment variable names a settings class reads (upper case)."""
    names: set[str] = set()
    for field_name, field in settings_class.model_fields.items():  # type: ignore[attr-defined]
        alias = field.validation_alias
        names.add((alias if isinstance(alias, str) else field_name).upper())
    return names

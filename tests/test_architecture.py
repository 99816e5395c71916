"""The dependency rules of DESIGN.md, checked on every module's imports.

- ``services/*`` and ``gateway`` → ``contracts`` → ``chassis``; never the other way.
- A service never imports another service; the gateway imports no service.
- A service's ``domain`` package imports no framework (FastAPI, SQLAlchemy, aiokafka …).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = {
    "fastapi",
    "starlette",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "aiokafka",
    "strawberry",
    "uvicorn",
    "httpx",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


def service_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "services" and len(parts) > 1 else None


def test_chassis_imports_no_contracts_service_or_gateway():
    offenders = [
        f"{p.relative_to(ROOT)} imports {m}"
        for p in python_files("chassis")
        for m in imports_of(p)
        if top(m) in {"contracts", "services", "gateway", "launcher"}
    ]
    assert offenders == []


def test_contracts_import_only_the_chassis():
    offenders = [
        f"{p.relative_to(ROOT)} imports {m}"
        for p in python_files("contracts")
        for m in imports_of(p)
        if top(m) in {"services", "gateway", "launcher"}
    ]
    assert offenders == []


def test_services_never_import_each_other_or_the_gateway():
    offenders = []
    for p in python_files("services"):
        own = p.relative_to(ROOT / "services").parts[0]
        for m in imports_of(p):
            if top(m) in {"gateway", "launcher"}:
                offenders.append(f"{p.relative_to(ROOT)} imports {m}")
            other = service_of(m)
            if other is not None and other != own:
                offenders.append(f"{p.relative_to(ROOT)} imports {m}")
    assert offenders == []


def test_gateway_imports_no_service():
    offenders = [
        f"{p.relative_to(ROOT)} imports {m}"
        for p in python_files("gateway")
        for m in imports_of(p)
        if top(m) in {"services", "launcher"}
    ]
    assert offenders == []


def test_domain_code_imports_no_framework():
    domain_files = [p for p in python_files("services") if "domain" in p.parts]
    offenders = [
        f"{p.relative_to(ROOT)} imports {m}"
        for p in domain_files
        for m in imports_of(p)
        if top(m) in FRAMEWORKS
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import services.matching.api", {"services.matching.api"}),
        ("from services.profiles.domain import x", {"services.profiles.domain"}),
        ("from . import sibling", set()),
    ],
)
def test_the_check_sees_imports(tmp_path, source, expected):
    module = tmp_path / "m.py"
    module.write_text(source)
    assert imports_of(module) == expected

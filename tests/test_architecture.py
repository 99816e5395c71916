"""The dependency rules of DESIGN.md, checked on every module's imports.

- ``services/*`` and ``gateway`` → ``contracts`` → ``chassis``; never the other way.
- A service never imports another service; the gateway imports no service.
- A service's ``domain`` package imports no framework (FastAPI, SQLAlchemy, aiokafka …).
- The floor plan: every service has the same rooms (``domain``, ``application``,
  ``projections``, ``api``, ``migrations``; ``main.py`` and ``settings.py`` beside
  them), each room imports only what the plan allows, no import cycle inside a
  service (function-level imports included), and no service object on ``app.state``.
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


# -- the floor plan inside a service (DESIGN.md "Inside a service") --------------------

SERVICES = [
    "profiles",
    "matching",
    "sessions",
    "advisors",
    "insights",
    "notifications",
]
ROOMS = {"domain", "application", "projections", "api", "migrations"}
ROOT_MODULES = {"__init__.py", "main.py", "settings.py"}
# What each room may import of its own service (besides itself).
MAY_IMPORT = {
    "domain": {"domain"},
    "projections": {"domain", "projections"},
    "application": {"domain", "projections", "application", "settings"},
    "api": {"domain", "application", "api"},
    "migrations": {"migrations", "projections"},
}
PLAN = SERVICES


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_imports(path: Path, modules: set[str]) -> set[str]:
    """Every module of ``modules`` that ``path`` imports, at any depth of the code
    (function-level imports included), relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()

    def resolve(target: str) -> None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target:
            found.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                resolve(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                resolve(full if full in modules else base)
    found.discard(name)
    return found


def service_graph(service: str) -> dict[str, set[str]]:
    files = python_files(f"services/{service}")
    modules = {module_name(p) for p in files}
    return {module_name(p): all_imports(p, modules) for p in files}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                top_ = stack.pop()
                on_stack.discard(top_)
                component.append(top_)
                if top_ == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def room_of(module: str, service: str) -> str:
    rest = module.removeprefix(f"services.{service}").lstrip(".")
    return rest.split(".")[0] if rest else ""


@pytest.mark.parametrize("service", PLAN)
def test_every_service_has_the_same_rooms(service: str) -> None:
    folder = ROOT / "services" / service
    rooms = {p.name for p in folder.iterdir() if p.is_dir() and p.name != "__pycache__"}
    modules = {p.name for p in folder.glob("*.py")}
    assert rooms == ROOMS and modules == ROOT_MODULES


@pytest.mark.parametrize("service", PLAN)
def test_each_room_imports_only_what_the_plan_allows(service: str) -> None:
    offenders = []
    for module, imported in service_graph(service).items():
        room = room_of(module, service)
        if room not in MAY_IMPORT:
            continue  # main.py wires everything; settings and __init__ import nothing
        for target in imported:
            if room_of(target, service) not in MAY_IMPORT[room]:
                offenders.append(f"{module} imports {target}")
    assert offenders == []


@pytest.mark.parametrize("service", PLAN)
def test_no_import_cycle_inside_a_service(service: str) -> None:
    assert cycles(service_graph(service)) == []


@pytest.mark.parametrize("service", PLAN)
def test_no_service_object_is_looked_up_on_app_state(service: str) -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in python_files(f"services/{service}")
        if "app.state" in p.read_text() or "def install(" in p.read_text()
    ]
    assert offenders == []


def test_the_cycle_check_sees_function_level_and_relative_imports(tmp_path):
    graph = {"s.a": {"s.b"}, "s.b": {"s.c"}, "s.c": {"s.a"}, "s.d": {"s.a"}}
    assert cycles(graph) == [["s.a", "s.b", "s.c"]]
    assert cycles({"s.a": {"s.b"}, "s.b": set()}) == []

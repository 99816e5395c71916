"""Each service process names itself in its telemetry resource.

``uvicorn --factory services.<name>.main:build_app`` builds the app in a fresh process;
building it is what sets the resource, so this builds one per process and reads the
tracer provider's resource back (no servers needed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import importlib, json, sys
from opentelemetry import trace
module = importlib.import_module(sys.argv[1])
module.build_app()
print(json.dumps(dict(trace.get_tracer_provider().resource.attributes)))
"""


@pytest.mark.parametrize(
    ("module", "name"),
    [("services.insights.main", "insights"), ("gateway.main", "gateway")],
)
def test_a_process_resource_names_its_service_and_version(
    module: str, name: str
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OTEL_") and k != "DATABASE_URL"
    }
    env["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment.name=test"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    resource = json.loads(done.stdout.strip().splitlines()[-1])
    assert resource["service.name"] == name
    assert resource["service.version"]
    # The standard variables add to (and may override) what the code sets.
    assert resource["deployment.environment.name"] == "test"

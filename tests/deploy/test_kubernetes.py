"""The Kubernetes manifests, rendered by real kustomize and validated offline.

Every object of every overlay is checked against the Kubernetes JSON schemas (bundled
by ``kubernetes-validate``, strict: an unknown or misspelt field fails) and each
Strimzi ``KafkaTopic`` against the CRD's schema vendored in ``deploy/k8s/schemas``.
Then the policy an operator relies on: hardened pods, probes on ``/healthz`` and
``/readyz``, limits, an HPA and a PDB per Deployment, a topic per channel of
``docs/asyncapi.yaml`` and per dead-letter topic, and no more consumers than
partitions.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from launcher.registry import SERVICES
from tests.deploy.conftest import (
    K8S,
    OVERLAYS,
    ROOT,
    Process,
    render,
    settings_fields,
)

# The oldest Kubernetes minor the manifests promise to apply to.
KUBERNETES_VERSION = "1.30"
TOPIC_SCHEMA = json.loads((K8S / "schemas" / "kafkatopic-v1beta2.json").read_text())
SECRET_KEYS = {
    "tandem-jwt": {"JWT_SECRET"},
    "profiles-secrets": {"DATABASE_URL", "PROFILES_MASTER_KEY"},
    "matching-secrets": {"DATABASE_URL"},
    "sessions-secrets": {"DATABASE_URL", "SESSIONS_PULSE_KEY", "SESSIONS_MASTER_KEY"},
    "advisors-secrets": {"DATABASE_URL", "ADVISORS_MASTER_KEY"},
    "insights-secrets": {"DATABASE_URL"},
    "notifications-secrets": {"DATABASE_URL"},
}
PLACEHOLDER_SECRETS = {
    "JWT_SECRET": "not-the-development-default-" + "s" * 24,
    "DATABASE_URL": "postgresql+asyncpg://tandem:secret@postgres:5432/tandem",
    # 32 bytes, base64, like make-secrets.sh makes them.
    "PROFILES_MASTER_KEY": base64.b64encode(b"p" * 32).decode(),
    "ADVISORS_MASTER_KEY": base64.b64encode(b"a" * 32).decode(),
    "SESSIONS_PULSE_KEY": base64.b64encode(b"s" * 32).decode(),
    "SESSIONS_MASTER_KEY": base64.b64encode(b"n" * 32).decode(),
}
# Set by the Deployment itself (downward API) or read by OpenTelemetry's SDK.
NON_SETTINGS_ENV = re.compile(r"^(OTEL_[A-Z_]+|POD_NAME|POD_NAMESPACE)$")


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def all_containers(deployment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    pod = deployment["spec"]["template"]["spec"]
    yield from pod.get("initContainers", [])
    yield from pod["containers"]


def app_container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    (app,) = (c for c in containers if c["name"] == "app")
    return app


def topics_by_name(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        t["spec"].get("topicName", t["metadata"]["name"]): t
        for t in of_kind(objects, "KafkaTopic").values()
    }


@pytest.fixture(params=OVERLAYS)
def overlay(
    request: pytest.FixtureRequest, rendered: dict[str, list[dict[str, Any]]]
) -> tuple[str, list[dict[str, Any]]]:
    return request.param, rendered[request.param]


def test_every_object_is_valid_against_the_kubernetes_schemas(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    name, objects = overlay
    kinds = {o["kind"] for o in objects}
    assert {
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "KafkaTopic",
    } <= kinds
    errors = []
    for obj in objects:
        if obj["kind"] == "KafkaTopic":
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {exc}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(exc.message)
    assert not errors, f"{name}:\n" + "\n".join(errors)


def test_the_schema_validation_is_strict_about_misspelt_fields(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    # Guards the check above against passing vacuously.
    deployment = copy.deepcopy(of_kind(rendered["production"], "Deployment")["gateway"])
    app = app_container(deployment)
    app["readinesProbe"] = app.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    topic = copy.deepcopy(
        next(iter(of_kind(rendered["production"], "KafkaTopic").values()))
    )
    topic["spec"]["partition"] = topic["spec"].pop("partitions")
    with pytest.raises(jsonschema.ValidationError, match="partition"):
        jsonschema.validate(topic, TOPIC_SCHEMA)


def test_every_kafka_topic_is_valid_against_the_strimzi_crd_schema(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = overlay
    topics = of_kind(objects, "KafkaTopic")
    assert topics
    for topic in topics.values():
        jsonschema.validate(topic, TOPIC_SCHEMA)


def test_one_deployment_service_account_service_hpa_and_pdb_per_process(
    overlay: tuple[str, list[dict[str, Any]]], processes: dict[str, Process]
) -> None:
    _, objects = overlay
    deployments = of_kind(objects, "Deployment")
    assert set(deployments) == set(processes)
    accounts = of_kind(objects, "ServiceAccount")
    services = of_kind(objects, "Service")
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h
        for h in of_kind(objects, "HorizontalPodAutoscaler").values()
        if h["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    }
    pdbs = list(of_kind(objects, "PodDisruptionBudget").values())
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]
        labels = pod["metadata"]["labels"]
        account = pod["spec"]["serviceAccountName"]
        assert accounts[account]["automountServiceAccountToken"] is False, name
        assert pod["spec"]["automountServiceAccountToken"] is False, name

        service = services[name]
        assert service["spec"]["selector"].items() <= labels.items(), name
        ports = {p["name"] for p in app_container(deployment)["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports, name

        hpa = hpas[name]["spec"]
        assert hpa["scaleTargetRef"]["apiVersion"] == "apps/v1", name
        assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"], name
        assert hpa["metrics"], f"{name}: the HPA scales on nothing"

        covering = [
            p
            for p in pdbs
            if p["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(covering) == 1, f"{name}: {len(covering)} PodDisruptionBudgets"
        # A budget that allows no eviction at all would block every node drain.
        assert covering[0]["spec"].get("maxUnavailable", 0) >= 1, name


def test_every_pod_is_hardened(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    for name, deployment in of_kind(objects, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        tmp_volumes = {
            v["name"]
            for v in pod["volumes"]
            if "emptyDir" in v and v["emptyDir"] is not None
        }
        for container in all_containers(deployment):
            where = f"{name}/{container['name']}"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert not context.get("privileged", False), where
            assert context.get("runAsNonRoot", True) is True, where
            # The root filesystem is read-only: /tmp is the one writable place.
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp_volumes, where
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), f"{where} {kind}"


def test_probes_ask_healthz_for_liveness_and_readyz_for_readiness(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = overlay
    for name, deployment in of_kind(objects, "Deployment").items():
        app = app_container(deployment)
        port = next(p for p in app["ports"] if p["name"] == "http")
        assert port["containerPort"] == 8000, name
        for probe, path in (
            ("startupProbe", "/healthz"),
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
        ):
            get = app[probe]["httpGet"]
            assert get["path"] == path, f"{name} {probe}"
            assert get["port"] in ("http", 8000), f"{name} {probe}"


def test_each_process_runs_its_own_app_and_each_service_migrates_first(
    overlay: tuple[str, list[dict[str, Any]]], processes: dict[str, Process]
) -> None:
    _, objects = overlay
    deployments = of_kind(objects, "Deployment")
    images = {c["image"] for d in deployments.values() for c in all_containers(d)}
    assert len(images) == 1, f"one image for every process, found {images}"
    for name, process in processes.items():
        deployment = deployments[name]
        command = app_container(deployment)["command"]
        assert command[:3] == ["uvicorn", "--factory", process.app_module], name
        init = deployment["spec"]["template"]["spec"].get("initContainers", [])
        if process.produces is None:  # the gateway keeps no database
            assert not init, name
            continue
        (migrate,) = init
        assert migrate["command"] == [
            "python",
            "-m",
            "chassis.migrations",
            "upgrade",
            "--service",
            name,
        ]
        secret_refs = {
            e["secretRef"]["name"] for e in migrate["envFrom"] if "secretRef" in e
        }
        assert f"{name}-secrets" in secret_refs, (
            f"{name}: the migration has no DATABASE_URL"
        )


def test_no_secret_value_is_committed_and_every_reference_is_documented(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = overlay
    assert not of_kind(objects, "Secret"), "Secrets are created by make-secrets.sh"
    referenced = set()
    for deployment in of_kind(objects, "Deployment").values():
        for container in all_containers(deployment):
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    referenced.add(source["secretRef"]["name"])
    assert referenced == set(SECRET_KEYS)
    generator = (K8S / "make-secrets.sh").read_text()
    assert "secret tandem-jwt" in generator
    assert 'secret "$service-secrets"' in generator
    for service in SERVICES:
        assert service in generator


def _environment(
    deployment: dict[str, Any], config_maps: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """What the app container's environment holds, with placeholder secrets."""
    env: dict[str, str] = {}
    for source in app_container(deployment)["envFrom"]:
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]]["data"])
        else:
            for key in SECRET_KEYS[source["secretRef"]["name"]]:
                env[key] = PLACEHOLDER_SECRETS[key]
    for var in app_container(deployment).get("env", []):
        env[var["name"]] = var.get("value", "")
    return env


def test_every_setting_is_one_the_process_reads_and_it_would_start(
    overlay: tuple[str, list[dict[str, Any]]],
    processes: dict[str, Process],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Settings ignore unknown variables, so a misspelt name would pass unseen; and a
    # production process refuses development secrets, so build each one as it would.
    name, objects = overlay
    config_maps = of_kind(objects, "ConfigMap")
    for process_name, deployment in of_kind(objects, "Deployment").items():
        process = processes[process_name]
        env = _environment(deployment, config_maps)
        known = settings_fields(process.settings_class)
        unknown = {k for k in env if k not in known and not NON_SETTINGS_ENV.match(k)}
        assert not unknown, f"{name}/{process_name} sets what it never reads: {unknown}"
        with monkeypatch.context() as patch:
            for key in known:
                patch.delenv(key, raising=False)
            for key, value in env.items():
                patch.setenv(key, value)
            settings = process.settings_class()  # raises on a refused setting
        expected = "development" if name == "development" else "production"
        assert settings.environment == expected, process_name


def test_a_kafka_topic_for_every_channel_and_every_dead_letter_topic(
    overlay: tuple[str, list[dict[str, Any]]], processes: dict[str, Process]
) -> None:
    _, objects = overlay
    asyncapi = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())
    channels = {c["address"] for c in asyncapi["channels"].values()}
    dead_letters = {p.dead_letter_topic for p in processes.values() if p.group}
    produced = {p.produces for p in processes.values() if p.produces}
    assert produced <= channels
    declared = topics_by_name(objects)
    assert set(declared) == channels | dead_letters
    clusters = {
        t["metadata"]["labels"]["strimzi.io/cluster"] for t in declared.values()
    }
    assert len(clusters) == 1, clusters


def test_consumers_never_outnumber_partitions(
    overlay: tuple[str, list[dict[str, Any]]], processes: dict[str, Process]
) -> None:
    name, objects = overlay
    topics = topics_by_name(objects)
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]
        for h in of_kind(objects, "HorizontalPodAutoscaler").values()
    }
    deployments = of_kind(objects, "Deployment")
    config = next(
        c["data"]
        for n, c in of_kind(objects, "ConfigMap").items()
        if n.startswith("tandem-common")
    )
    for process in processes.values():
        if not process.consumes:
            continue
        partitions = min(topics[t]["spec"]["partitions"] for t in process.consumes)
        ceiling = max(
            hpas[process.name]["maxReplicas"],
            deployments[process.name]["spec"]["replicas"],
        )
        assert ceiling <= partitions, (
            f"{name}: {process.name} may run {ceiling} consumers of group "
            f"{process.group} but its smallest topic has {partitions} partitions"
        )
    integration = {p.produces for p in processes.values() if p.produces}
    sizes = {topics[t]["spec"]["partitions"] for t in integration}
    assert sizes == {int(config["TOPIC_PARTITIONS"])}, name


def test_the_kustomize_base_alone_renders(kustomize: list[str]) -> None:
    objects = render(kustomize, K8S / "base")
    assert len(of_kind(objects, "Deployment")) == len(SERVICES) + 1  # the gateway


def test_the_production_image_is_a_pinned_release(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for deployment in of_kind(rendered["production"], "Deployment").values():
        for container in all_containers(deployment):
            image = container["image"]
            assert "@sha256:" in image or re.search(r":\d+\.\d+\.\d+$", image), image

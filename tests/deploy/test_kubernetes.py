"""The kustomize base and its example overlay render to manifests that a current Kubernetes
accepts (kubernetes-validate, strict), whose custom resources match KEDA's and the Prometheus
Operator's published models, and whose settings, probes and queue names are the gateway's own."""

from __future__ import annotations

import subprocess
from typing import Any

import kubernetes_validate
import pytest
from pydantic import BaseModel

from ai_gateway.integration.redis_jobs import GROUP
from ai_gateway.integration.redis_keys import RedisKeys
from ai_gateway.settings import Settings
from tests.deploy.files import (
    DOCKERFILE,
    K8S,
    SECRETS,
    production_settings,
    setting_names,
    yaml_documents,
)

KUBERNETES = "1.37.0"
CUSTOM = {"ScaledObject", "TriggerAuthentication", "ServiceMonitor"}


def operator_models() -> dict[str, type[BaseModel]]:
    """The operators' models, imported only by the test that uses them: importing builds thousands
    of classes, which took as long as collecting the rest of the suite."""
    from cloudcoil.models.keda.v1alpha1 import ScaledObject, TriggerAuthentication  # noqa: PLC0415
    from cloudcoil.models.prometheus_operator.v1 import ServiceMonitor  # noqa: PLC0415

    return {
        "ScaledObject": ScaledObject,
        "TriggerAuthentication": TriggerAuthentication,
        "ServiceMonitor": ServiceMonitor,
    }


def render(directory: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S / directory)], capture_output=True, text=True, check=True
    )
    return yaml_documents(result.stdout)


@pytest.fixture(scope="module", params=["base", "overlays/example"])
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


@pytest.fixture(scope="module")
def example() -> list[dict[str, Any]]:
    return render("overlays/example")


def one(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return dict(found)


def container(manifests: list[dict[str, Any]], deployment: str) -> dict[str, Any]:
    (found,) = one(manifests, "Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    return dict(found)


def config(manifests: list[dict[str, Any]]) -> dict[str, str]:
    (found,) = [m for m in manifests if m["kind"] == "ConfigMap"]
    data: dict[str, str] = found["data"]
    return data


def test_every_manifest_is_valid_for_a_current_kubernetes(
    manifests: list[dict[str, Any]],
) -> None:
    builtin = [m for m in manifests if m["kind"] not in CUSTOM]
    for manifest in builtin:
        kubernetes_validate.validate(manifest, KUBERNETES, strict=True)
    assert {m["kind"] for m in builtin} >= {
        "Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "PodDisruptionBudget",
        "NetworkPolicy", "ServiceAccount",
    }  # fmt: skip


def test_custom_resources_match_their_operators_models_field_for_field(
    manifests: list[dict[str, Any]],
) -> None:
    custom = [m for m in manifests if m["kind"] in CUSTOM]
    assert sorted(m["kind"] for m in custom) == sorted(CUSTOM)
    models = operator_models()
    for manifest in custom:
        model = models[manifest["kind"]].model_validate(manifest)
        # The models ignore unknown fields: a field they dropped is one the operator would too.
        assert model.model_dump(by_alias=True, exclude_unset=True, mode="json") == manifest


def test_the_settings_are_the_gateways_and_start_it_in_production(
    example: list[dict[str, Any]],
) -> None:
    settings = config(example)
    assert set(settings) <= setting_names()
    started = production_settings({**settings, **SECRETS})
    assert started.app_env == "production"
    assert started.jwt_authority == "https://keycloak.example.com/realms/mozart"


def test_both_processes_take_the_config_map_and_the_secret(example: list[dict[str, Any]]) -> None:
    (config_map,) = [m["metadata"]["name"] for m in example if m["kind"] == "ConfigMap"]
    for deployment in ("ai-gateway-api", "ai-gateway-worker"):
        assert container(example, deployment)["envFrom"] == [
            {"configMapRef": {"name": config_map}},
            {"secretRef": {"name": "ai-gateway-secrets"}},
        ]


def test_the_api_is_probed_on_its_health_and_readiness_routes(
    example: list[dict[str, Any]],
) -> None:
    api = container(example, "ai-gateway-api")
    assert api["args"] == ["serve"]
    assert api["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert int(config(example)["PORT"]) == 8000
    assert api["readinessProbe"]["httpGet"] == {"path": "/api/app/ready", "port": "http"}
    assert api["livenessProbe"]["httpGet"] == {"path": "/api/app/health", "port": "http"}


def test_the_worker_is_probed_on_its_metrics_port(example: list[dict[str, Any]]) -> None:
    worker = container(example, "ai-gateway-worker")
    default = Settings.model_fields["worker_metrics_port"].default
    port = int(config(example).get("WORKER_METRICS_PORT", default))
    assert worker["args"] == ["worker"]
    assert worker["ports"] == [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]
    assert worker["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "metrics"}
    assert worker["livenessProbe"]["httpGet"] == {"path": "/health", "port": "metrics"}


def test_workers_scale_on_the_gateways_own_job_stream(example: list[dict[str, Any]]) -> None:
    scaled = one(example, "ScaledObject", "ai-gateway-worker")["spec"]
    (trigger,) = scaled["triggers"]
    prefix = config(example).get("REDIS_KEY_PREFIX", "gw")
    assert trigger["type"] == "redis-streams"
    assert trigger["metadata"]["stream"] == RedisKeys(prefix).jobs
    assert trigger["metadata"]["consumerGroup"] == GROUP
    assert scaled["scaleTargetRef"] == {"name": "ai-gateway-worker"}
    assert scaled["minReplicaCount"] >= 1


def test_the_api_scales_on_cpu_and_both_keep_a_pod_through_disruptions(
    example: list[dict[str, Any]],
) -> None:
    hpa = one(example, "HorizontalPodAutoscaler", "ai-gateway-api")["spec"]
    assert hpa["scaleTargetRef"]["name"] == "ai-gateway-api"
    assert hpa["minReplicas"] >= 2
    assert one(example, "PodDisruptionBudget", "ai-gateway-api")["spec"]["minAvailable"] == 1
    assert one(example, "PodDisruptionBudget", "ai-gateway-worker")["spec"]["maxUnavailable"] == 1


def test_pods_run_as_the_images_user_on_a_read_only_root(example: list[dict[str, Any]]) -> None:
    (user,) = [
        line.split()[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("USER ")
    ]
    for deployment in ("ai-gateway-api", "ai-gateway-worker"):
        pod = one(example, "Deployment", deployment)["spec"]["template"]["spec"]
        assert (
            f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" == user
        )
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container(example, deployment)["securityContext"]["readOnlyRootFilesystem"] is True
        mounts = {m["mountPath"] for m in container(example, deployment)["volumeMounts"]}
        assert mounts == {config(example)["DATA_DIR"], "/tmp"}  # noqa: S108

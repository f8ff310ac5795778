"""compose.yaml is a valid Compose file whose gateway processes start with real settings, and
whose Keycloak is given everything the realm file asks for. No Docker engine runs here."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
import yaml

from tests.deploy.files import (
    COMPOSE,
    REALM,
    production_settings,
    setting_names,
    tool,
    without_interpolation,
)

# What an operator's .env holds (deploy/compose.env.example lists the same names).
DOT_ENV = {
    "MINIO_ROOT_USER": "ai-gateway",
    "MINIO_ROOT_PASSWORD": "minio-secret-0123456789",
    "KEYCLOAK_ADMIN_PASSWORD": "keycloak-secret-0123",
    "AI_GATEWAY_CLIENT_SECRET": "a" * 24,
    "MOSAIC_CLIENT_SECRET": "m" * 24,
    "GENAI_SERVICE_CLIENT_SECRET": "g" * 24,
    "CALLBACK_SIGNING_SECRET": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return loaded


def environment(service: dict[str, Any]) -> dict[str, str]:
    return {k: without_interpolation(str(v), DOT_ENV) for k, v in service["environment"].items()}


def test_the_compose_file_follows_the_compose_specification() -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_example_env_file_names_every_secret_compose_requires() -> None:
    example = (COMPOSE.parent / "deploy" / "compose.env.example").read_text()
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE.read_text()))
    assert required == set(DOT_ENV)
    assert required == set(re.findall(r"^([A-Z0-9_]+)=", example, re.MULTILINE))


@pytest.mark.parametrize(("name", "command"), [("api", ["serve"]), ("worker", ["worker"])])
def test_the_api_and_the_worker_start_in_production_from_the_one_image(
    services: dict[str, Any], name: str, command: list[str]
) -> None:
    service = services[name]
    assert service["command"] == command
    assert service["read_only"] is True
    assert set(environment(service)) <= setting_names()
    settings = production_settings(environment(service))
    assert settings.app_env == "production"
    assert settings.s3_bucket == "ai-gateway"


def test_redis_keeps_an_append_only_file_on_a_volume(services: dict[str, Any]) -> None:
    redis = services["redis"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert redis["volumes"] == ["redis-data:/data"]


def test_the_bucket_the_gateway_uses_is_created_once_minio_is_ready(
    services: dict[str, Any],
) -> None:
    init = services["minio-init"]
    bucket = environment(services["api"])["S3_BUCKET"]
    assert f"mc mb --ignore-existing gateway/{bucket}" in init["command"][0]
    assert init["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert services["api"]["depends_on"]["minio-init"] == {
        "condition": "service_completed_successfully"
    }


def test_keycloak_imports_the_realm_and_is_given_every_placeholder_it_names(
    services: dict[str, Any],
) -> None:
    keycloak = services["keycloak"]
    assert "--import-realm" in keycloak["command"]
    assert (
        f"./deploy/keycloak/{REALM.name}:/opt/keycloak/data/import/{REALM.name}:ro"
        in (keycloak["volumes"])
    )
    placeholders = set(re.findall(r"\$\{([A-Z0-9_]+)\}", json.dumps(json.loads(REALM.read_text()))))
    assert placeholders <= set(environment(keycloak))


def test_the_gateway_trusts_the_realm_keycloak_serves(services: dict[str, Any]) -> None:
    settings = production_settings(environment(services["api"]))
    keycloak = environment(services["keycloak"])
    assert settings.jwt_issuer == f"{keycloak['KC_HOSTNAME']}/realms/mozart"
    assert settings.jwt_authority == "http://keycloak:8080/realms/mozart"
    assert settings.swagger_ui_client_id == "ai-gateway-swagger"

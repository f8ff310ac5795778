"""The deployment files under test, and the command-line tools of the test environment."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

from ai_gateway.settings import Settings

ROOT = Path(__file__).parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
REALM = ROOT / "deploy" / "keycloak" / "mozart-realm.json"
HEALTHCHECK = ROOT / "deploy" / "docker" / "healthcheck.py"
K8S = ROOT / "deploy" / "k8s"

# Values for the secrets a deployment takes from its environment or its Secret: what a test
# needs to build the settings the gateway would start with.
SECRETS = {
    "REDIS_URL": "redis://:secret@redis:6379/0",
    "S3_ACCESS_KEY": "ai-gateway",
    "S3_SECRET_KEY": "s3-secret-0123456789",
    "CALLBACK_SIGNING_SECRET": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "GENAI_API_CLIENT_SECRET": "genai-secret-0123456789",
    "METRICS_TOKEN": "metrics-token-0123456789",
}


def tool(name: str) -> str:
    """A console script installed beside the running interpreter (the dev extra's tools)."""
    return str(Path(sys.executable).parent / name)


def yaml_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def production_settings(environment: dict[str, str]) -> Settings:
    """The settings a process with exactly this environment would start with (validated as given:
    neither this test process's environment nor a .env file is read)."""
    return Settings.model_validate({name.lower(): value for name, value in environment.items()})


def without_interpolation(value: str, given: dict[str, str]) -> str:
    """Compose's ``${NAME:?message}`` and ``${NAME:-default}``, with ``given`` as the .env file."""

    def replace(match: re.Match[str]) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if name in given:
            return given[name]
        assert operator == ":-", f"{name} is required and not given"
        return rest

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:[?-])([^}]*))?\}", replace, value)

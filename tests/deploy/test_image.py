"""The Dockerfile passes hadolint and builds the image the manifests expect; its HEALTHCHECK asks
a real `ai-gateway serve`. No Docker engine runs here, so the image is linted, not built."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.files import DOCKERFILE, HEALTHCHECK, tool
from tests.e2e.serve_process import Gateway


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    joined = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def final_stage() -> list[tuple[str, str]]:
    found = instructions()
    last_from = max(i for i, (name, _) in enumerate(found) if name == "FROM")
    return found[last_from:]


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wheel_is_built_in_a_stage_of_its_own_and_only_the_environment_is_kept() -> None:
    stages = [argument for name, argument in instructions() if name == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]
    copies = [argument for name, argument in final_stage() if name == "COPY"]
    assert copies == [
        "--from=build /opt/ai-gateway /opt/ai-gateway",
        "deploy/docker/healthcheck.py /opt/ai-gateway/healthcheck.py",
    ]


def test_the_image_runs_the_gateway_as_a_non_root_user_with_labels_and_a_health_check() -> None:
    final = dict(final_stage())
    user, group = final["USER"].split(":")
    assert int(user) > 0
    assert int(group) > 0
    assert final["ENTRYPOINT"] == '["ai-gateway"]'
    assert final["CMD"] == '["serve"]'
    assert final["STOPSIGNAL"] == "SIGTERM"
    assert final["HEALTHCHECK"].endswith('CMD ["python", "/opt/ai-gateway/healthcheck.py"]')
    assert 'org.opencontainers.image.version="${VERSION}"' in final["LABEL"]
    assert 'org.opencontainers.image.revision="${REVISION}"' in final["LABEL"]


def check_health(*arguments: str, env: dict[str, str]) -> int:
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK), *arguments], env={**os.environ, **env}, check=False,
        capture_output=True,
    ).returncode  # fmt: skip


@pytest.mark.e2e
def test_the_health_check_passes_while_the_api_serves_and_fails_once_it_stopped(
    tmp_path: Path,
) -> None:
    gateway = Gateway(tmp_path)
    gateway.start()
    try:
        assert check_health("serve", env={"PORT": str(gateway.port)}) == 0
    finally:
        gateway.stop()
    assert check_health("serve", env={"PORT": str(gateway.port)}) == 1

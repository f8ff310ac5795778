from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.deployment import Deployment, deployment_env
from tests.e2e.outside_world import Services
from tests.http_servers import RecordingServer
from tests.idp_server import IdpServer
from tests.servers import RedisServer, SeaweedServer


@pytest.fixture
def services(idp: IdpServer) -> Iterator[Services]:
    """The outside world's fakes for one test; their servers stop with it."""
    server = RecordingServer()
    server.start()
    fakes = Services(server, idp)
    fakes.install()
    yield fakes
    fakes.stop_sink()
    server.stop()


@pytest.fixture
def deploy(
    tmp_path: Path,
    redis_server: RedisServer,
    s3_server: SeaweedServer,
    idp: IdpServer,
    services: Services,
) -> Iterator[Callable[..., Deployment]]:
    """Deployments whose settings the keywords override; their processes stop with the test."""
    made: list[Deployment] = []

    def make(**overrides: str) -> Deployment:
        deployment = Deployment(
            tmp_path, deployment_env(redis_server, s3_server, idp, services, **overrides)
        )
        made.append(deployment)
        return deployment

    yield make
    for deployment in made:
        deployment.stop()

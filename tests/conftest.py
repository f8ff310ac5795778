from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from redis.asyncio import Redis

from tests import spans as test_spans
from tests.e2e.deployment import Deployment, deployment_env
from tests.e2e.outside_world import Services
from tests.http_servers import RecordingServer
from tests.idp_server import IdpServer
from tests.otlp_receiver import OtlpReceiver
from tests.servers import RedisServer, SeaweedServer


def pytest_configure(config: pytest.Config) -> None:
    test_spans.install()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """The spans this test's in-process work exported, none before it."""
    test_spans.EXPORTED.clear()
    return test_spans.EXPORTED


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis for one test alone: one it may stop, freeze, or read the counters of."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def key_prefix() -> str:
    """A fresh key prefix per test: tests share one Redis without seeing each other's data."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdpServer]:
    server = IdpServer(Path(tmp_path_factory.mktemp("idp")))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    server = SeaweedServer(Path(tmp_path_factory.mktemp("seaweedfs")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An outbound HTTP client with httpx's default five-second timeout."""
    async with httpx.AsyncClient() as client:
        yield client


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
def otlp() -> Iterator[OtlpReceiver]:
    """An OTLP/HTTP collector for one test's spans."""
    receiver = OtlpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def deploy(
    tmp_path: Path,
    redis_server: RedisServer,
    s3_server: SeaweedServer,
    idp: IdpServer,
    services: Services,
) -> Iterator[Callable[..., Deployment]]:
    """Deployments whose settings the keywords override; their processes stop with the test.
    The process tests and the page tests both use them."""
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

"""The zip check and both object stores (the S3 one a real SeaweedFS) agree on names, end to end:
what the prepare step accepts is kept whole, what no store can keep faults with the zip's code."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from miniopy_async.api import Minio
from redis.asyncio import Redis

from ai_gateway.application.ports.jobs import JobStep
from ai_gateway.application.ports.objects import ObjectStore
from ai_gateway.domain.prompt import PromptStatus
from ai_gateway.integration.local_object_store import LocalObjectStore
from ai_gateway.integration.s3_object_store import S3ObjectStore
from tests.http_servers import RecordingServer, Reply, recording_server
from tests.integration.hostile import Gateway, fault_code
from tests.object_names import CLASHES, KEPT, REFUSED, zip_named
from tests.servers import S3_ACCESS_KEY, S3_SECRET_KEY, SeaweedServer

pytestmark = pytest.mark.integration


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "objects")
        return
    s3: SeaweedServer = request.getfixturevalue("s3_server")
    async with Minio(
        s3.endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, secure=False, region="us-east-1"
    ) as client:
        yield S3ObjectStore(client, f"names-{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def gateway(
    redis_client: Redis, key_prefix: str, store: ObjectStore
) -> AsyncIterator[Gateway]:
    async with httpx.AsyncClient() as http:
        yield Gateway(redis_client, key_prefix, http, store)


@pytest.fixture
def host() -> Iterator[RecordingServer]:
    with recording_server() as server:
        yield server


async def test_every_name_the_zip_check_accepts_is_kept_by_the_store(
    gateway: Gateway, store: ObjectStore, host: RecordingServer
) -> None:
    host.routes["/odd.zip"] = lambda _: Reply(body=zip_named(*KEPT))
    prompt = await gateway.add(data_url=host.url("/odd.zip"))

    prepared = await gateway.run(JobStep.PREPARE, prompt)

    assert prepared.status is PromptStatus.PREPARED, prepared.fault
    files = [ref for ref in prepared.objects if ref.role == "file"]
    assert [ref.key.split("/data/files/", 1)[1] for ref in files] == KEPT
    for ref in files:
        assert await store.get(ref.key) == b"x"


@pytest.mark.parametrize(
    ("names", "code"),
    [(("fine.txt", name), code) for name, code in REFUSED]
    + [(names, "zip_name_clash") for names in CLASHES],
)
async def test_a_name_no_store_can_keep_faults_the_prompt_with_the_zips_code(
    gateway: Gateway, host: RecordingServer, names: tuple[str, ...], code: str
) -> None:
    host.routes["/bad.zip"] = lambda _: Reply(body=zip_named(*names))
    prompt = await gateway.add(data_url=host.url("/bad.zip"))
    assert fault_code(await gateway.run(JobStep.PREPARE, prompt)) == code

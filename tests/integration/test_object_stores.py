"""Both object stores honour the same contract; the S3 one against a real SeaweedFS server."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from miniopy_async.api import Minio

from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.application.ports.objects import ObjectNotFound, ObjectStore
from ai_gateway.integration import local_object_store
from ai_gateway.integration.local_object_store import WRITTEN_ON_THE_LOOP, LocalObjectStore
from ai_gateway.integration.object_keys import InvalidObjectKey
from ai_gateway.integration.s3_object_store import S3ObjectStore
from tests.servers import S3_ACCESS_KEY, S3_SECRET_KEY, SeaweedServer, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
async def s3_store(s3_server: SeaweedServer) -> AsyncIterator[S3ObjectStore]:
    async with Minio(
        s3_server.endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, secure=False, region="us-east-1"
    ) as client:
        store = S3ObjectStore(client, f"gw-{uuid.uuid4().hex[:12]}")
        await store.ensure_bucket()
        yield store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    s3: ObjectStore = request.getfixturevalue("s3_store")
    return s3


async def test_an_object_round_trips(store: ObjectStore) -> None:
    await store.put("prompts/abc/original.zip", b"PK\x03\x04data", "application/zip")
    await store.put("prompts/abc/files/item 1 (v2) #é.json", b"{}", "application/json")
    assert await store.get("prompts/abc/original.zip") == b"PK\x03\x04data"
    assert await store.get("prompts/abc/files/item 1 (v2) #é.json") == b"{}"


async def test_an_overwrite_replaces_the_object(store: ObjectStore) -> None:
    await store.put("prompts/abc/response.json", b"1", "application/json")
    await store.put("prompts/abc/response.json", b"2", "application/json")
    assert await store.get("prompts/abc/response.json") == b"2"


async def test_a_missing_object_is_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        await store.get("prompts/nothing/here")


@pytest.mark.parametrize(
    "key",
    [
        "../escape",
        "/absolute",
        "prompts//double",
        "prompts/../x",
        "prompts/./x",
        "",
        "a\\b",
        "a/\x00",
    ],
)
async def test_an_unsafe_key_is_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        await store.put(key, b"x", "text/plain")


async def test_objects_on_either_side_of_the_threads_limit_round_trip(store: ObjectStore) -> None:
    small = os.urandom(WRITTEN_ON_THE_LOOP)
    large = os.urandom(WRITTEN_ON_THE_LOOP + 1)
    await store.put("prompts/abc/small", small, "application/octet-stream")
    await store.put("prompts/abc/large", large, "application/octet-stream")
    assert await store.get("prompts/abc/small") == small
    assert await store.get("prompts/abc/large") == large


def leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob(".tmp-*")]


async def test_writers_racing_for_one_key_leave_one_whole_object_and_no_temporary_file(
    tmp_path: Path,
) -> None:
    store = LocalObjectStore(tmp_path)
    bodies = [bytes([i]) * (10 if i % 2 else WRITTEN_ON_THE_LOOP * 2) for i in range(20)]
    await asyncio.gather(*(store.put("prompts/race/answer", b, "x") for b in bodies))
    assert await store.get("prompts/race/answer") in bodies
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("size", [10, WRITTEN_ON_THE_LOOP + 1])
async def test_a_write_that_cannot_land_is_unavailable_and_leaves_no_temporary_file(
    tmp_path: Path, size: int
) -> None:
    store = LocalObjectStore(tmp_path)
    (tmp_path / "prompts" / "abc" / "answer").mkdir(parents=True)  # a folder where the file goes
    (tmp_path / "blocked").write_bytes(b"a file where a folder goes")

    with pytest.raises(DependencyUnavailable):
        await store.put("prompts/abc/answer", b"x" * size, "x")
    with pytest.raises(DependencyUnavailable):
        await store.put("blocked/answer", b"x" * size, "x")

    assert leftovers(tmp_path) == []


async def test_only_objects_over_the_limit_are_written_in_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[int] = []
    to_thread = asyncio.to_thread

    async def counting(call: Callable[..., Any], *args: Any) -> Any:
        if call is local_object_store._write:
            handed.append(len(args[1]))
        return await to_thread(call, *args)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    store = LocalObjectStore(tmp_path)
    for size in (0, WRITTEN_ON_THE_LOOP, WRITTEN_ON_THE_LOOP + 1):
        await store.put(f"prompts/p{size}/answer", b"x" * size, "x")
        assert await store.get(f"prompts/p{size}/answer") == b"x" * size
    assert handed == [WRITTEN_ON_THE_LOOP + 1]


async def test_others_run_between_two_writes_on_the_loop(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    turns = 0

    async def other() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    running = asyncio.create_task(other())
    await asyncio.sleep(0)
    try:
        before = turns
        for i in range(50):
            await store.put(f"prompts/turns/{i}", b"x", "x")
        assert turns - before >= 49
    finally:
        running.cancel()


async def test_a_short_write_is_finished_and_no_descriptor_is_left_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: write(fd, data[:7]))
    store = LocalObjectStore(tmp_path)
    (tmp_path / "blocked").write_bytes(b"a file where a folder goes")
    body = os.urandom(1000)
    open_before = len(os.listdir("/proc/self/fd"))

    for i in range(20):
        await store.put(f"prompts/short/{i}", body, "x")
        with pytest.raises(DependencyUnavailable):
            await store.put(f"blocked/{i}", body, "x")

    assert len(os.listdir("/proc/self/fd")) == open_before
    assert await store.get("prompts/short/19") == body


class Halt(BaseException):
    """What no handler of OSError catches: an interrupt, an exit."""


@pytest.mark.parametrize("size", [10, WRITTEN_ON_THE_LOOP + 1])
@pytest.mark.parametrize("failing", ["write", "replace"])
async def test_a_write_stopped_by_any_exception_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str, size: int
) -> None:
    def halt(*_: Any) -> Any:
        raise Halt

    monkeypatch.setattr(os, failing, halt)
    store = LocalObjectStore(tmp_path)
    with pytest.raises(Halt):
        await store.put("prompts/halted/answer", b"x" * size, "x")
    assert leftovers(tmp_path) == []
    assert (tmp_path / "prompts" / "halted").exists()


async def test_the_local_store_gives_no_links(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    await store.put("prompts/a/b", b"x", "text/plain")
    assert await store.link("prompts/a/b", timedelta(minutes=5)) is None


async def test_a_presigned_link_serves_the_object_and_a_tampered_one_does_not(
    s3_store: S3ObjectStore,
) -> None:
    await s3_store.put("prompts/abc/original.zip", b"zip bytes", "application/zip")

    url = await s3_store.link("prompts/abc/original.zip", timedelta(minutes=5))

    assert url is not None
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).content == b"zip bytes"
        tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
        assert (await http.get(tampered)).status_code == 403


async def test_wrong_credentials_are_refused(s3_server: SeaweedServer) -> None:
    async with Minio(
        s3_server.endpoint, S3_ACCESS_KEY, "wrong-secret-key", secure=False, region="us-east-1"
    ) as client:
        with pytest.raises(DependencyUnavailable):
            await S3ObjectStore(client, "readiness").put("prompts/x", b"x", "text/plain")


async def test_an_unreachable_server_is_unavailable() -> None:
    async with Minio(
        f"127.0.0.1:{free_port()}", S3_ACCESS_KEY, S3_SECRET_KEY, secure=False, region="us-east-1"
    ) as client:
        store = S3ObjectStore(client, "gw-bucket")
        assert await store.check() is False
        with pytest.raises(DependencyUnavailable):
            await store.get("prompts/x")

"""Object storage on S3 or MinIO (any S3-compatible server), through miniopy-async.

One bucket holds every prompt's objects under ``prompts/<id>/``; it is created when missing, on
the first write, so that an S3 outage at start-up does not stop what does not need S3.
Links are presigned GET URLs. Connection failures and server errors become DependencyUnavailable.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import aiohttp
from miniopy_async.api import Minio
from miniopy_async.error import MinioException, S3Error

from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.application.ports.objects import ObjectNotFound
from ai_gateway.integration.object_keys import InvalidObjectKey, checked_key

OBJECT_STORAGE = "object storage"
# What a server answers for a name it will not keep, should its rule be stricter than ours.
_NAME_REFUSED = {"KeyTooLongError", "InvalidObjectName", "XMinioInvalidObjectName"}


@asynccontextmanager
async def _storage_errors(key: str) -> AsyncIterator[None]:
    try:
        yield
    except S3Error as exc:
        if exc.code in {"NoSuchKey", "NoSuchObject"}:
            raise ObjectNotFound(key) from exc
        if exc.code in _NAME_REFUSED:
            raise InvalidObjectKey(key, f"is refused by the server ({exc.code})") from exc
        raise DependencyUnavailable(OBJECT_STORAGE) from exc
    except (MinioException, aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise DependencyUnavailable(OBJECT_STORAGE) from exc


class S3ObjectStore:
    def __init__(self, client: Minio, bucket: str) -> None:
        self._client = client
        self._bucket = bucket
        self._bucket_ready = False

    async def ensure_bucket(self) -> None:
        async with _storage_errors(self._bucket):
            if not await self._client.bucket_exists(self._bucket):
                try:
                    await self._client.make_bucket(self._bucket)
                except S3Error as exc:  # another process created it meanwhile
                    if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise
        self._bucket_ready = True

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        if not self._bucket_ready:
            await self.ensure_bucket()
        async with _storage_errors(key):
            await self._client.put_object(
                self._bucket,
                checked_key(key),
                io.BytesIO(data),
                len(data),
                content_type=content_type,
            )

    async def get(self, key: str) -> bytes:
        async with _storage_errors(key):
            response = await self._client.get_object(self._bucket, checked_key(key))
            try:
                return await response.read()
            finally:
                response.release()

    async def link(self, key: str, expires: timedelta) -> str | None:
        async with _storage_errors(key):
            url: str = await self._client.presigned_get_object(
                self._bucket, checked_key(key), expires=expires
            )
            return url

    async def check(self) -> bool:
        """S3 answers, accepts our credentials, and the bucket exists (it is created if not)."""
        try:
            await self.ensure_bucket()
        except DependencyUnavailable:
            return False
        return True


class ObjectStorageHealth:
    name = "object_storage"

    def __init__(self, store: S3ObjectStore) -> None:
        self._store = store

    async def check(self) -> bool:
        return await self._store.check()

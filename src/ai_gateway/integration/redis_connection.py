"""How the gateway reaches Redis: one server by URL, or the primary that Sentinel names (ADR 0026).

Either way the client is one pool of connections shared by the process, and every command is
retried, with backoff, for as long as the server is unreachable, up to ``RetrySeconds``:
a failover (the primary lost, a replica promoted) is a few seconds in which connections are
refused and Sentinel names no primary or the old one; a connection made after it reaches the new
primary, because a Sentinel-managed connection asks the sentinels each time it connects.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NewType

import hiredis
from redis.asyncio import (
    BlockingConnectionPool,
    Connection,
    Redis,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError
from redis.exceptions import TimeoutError as RedisTimeoutError

RetrySeconds = NewType("RetrySeconds", float)
"""How long a command is retried while Redis cannot be reached: the API's requests wait less
than the workers' jobs, which would rather wait out a failover than repeat their step."""

_BACKOFF_BASE = 0.05
_BACKOFF_CAP = 0.5


class HiredisPacking(AbstractConnection):
    """Packs each command with hiredis, as redis-py's synchronous client does when hiredis is
    installed; its asyncio connection packs in Python, which costs a prompt's creation script
    (28 arguments) 29 µs against 2.5 µs (ADR 0033)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        first = args[0]
        if isinstance(first, str):
            first = first.encode()
        if isinstance(first, bytes) and b" " in first:
            args = (*first.split(), *args[1:])  # "CONFIG GET": one argument per word, as redis-py
        try:
            return [hiredis.pack_command(args)]
        except TypeError as exc:  # what redis-py's own encoder calls a DataError
            raise DataError(str(exc)) from exc


class TimedSends(AbstractConnection):
    """Bounds each write by ``socket_timeout`` with ``asyncio.timeout``, where redis-py uses
    ``asyncio.wait_for``, which on Python 3.11 runs the write in a task of its own: a task and two
    turns of the event loop for every command and pipeline sent (ADR 0037). Python 3.12's
    ``wait_for`` is this ``asyncio.timeout``. Otherwise redis-py's own method: the same errors,
    and the connection dropped after any failed write."""

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        if not self.socket_timeout:
            await super().send_packed_command(command, check_health)
            return
        if not self.is_connected:
            await self.connect_check_health(check_health=False)
        if check_health:
            await self.check_health()  # type: ignore[no-untyped-call]
        try:
            if isinstance(command, str):
                command = command.encode()
            if isinstance(command, bytes):
                command = [command]
            async with asyncio.timeout(self.socket_timeout):
                await self._send_packed_command(command)
        except TimeoutError:
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as exc:
            await self.disconnect(nowait=True)
            code, message = ("UNKNOWN", exc.args[0]) if len(exc.args) == 1 else exc.args[:2]
            raise RedisConnectionError(f"Error {code} while writing to socket. {message}.") from exc
        except BaseException:  # half a command may be written: the connection cannot go on
            await self.disconnect(nowait=True)
            raise


class PackedConnection(TimedSends, HiredisPacking, Connection):
    pass


class PackedSSLConnection(TimedSends, HiredisPacking, SSLConnection):
    pass


class PackedUnixConnection(TimedSends, HiredisPacking, UnixDomainSocketConnection):
    pass


_PACKED: dict[type[AbstractConnection], type[AbstractConnection]] = {
    Connection: PackedConnection,
    SSLConnection: PackedSSLConnection,
    UnixDomainSocketConnection: PackedUnixConnection,
}


class PrimaryConnection(TimedSends, HiredisPacking, SentinelManagedConnection):
    """A connection to the primary that asks the sentinels where it is on every (re)connection.

    redis-py's own asks only when the pool hands out a connection; a command retried after a
    dropped connection reconnects to the address it had, the lost primary, until it gives up."""

    async def _connect(self) -> None:
        self.host, self.port = await self.connection_pool.get_master_address()
        await super()._connect()  # type: ignore[no-untyped-call]


class PrimarySSLConnection(PrimaryConnection, SSLConnection):
    pass


class BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's pool of primary connections that, like ``BlockingConnectionPool``, waits for a
    free connection (up to the timeout) instead of failing at once with "Too many connections"."""


def retry_policy(budget_seconds: float) -> Retry:
    """Retries on connection errors only, backing off 0.1, 0.2, 0.4, then 0.5 s, for about
    ``budget_seconds`` in all. A timeout is not retried: a server that stalls answers 503 within
    the timeout instead of several times it."""
    first = sum(min(_BACKOFF_CAP, _BACKOFF_BASE * 2**n) for n in (1, 2, 3))
    retries = 3 + max(0, math.ceil((budget_seconds - first) / _BACKOFF_CAP))
    return Retry(
        ExponentialBackoff(cap=_BACKOFF_CAP, base=_BACKOFF_BASE),
        retries,
        supported_errors=(RedisConnectionError,),
    )


@dataclass(frozen=True, slots=True)
class RedisTls:
    """Certificates for TLS: the CA bundle that signs the servers' (None: the system's), and a
    client certificate for servers that ask for one."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def options(self) -> dict[str, Any]:
        files = {
            "ssl_ca_certs": self.ca_file,
            "ssl_certfile": self.cert_file,
            "ssl_keyfile": self.key_file,
        }
        return {name: path for name, path in files.items() if path is not None}


def sentinel_options(
    timeout: float, auth: tuple[str | None, str | None], tls: RedisTls | None
) -> dict[str, Any]:
    """How to talk to the sentinels themselves: their own user and password, ``tls`` as for the
    servers."""
    username, password = auth
    credentials = {"username": username, "password": password}
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        **{name: value for name, value in credentials.items() if value is not None},
        **({"ssl": True, **tls.options()} if tls is not None else {}),
    }


@dataclass(frozen=True, slots=True)
class RedisPool:
    """What every connection to a data server shares, by URL or through Sentinel."""

    max_connections: int
    timeout: float
    retry_seconds: float
    username: str | None = None
    password: str | None = None

    def options(self) -> dict[str, Any]:
        credentials = {"username": self.username, "password": self.password}
        return {
            "decode_responses": True,
            "max_connections": self.max_connections,
            "timeout": self.timeout,
            "socket_timeout": self.timeout,
            "socket_connect_timeout": self.timeout,
            "health_check_interval": 30,
            "retry": retry_policy(self.retry_seconds),
            **{name: value for name, value in credentials.items() if value is not None},
        }


class RedisConnection:
    """The process's Redis client, and what closes it."""

    def __init__(self, client: Redis, sentinel: Sentinel | None = None) -> None:
        self.client = client
        self._sentinel = sentinel

    @classmethod
    def by_url(cls, url: str, pool: RedisPool, tls: RedisTls | None = None) -> RedisConnection:
        """One server: ``redis://``, ``rediss://`` (TLS, with ``tls``) or ``unix://``; the
        URL's own user and password win over the pool's."""
        options = {**pool.options(), **(tls.options() if tls else {})}
        connections = BlockingConnectionPool.from_url(url, **options)
        kind = connections.connection_class  # as the URL's scheme has it
        connections.connection_class = _PACKED.get(kind, kind)
        return cls(Redis(connection_pool=connections))

    @classmethod
    def by_sentinel(
        cls,
        sentinels: tuple[tuple[str, int], ...],
        master: str,
        pool: RedisPool,
        *,
        sentinel_auth: tuple[str | None, str | None] = (None, None),
        tls: RedisTls | None = None,
    ) -> RedisConnection:
        """The primary of ``master`` as the sentinels name it; ``tls`` for the sentinels and the
        servers alike, ``sentinel_auth`` (user, password) for the sentinels themselves."""
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(sentinels), sentinel_kwargs=sentinel_options(pool.timeout, sentinel_auth, tls)
        )
        client = sentinel.master_for(
            master,
            connection_pool_class=BlockingSentinelPool,
            connection_class=PrimaryConnection if tls is None else PrimarySSLConnection,
            **pool.options(),
            **(tls.options() if tls is not None else {}),
        )
        return cls(client, sentinel)

    async def aclose(self) -> None:
        await self.client.aclose(close_connection_pool=True)
        if self._sentinel is not None:
            await self._sentinel.aclose()

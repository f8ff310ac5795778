"""Prompt writes that wait for a replica (ADR 0026), against a real primary and replica; and the
primary found through a sentinel that asks for a password, over TLS, by the process's client and
the worker supervisor's probe alike, from the same settings."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.bootstrap.storage import redis_connection, redis_probe
from ai_gateway.domain.prompt import Prompt
from ai_gateway.integration.redis_prompt_repository import RedisPromptRepository
from ai_gateway.integration.redis_replication import ReplicatedWrites
from ai_gateway.settings import Settings
from tests.factories import T0
from tests.redis_ha import MASTER, SentinelServer, certificates, replica_online, tls_server
from tests.servers import LOOPBACK, RedisServer, free_port
from tests.waiting import until, wait_until

pytestmark = pytest.mark.integration

USER, PASSWORD = "gateway", "gateway-password-0123"


def prompt(i: int) -> Prompt:
    return Prompt.create(owner="apikey:mosaic", content=f"p{i}", at=T0 + timedelta(seconds=i))


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[RedisServer, RedisServer]]:
    primary = RedisServer(tmp_path / "primary")
    replica = RedisServer(tmp_path / "replica", "--replicaof", LOOPBACK, str(primary.port))
    primary.start()
    replica.start()
    wait_until(lambda: replica_online(primary), 20, "replica in sync")
    yield primary, replica
    replica.stop()
    primary.stop()


async def test_a_write_returns_once_the_replica_has_it_and_fails_when_it_cannot_answer(
    pair: tuple[RedisServer, RedisServer], key_prefix: str
) -> None:
    primary, replica = pair
    async with Redis.from_url(primary.url, decode_responses=True) as redis:
        # A loaded machine can keep a healthy replica from acknowledging within a short wait:
        # the writes meant to succeed wait long, the one meant to fail waits briefly.
        patient = RedisPromptRepository(
            redis,
            prefix=key_prefix,
            replicated=ReplicatedWrites(redis, replicas=1, timeout_ms=10_000),
        )
        hasty = RedisPromptRepository(
            redis, prefix=key_prefix, replicated=ReplicatedWrites(redis, replicas=1, timeout_ms=300)
        )
        kept = prompt(0)
        await patient.add(kept)
        async with Redis.from_url(replica.url, decode_responses=True) as on_replica:
            assert await RedisPromptRepository(on_replica, prefix=key_prefix).get(kept.id)

        assert replica.process is not None
        os.kill(replica.process.pid, signal.SIGSTOP)  # online for the primary, but silent
        try:
            with pytest.raises(DependencyUnavailable, match="redis replicas"):
                await hasty.add(prompt(1))
        finally:
            os.kill(replica.process.pid, signal.SIGCONT)
        await patient.add(prompt(2))


async def test_a_primary_without_replicas_online_writes_without_waiting(
    pair: tuple[RedisServer, RedisServer], key_prefix: str
) -> None:
    primary, replica = pair
    replica.stop()
    async with Redis.from_url(primary.url, decode_responses=True) as redis:
        await until(lambda: not replica_online(primary), 10, "replica gone")
        repo = RedisPromptRepository(
            redis,
            prefix=key_prefix,
            replicated=ReplicatedWrites(redis, replicas=1, timeout_ms=60_000),
        )
        kept = prompt(0)
        await repo.add(kept)
        assert await repo.get(kept.id)


async def test_the_primary_is_found_through_a_sentinel_with_a_password_all_over_tls(
    tmp_path: Path, key_prefix: str
) -> None:
    certs = certificates(tmp_path / "certs")
    tls = [f"tls-cert-file {certs.cert}", f"tls-key-file {certs.key}",
           f"tls-ca-cert-file {certs.ca}", "tls-auth-clients no"]  # fmt: skip
    primary, primary_tls = tls_server(
        tmp_path / "primary", certs, "--user", USER, "on", f">{PASSWORD}", "~*", "&*", "+@all"
    )
    sentinel_tls = free_port()
    sentinel = SentinelServer(
        tmp_path / "sentinel", primary_tls, quorum=1,
        options=[f"sentinel auth-user {MASTER} {USER}", f"sentinel auth-pass {MASTER} {PASSWORD}",
                 f"tls-port {sentinel_tls}", "tls-replication yes", "requirepass sentinel-secret",
                 *tls],
    )  # fmt: skip
    primary.start()
    sentinel.start()
    settings = Settings(
        _env_file=None, redis_url=None, redis_sentinels=f"{LOOPBACK}:{sentinel_tls}",
        redis_sentinel_master=MASTER, redis_sentinel_password="sentinel-secret",
        redis_username=USER, redis_password=PASSWORD, redis_tls=True,
        redis_tls_ca_file=certs.ca, redis_timeout_seconds=2.0,
    )  # fmt: skip
    connection = redis_connection(settings, 2.0)
    probe = redis_probe(settings, 2.0)
    try:
        repo = RedisPromptRepository(connection.client, prefix=key_prefix)
        kept = prompt(0)
        await repo.add(kept)
        assert await repo.get(kept.id)
        assert probe.ping()
        with SyncRedis(LOOPBACK, primary.port, decode_responses=True) as plain:
            ours = [c for c in plain.client_list() if c["laddr"].endswith(f":{primary_tls}")]
            assert len(ours) >= 2
            assert {c["user"] for c in ours} == {USER}
    finally:
        probe.close()
        await connection.aclose()
        sentinel.stop()
        primary.stop()

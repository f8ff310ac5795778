"""The gateway on a Redis that speaks TLS (``rediss://``, with REDIS_TLS_CA_FILE) and admits an
ACL user with a password (REDIS_USERNAME, REDIS_PASSWORD)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from redis import Redis

from ai_gateway.bootstrap import create_app
from ai_gateway.integration.redis_keys import RedisKeys
from tests.api.conftest import MOSAIC_KEY, client_for, make_settings
from tests.redis_ha import Certificates, certificates, tls_server
from tests.servers import LOOPBACK, RedisServer

USER, PASSWORD = "gateway", "gateway-password-0123"


@pytest.fixture
def certs(tmp_path: Path) -> Certificates:
    return certificates(tmp_path / "certs")


@pytest.fixture
def tls_redis(tmp_path: Path, certs: Certificates) -> Iterator[tuple[RedisServer, int]]:
    server, tls_port = tls_server(
        tmp_path / "redis", certs, "--user", USER, "on", f">{PASSWORD}", "~*", "&*", "+@all"
    )
    server.start()
    yield server, tls_port
    server.stop()


async def test_prompts_are_kept_over_tls_by_the_acl_user(
    tls_redis: tuple[RedisServer, int], certs: Certificates, key_prefix: str
) -> None:
    server, tls_port = tls_redis
    settings = make_settings(
        f"rediss://{LOOPBACK}:{tls_port}/0", key_prefix, redis_tls_ca_file=certs.ca,
        redis_username=USER, redis_password=SecretStr(PASSWORD),
    )  # fmt: skip
    async for client in client_for(create_app(settings)):
        client.headers["X-API-Key"] = MOSAIC_KEY
        assert (await client.get("/api/app/ready")).status_code == 200
        created = await client.post("/api/prompts", json={"content": "over TLS"})
        assert created.status_code == 201, created.text
        read = await client.get(created.headers["location"])
        assert read.json()["content"] == "over TLS"

        with Redis(LOOPBACK, server.port, decode_responses=True) as plain:
            users = {c["user"] for c in plain.client_list() if c["laddr"].endswith(f":{tls_port}")}
            assert users == {USER}
            assert plain.exists(RedisKeys(key_prefix).prompt(created.json()["id"])) == 1


@pytest.mark.parametrize("wrong", ["ca", "password"])
async def test_another_ca_or_a_wrong_password_leaves_the_gateway_not_ready(
    tls_redis: tuple[RedisServer, int], tmp_path: Path, key_prefix: str, wrong: str
) -> None:
    _, tls_port = tls_redis
    other = certificates(tmp_path / "other")
    settings = make_settings(
        f"rediss://{LOOPBACK}:{tls_port}/0", key_prefix,
        redis_tls_ca_file=other.ca if wrong == "ca" else tmp_path / "certs" / "ca.pem",
        redis_username=USER,
        redis_password=SecretStr("not-the-password" if wrong == "password" else PASSWORD),
    )  # fmt: skip
    async for client in client_for(create_app(settings)):
        client.headers["X-API-Key"] = MOSAIC_KEY
        assert (await client.get("/api/app/ready")).status_code == 503
        assert (await client.post("/api/prompts", json={"content": "x"})).status_code == 503

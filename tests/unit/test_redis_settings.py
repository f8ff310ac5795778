"""How the Redis settings are read: one server by URL, or Sentinel; TLS only where it applies."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ai_gateway.integration.redis_connection import retry_policy
from ai_gateway.settings import Settings


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "REDIS_TLS", "APP_ENV"):
        monkeypatch.delenv(name, raising=False)


def test_sentinels_are_read_as_hosts_and_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_SENTINELS", "10.0.0.1:26379, sentinel-b:26380,[fd00::3]:26381")
    monkeypatch.setenv("REDIS_SENTINEL_MASTER", "gateway")

    settings = Settings(_env_file=None)

    assert settings.redis_sentinels == (
        ("10.0.0.1", 26379), ("sentinel-b", 26380), ("fd00::3", 26381)
    )  # fmt: skip
    assert settings.redis_configured


@pytest.mark.parametrize("text", ["sentinel-a", "sentinel-a:port", ":26379", "a:26379,b"])
def test_a_sentinel_without_a_port_is_refused(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("REDIS_SENTINELS", text)
    monkeypatch.setenv("REDIS_SENTINEL_MASTER", "gateway")
    with pytest.raises(ValidationError, match="REDIS_SENTINELS"):
        Settings(_env_file=None)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"redis_sentinels": "a:1"}, "go together"),
        ({"redis_sentinel_master": "gateway"}, "go together"),
        ({"redis_sentinels": "a:1", "redis_sentinel_master": "m", "redis_url": "redis://r"},
         "not both"),
        ({"redis_url": "rediss://r", "redis_tls": True}, "rediss:// says TLS"),
        ({"redis_url": "redis://r", "redis_tls_ca_file": "ca.pem"}, "need a rediss://"),
        ({"redis_sentinels": "a:1", "redis_sentinel_master": "m", "redis_tls_ca_file": "ca.pem"},
         "REDIS_TLS=true"),
        ({"redis_url": "rediss://r", "redis_tls_ca_file": "missing.pem"}, "not a readable file"),
        ({"redis_url": "rediss://r", "redis_tls_cert_file": "ca.pem"}, "go together"),
    ],
)  # fmt: skip
def test_redis_settings_that_contradict_each_other_are_refused(
    values: dict[str, object], message: str
) -> None:
    Path("ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_tls_files_are_taken_with_a_rediss_url_or_tls_through_sentinel() -> None:
    Path("ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    by_url = Settings(_env_file=None, redis_url="rediss://r:6380/0", redis_tls_ca_file="ca.pem")
    sentinel = Settings(
        _env_file=None, redis_sentinels="a:1", redis_sentinel_master="m", redis_tls=True,
        redis_tls_ca_file="ca.pem",
    )  # fmt: skip
    assert by_url.redis_tls_ca_file == sentinel.redis_tls_ca_file == Path("ca.pem")


def test_production_takes_sentinel_as_an_outside_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("MOSAIC_API_KEYS", "mosaic:mosaic-key-0123456789")
    monkeypatch.setenv("CALLBACK_SIGNING_SECRET", "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZg==")
    with pytest.raises(ValidationError, match="REDIS_SENTINELS"):
        Settings(_env_file=None)
    monkeypatch.setenv("REDIS_SENTINELS", "a:26379")
    monkeypatch.setenv("REDIS_SENTINEL_MASTER", "gateway")
    assert Settings(_env_file=None).redis_configured


@pytest.mark.parametrize("budget", [0.5, 1.0, 5.0, 30.0])
def test_commands_are_retried_for_about_the_budget(budget: float) -> None:
    policy = retry_policy(budget)
    waits = sum(min(0.5, 0.05 * 2**n) for n in range(1, policy.get_retries() + 1))
    assert budget <= waits < budget + 0.5 or (budget < 0.7 and policy.get_retries() == 3)

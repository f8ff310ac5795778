"""The settings of the Redis the gateway keeps everything in: one server by URL, or a primary
found through Sentinel; credentials, TLS, and how many replicas a write waits for (ADR 0026)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode

from ai_gateway.settings.values import parse_sentinels


def _sentinels(value: object) -> object:
    return parse_sentinels(value) if isinstance(value, str) else value


class RedisSettings(BaseSettings):
    redis_url: SecretStr | None = None
    redis_sentinels: Annotated[
        tuple[tuple[str, int], ...], NoDecode, BeforeValidator(_sentinels)
    ] = ()
    redis_sentinel_master: str | None = None
    redis_sentinel_username: str | None = None
    redis_sentinel_password: SecretStr | None = None
    redis_username: str | None = None
    redis_password: SecretStr | None = None
    redis_tls: bool = False
    redis_tls_ca_file: Path | None = None
    redis_tls_cert_file: Path | None = None
    redis_tls_key_file: Path | None = None
    redis_wait_replicas: int = Field(default=1, ge=0, le=16)
    redis_wait_timeout_ms: int = Field(default=1000, ge=1, le=60_000)
    redis_key_prefix: str = Field(default="gw", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    redis_max_connections: int = Field(default=50, ge=1)
    redis_timeout_seconds: float = Field(default=5.0, gt=0)
    redis_failover_seconds: float = Field(default=30.0, gt=0, le=600)

    @property
    def redis_configured(self) -> bool:
        """Whether an outside Redis is named (by URL or through Sentinel): else the embedded one."""
        return self.redis_url is not None or bool(self.redis_sentinels)

    @model_validator(mode="after")
    def _one_redis(self) -> Self:
        if bool(self.redis_sentinels) != bool(self.redis_sentinel_master):
            raise ValueError("REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together")
        if self.redis_sentinels and self.redis_url is not None:
            raise ValueError("set either REDIS_URL or REDIS_SENTINELS, not both")
        if (self.redis_tls_cert_file is None) != (self.redis_tls_key_file is None):
            raise ValueError("REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together")
        files = (self.redis_tls_ca_file, self.redis_tls_cert_file, self.redis_tls_key_file)
        url = self.redis_url.get_secret_value() if self.redis_url else ""
        if self.redis_tls and url:
            raise ValueError("REDIS_TLS is for Sentinel: with REDIS_URL, rediss:// says TLS")
        secure = url.startswith("rediss://") or (bool(self.redis_sentinels) and self.redis_tls)
        if any(files) and not secure:
            raise ValueError("REDIS_TLS_*_FILE need a rediss:// REDIS_URL, or REDIS_TLS=true")
        for path in files:
            if path is not None and not path.is_file():
                raise ValueError(f"{path} is not a readable file")
        return self

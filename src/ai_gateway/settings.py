"""Settings, read from the environment and ``.env``, with the seed's names."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_KEY_LENGTH = 16
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class ApiKeyEntry:
    """A named API key, held only as the SHA-256 of the key."""

    name: str
    sha256: str

    def __repr__(self) -> str:
        return f"ApiKeyEntry(name={self.name!r}, sha256=<hidden>)"


def parse_api_key(entry: str) -> ApiKeyEntry:
    """``name:key`` or ``name:sha256:<64 hex digits>``."""
    name, sep, secret = entry.strip().partition(":")
    if not sep or not _NAME.fullmatch(name):
        raise ValueError("each API key must be 'name:key' with a name of letters, digits, . _ -")
    algo, sep, digest = secret.partition(":")
    if sep and algo == "sha256":
        if not _HEX64.fullmatch(digest):
            raise ValueError(f"API key {name}: a sha256 hash is 64 lowercase hex digits")
        return ApiKeyEntry(name, digest)
    if len(secret) < MIN_KEY_LENGTH:
        raise ValueError(f"API key {name}: keys must be at least {MIN_KEY_LENGTH} characters")
    return ApiKeyEntry(name, hashlib.sha256(secret.encode()).hexdigest())


class Settings(BaseSettings):
    """Every setting, with its default; ``docs/configuration.md`` describes each one."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    app_env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path(".ai-gateway")
    build_revision: str = "unknown"

    redis_url: SecretStr | None = None
    redis_key_prefix: str = Field(default="gw", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    redis_max_connections: int = Field(default=50, ge=1)
    redis_timeout_seconds: float = Field(default=5.0, gt=0)

    mosaic_api_keys: Annotated[tuple[ApiKeyEntry, ...], NoDecode] = ()

    prompt_retention_seconds: int = Field(default=0, ge=0)
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60)
    max_request_bytes: int = Field(default=1_048_576, ge=1024)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"
    access_log: bool = True
    otel_enabled: bool = False

    @field_validator("mosaic_api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            items = json.loads(text) if text.startswith("[") else text.split(",")
            return tuple(parse_api_key(item) for item in items if item.strip())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.app_env == "production":
            if self.redis_url is None:
                raise ValueError(
                    "APP_ENV=production needs REDIS_URL: the embedded server is for dev"
                )
            if not self.mosaic_api_keys:
                raise ValueError("APP_ENV=production needs at least one key in MOSAIC_API_KEYS")
        names = [k.name for k in self.mosaic_api_keys]
        if len({k.sha256 for k in self.mosaic_api_keys}) != len(names):
            raise ValueError("MOSAIC_API_KEYS lists the same key twice")
        return self

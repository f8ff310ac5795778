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
from standardwebhooks import Webhook

from ai_gateway.domain.errors import InvalidPromptData
from ai_gateway.domain.token_signing import allowed_jwt_algorithms
from ai_gateway.domain.values import validate_bucket_name
from ai_gateway.integration.safe_http import parse_networks

MIN_KEY_LENGTH = 16
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

_SCOPE = r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$"  # RFC 6749 scope-token characters


@dataclass(frozen=True, slots=True)
class ApiKeyEntry:
    """A named API key, held only as the SHA-256 of the key; ``scopes`` None means the default."""

    name: str
    sha256: str
    scopes: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return f"ApiKeyEntry(name={self.name!r}, sha256=<hidden>, scopes={self.scopes!r})"


def _digest(name: str, secret: str) -> str:
    algo, sep, digest = secret.partition(":")
    if sep and algo == "sha256":
        if not _HEX64.fullmatch(digest):
            raise ValueError(f"API key {name}: a sha256 hash is 64 lowercase hex digits")
        return digest
    if len(secret) < MIN_KEY_LENGTH:
        raise ValueError(f"API key {name}: keys must be at least {MIN_KEY_LENGTH} characters")
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_api_key(entry: str | dict[str, object]) -> ApiKeyEntry:
    """``name:key``, ``name:sha256:<64 hex>``, or ``{"name", "key" | "sha256", "scopes"}``."""
    if not isinstance(entry, str | dict):
        raise ValueError("each API key is a 'name:key' string or an object")
    if isinstance(entry, dict):
        name, scopes = entry.get("name"), entry.get("scopes")
        secret = entry.get("key") or (f"sha256:{entry['sha256']}" if "sha256" in entry else None)
        if not isinstance(name, str) or not isinstance(secret, str):
            raise ValueError("an API key object needs a 'name' and a 'key' or 'sha256'")
        if scopes is not None and not (
            isinstance(scopes, list) and all(isinstance(s, str) and s for s in scopes)
        ):
            raise ValueError(f"API key {name}: 'scopes' is a list of scope names")
        entry = f"{name}:{secret}"
    else:
        scopes = None
    name, sep, secret = entry.strip().partition(":")
    if not sep or not _NAME.fullmatch(name):
        raise ValueError("each API key must be 'name:key' with a name of letters, digits, . _ -")
    return ApiKeyEntry(name, _digest(name, secret), None if scopes is None else tuple(scopes))


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

    jwt_authority: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str = "ai-gateways"
    jwt_algorithms: Annotated[tuple[str, ...], NoDecode] = ("RS256",)
    jwt_leeway_seconds: float = Field(default=30.0, ge=0, le=300)
    jwt_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    jwks_max_age_seconds: float = Field(default=300.0, gt=0, le=900)
    jwks_refresh_cooldown_seconds: float = Field(default=30.0, ge=0)
    identity_provider_timeout_seconds: float = Field(default=5.0, gt=0)

    required_scope: str = Field(default="api", pattern=_SCOPE)
    internal_scope: str = Field(default="internal", pattern=_SCOPE)
    events_scope: str = Field(default="events", pattern=_SCOPE)
    admin_scope: str = Field(default="admin", pattern=_SCOPE)

    swagger_ui_jwt_authority: str | None = None
    swagger_ui_client_id: str | None = None
    swagger_ui_token_url: str | None = None
    swagger_ui_authorization_url: str | None = None

    prompt_retention_seconds: int = Field(default=0, ge=0)
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60)
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    max_header_bytes: int = Field(default=32 * 1024, ge=4096)
    max_header_count: int = Field(default=100, ge=16)
    header_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    serve_worker: bool | None = None
    worker_concurrency: int = Field(default=8, ge=1, le=256)
    worker_processes: int = Field(default=2, ge=1, le=64)
    job_claim_idle_seconds: float = Field(default=60.0, gt=0)
    job_max_deliveries: int = Field(default=5, ge=1)
    step_max_attempts: int = Field(default=6, ge=1)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    reconcile_interval_seconds: float = Field(default=30.0, gt=0)
    stuck_after_seconds: float = Field(default=300.0, gt=0)
    genai_answer_timeout_seconds: float = Field(default=3600.0, gt=0)

    egress_allow_cidrs: str = ""
    data_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    download_timeout_seconds: float = Field(default=30.0, gt=0)
    download_total_seconds: float = Field(default=300.0, gt=0)
    zip_max_entries: int = Field(default=1000, ge=1)
    zip_max_total_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    zip_max_ratio: float = Field(default=100.0, gt=1)

    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_secure: bool | None = None
    s3_region: str = "us-east-1"
    s3_bucket: str = "ai-gateway"
    s3_expiration_delta_days: float = Field(default=1.0, gt=0, le=7)

    genai_provider: Literal["echo", "openai", "genai-api"] = "echo"
    genai_timeout_seconds: float = Field(default=120.0, gt=0)
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    genai_api_url: str | None = None
    genai_api_token_url: str | None = None
    genai_api_client_id: str | None = None
    genai_api_client_secret: SecretStr | None = None
    genai_api_scope: str | None = None
    genai_api_resource: str | None = None
    gateway_public_url: str | None = None

    mosaic_base_url: str | None = None
    mosaic_token_url: str | None = None
    mosaic_client_id: str | None = None
    mosaic_client_secret: SecretStr | None = None
    mosaic_scope: str | None = None
    mosaic_data_paths: Annotated[tuple[str, ...], NoDecode] = ("/api/genai/download/**",)
    mosaic_callback_paths: Annotated[tuple[str, ...], NoDecode] = ("/api/item/*/ai_response/*",)

    callback_signing_secret: SecretStr | None = None
    callback_secrets: SecretStr = SecretStr("{}")
    callback_retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    callback_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    genai_answer_event_type: str | None = None
    genai_service_identities: Annotated[frozenset[str], NoDecode] = frozenset()
    events_allowed_rate: str = Field(default="120", pattern=r"^(\*|[0-9]{1,6})$")
    cloud_event_sink: str | None = None
    cloud_event_mode: Literal["structured", "binary"] = "structured"
    outbox_max_events: int = Field(default=100_000, ge=100)
    cloud_event_source: str = "/ai-gateway"
    cloud_event_type_prefix: str = Field(default="ai-gateway", pattern=r"^[A-Za-z0-9_.-]{1,64}$")

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
            if not isinstance(items, list):
                raise ValueError("MOSAIC_API_KEYS is a comma-separated list or a JSON list")
            return tuple(
                parse_api_key(i) for i in items if not (isinstance(i, str) and not i.strip())
            )
        return value

    @field_validator("mosaic_data_paths", "mosaic_callback_paths", mode="before")
    @classmethod
    def _parse_paths(cls, value: object) -> object:
        value = (
            tuple(p.strip() for p in value.split(",") if p.strip())
            if isinstance(value, str)
            else value
        )
        for path in value if isinstance(value, tuple | list) else ():
            head, *segments = str(path).split("/")
            if head or {"", ".", ".."} & set(segments) or "**" in segments[:-1]:
                raise ValueError(f"{path!r}: a path pattern starts with /, has no empty or dot "
                                 "segments, and only its last segment may be **")  # fmt: skip
        return value

    @field_validator("genai_service_identities", mode="before")
    @classmethod
    def _parse_identities(cls, value: object) -> object:
        value = (
            frozenset(i.strip() for i in value.split(",") if i.strip())
            if isinstance(value, str)
            else value
        )
        names = value if isinstance(value, frozenset | set | tuple | list) else ()
        refused = [i for i in names if not str(i).startswith(("jwt:", "client:", "apikey:"))]
        if refused:
            raise ValueError(
                f"{refused[0]!r}: name jwt:<subject>, client:<client id> or apikey:<key name>"
            )
        return value

    @field_validator("jwt_algorithms", mode="before")
    @classmethod
    def _parse_algorithms(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(a.strip() for a in value.split(",") if a.strip())
        if isinstance(value, tuple | list):
            try:
                allowed_jwt_algorithms(value)
            except ValueError as exc:
                raise ValueError(f"JWT_ALGORITHMS: {exc}") from None
        return value

    @field_validator("jwt_authority", "jwt_issuer", "swagger_ui_jwt_authority", mode="after")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @property
    def authority_base(self) -> str | None:
        """JWT_AUTHORITY without a trailing slash, for building URLs under it."""
        return None if self.jwt_authority is None else self.jwt_authority.rstrip("/")

    def _check_pipeline(self) -> None:
        by_provider: dict[str, dict[str, object]] = {
            "openai": {"OPENAI_BASE_URL": self.openai_base_url},
            "genai-api": {
                "GENAI_API_URL": self.genai_api_url,
                "GENAI_API_TOKEN_URL": self.genai_api_token_url,
                "GENAI_API_CLIENT_ID": self.genai_api_client_id,
                "GENAI_API_CLIENT_SECRET": self.genai_api_client_secret,
                "GATEWAY_PUBLIC_URL": self.gateway_public_url,
                "GENAI_SERVICE_IDENTITIES": self.genai_service_identities,
            },
        }
        needed = dict(by_provider.get(self.genai_provider, {}))
        if self.s3_endpoint:
            needed |= {"S3_ACCESS_KEY": self.s3_access_key, "S3_SECRET_KEY": self.s3_secret_key}
        if self.mosaic_client_id:
            needed |= {"MOSAIC_TOKEN_URL": self.mosaic_token_url}
            needed |= {"MOSAIC_CLIENT_SECRET": self.mosaic_client_secret}
        missing = sorted(name for name, value in needed.items() if not value)
        if missing:
            raise ValueError(f"these settings are needed by the others: {', '.join(missing)}")
        try:
            validate_bucket_name(self.s3_bucket)
        except InvalidPromptData as exc:
            raise ValueError(f"S3_BUCKET: the bucket name {exc.message}") from None
        parse_networks(self.egress_allow_cidrs)
        self.callback_schedule()
        for secret in [self.callback_signing_secret, *self.owner_callback_secrets().values()]:
            if secret is not None:
                Webhook(secret.get_secret_value())  # refuses what is not a base64 secret
        if self.app_env == "production" and self.callback_signing_secret is None:
            raise ValueError("APP_ENV=production needs CALLBACK_SIGNING_SECRET (whsec_...)")
        if self.stuck_after_seconds <= self.job_claim_idle_seconds:
            raise ValueError("STUCK_AFTER_SECONDS must exceed JOB_CLAIM_IDLE_SECONDS")

    def callback_schedule(self) -> tuple[float, ...]:
        """Seconds between callback attempts, after the first."""
        try:
            schedule = tuple(float(s) for s in self.callback_retry_schedule.split(",") if s.strip())
        except ValueError:
            raise ValueError(
                "CALLBACK_RETRY_SCHEDULE is a comma-separated list of seconds"
            ) from None
        if any(s < 0 for s in schedule):
            raise ValueError("CALLBACK_RETRY_SCHEDULE cannot go back in time")
        return schedule

    def owner_callback_secrets(self) -> dict[str, SecretStr]:
        """CALLBACK_SECRETS: a JSON object from prompt owner (``apikey:<name>``, ``jwt:<sub>``) to
        that client's signing secret."""
        try:
            table = json.loads(self.callback_secrets.get_secret_value())
        except ValueError:
            raise ValueError("CALLBACK_SECRETS is a JSON object of owner to secret") from None
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise ValueError("CALLBACK_SECRETS is a JSON object of owner to secret")
        return {owner: SecretStr(secret) for owner, secret in table.items()}

    @property
    def trusted_issuer(self) -> str | None:
        """The exact ``iss`` tokens must carry: JWT_ISSUER, else JWT_AUTHORITY."""
        return self.jwt_issuer or self.jwt_authority

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
            if not self.mosaic_api_keys and not self.jwt_authority:
                raise ValueError("APP_ENV=production needs MOSAIC_API_KEYS or JWT_AUTHORITY")
        self._check_pipeline()
        names = [k.name for k in self.mosaic_api_keys]
        if len({k.sha256 for k in self.mosaic_api_keys}) != len(names):
            raise ValueError("MOSAIC_API_KEYS lists the same key twice")
        return self

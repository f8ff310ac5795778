"""The ``Settings`` model: every setting with its one default; ``docs/configuration.md`` describes
each one. Text from the environment becomes a typed value here, once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from ai_gateway.domain.events import GENAI_ANSWER_EVENT, cloud_event_type
from ai_gateway.domain.limits import CallerLimits, ProviderLimit, parse_caller_limits
from ai_gateway.domain.token_signing import allowed_jwt_algorithms
from ai_gateway.settings.redis import RedisSettings
from ai_gateway.settings.values import (
    ApiKeyEntry,
    IPNetwork,
    S3Address,
    bucket_name,
    names,
    parse_api_keys,
    parse_networks,
    parse_owner_secrets,
    parse_provider_limits,
    parse_schedule,
    path_patterns,
    provider_names,
    s3_address,
    service_identities,
    webhook_secret,
)

_SCOPE = r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$"  # RFC 6749 scope-token characters


def _from_text(parse: Callable[[str], object]) -> BeforeValidator:
    """Parses the environment's text; a value given already typed (by code) passes through."""
    return BeforeValidator(lambda value: parse(value) if isinstance(value, str) else value)


def _signing_secret(value: object) -> object:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return webhook_secret(value) if isinstance(value, str) else value


class Settings(RedisSettings):
    """Every setting, with its default; ``docs/configuration.md`` describes each one."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    app_env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path(".ai-gateway")
    build_revision: str = "unknown"

    mosaic_api_keys: Annotated[tuple[ApiKeyEntry, ...], NoDecode, _from_text(parse_api_keys)] = ()

    jwt_authority: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str = "ai-gateways"
    jwt_algorithms: Annotated[tuple[str, ...], NoDecode] = ("RS256",)
    jwt_leeway_seconds: float = Field(default=30.0, ge=0, le=300)
    jwt_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    jwks_max_age_seconds: float = Field(default=300.0, gt=0, le=900)
    jwks_refresh_cooldown_seconds: float = Field(default=30.0, ge=0, le=300)
    identity_provider_timeout_seconds: float = Field(default=5.0, gt=0)

    required_scope: str = Field(default="api", pattern=_SCOPE)
    internal_scope: str = Field(default="internal", pattern=_SCOPE)
    events_scope: str = Field(default="events", pattern=_SCOPE)
    admin_scope: str = Field(default="admin", pattern=_SCOPE)

    swagger_ui_jwt_authority: str | None = None
    swagger_ui_client_id: str | None = None
    swagger_ui_token_url: str | None = None
    swagger_ui_authorization_url: str | None = None

    console_enabled: bool = True
    console_client_id: str | None = None
    console_admin_role: str | None = Field(default=None, pattern=r"^[\x21-\x7e]{1,128}$")
    console_session_secret: SecretStr | None = Field(default=None, min_length=32)
    console_session_seconds: int = Field(default=3600, ge=60, le=86_400)
    console_idle_seconds: int = Field(default=900, ge=30, le=86_400)

    prompt_retention_seconds: int = Field(default=0, ge=0)
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60)
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    max_header_bytes: int = Field(default=32 * 1024, ge=4096)
    max_header_count: int = Field(default=100, ge=16)
    header_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    caller_limits: Annotated[dict[str, CallerLimits], NoDecode, _from_text(parse_caller_limits)] = (
        Field(default_factory=dict)
    )
    backlog_max_prompts: int = Field(default=10_000, ge=0)

    serve_worker: bool | None = None
    serve_worker_concurrency: int = Field(default=128, ge=1, le=1024)
    serve_creation_concurrency: int = Field(default=8, ge=0, le=1024)
    worker_concurrency: int = Field(default=8, ge=1, le=256)
    worker_processes: int = Field(default=2, ge=1, le=64)
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    job_claim_idle_seconds: float = Field(default=60.0, gt=0)
    job_max_deliveries: int = Field(default=5, ge=1)
    shutdown_grace_seconds: int = Field(default=20, ge=0, le=3600)
    step_max_attempts: int = Field(default=6, ge=1)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    reconcile_interval_seconds: float = Field(default=30.0, gt=0)
    stuck_after_seconds: float = Field(default=300.0, gt=0)
    genai_answer_timeout_seconds: float = Field(default=3600.0, gt=0)

    egress_allow_cidrs: Annotated[tuple[IPNetwork, ...], NoDecode, _from_text(parse_networks)] = ()
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
    s3_bucket: Annotated[str, _from_text(bucket_name)] = "ai-gateway"
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
    provider_limits: Annotated[
        dict[str, ProviderLimit], NoDecode, _from_text(parse_provider_limits)
    ] = Field(default_factory=dict)
    provider_fallbacks: Annotated[tuple[str, ...], NoDecode, BeforeValidator(provider_names)] = ()

    mosaic_base_url: str | None = None
    mosaic_token_url: str | None = None
    mosaic_client_id: str | None = None
    mosaic_client_secret: SecretStr | None = None
    mosaic_scope: str | None = None
    mosaic_data_paths: Annotated[tuple[str, ...], NoDecode, BeforeValidator(path_patterns)] = (
        "/api/genai/download/**",
    )
    mosaic_callback_paths: Annotated[tuple[str, ...], NoDecode, BeforeValidator(path_patterns)] = (
        "/api/item/*/ai_response/*",
    )

    callback_signing_secret: Annotated[SecretStr | None, BeforeValidator(_signing_secret)] = None
    callback_secrets: Annotated[dict[str, SecretStr], NoDecode, _from_text(parse_owner_secrets)] = (
        Field(default_factory=dict)
    )
    callback_retry_schedule: Annotated[tuple[float, ...], NoDecode, _from_text(parse_schedule)] = (
        5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0,
    )  # fmt: skip
    callback_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    genai_answer_event_type: str | None = None
    genai_service_identities: Annotated[
        frozenset[str], NoDecode, BeforeValidator(service_identities)
    ] = frozenset()
    events_allowed_rate: str = Field(default="120", pattern=r"^(\*|[0-9]{1,6})$")
    cloud_event_sink: str | None = None
    cloud_event_mode: Literal["structured", "binary", "batched"] = "structured"
    outbox_max_events: int = Field(default=100_000, ge=100)
    cloud_event_source: str = "/ai-gateway"
    cloud_event_type_prefix: str = Field(default="ai-gateway", pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"
    access_log: bool = True
    otel_enabled: bool = False
    metrics_token: SecretStr | None = Field(default=None, min_length=16)

    @field_validator("jwt_algorithms", mode="before")
    @classmethod
    def _parse_algorithms(cls, value: object) -> object:
        if isinstance(value, str | tuple | list):
            value = names(value)
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
    def s3_server(self) -> S3Address | None:
        """The S3 server to store objects in; None keeps them in the data folder."""
        return s3_address(self.s3_endpoint, self.s3_secure) if self.s3_endpoint else None

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
        needed: dict[str, object] = {}
        for provider in self.providers:
            needed |= by_provider.get(provider, {})
        if self.s3_endpoint:
            s3_address(self.s3_endpoint, self.s3_secure)  # refuses a malformed endpoint at start
            needed |= {"S3_ACCESS_KEY": self.s3_access_key, "S3_SECRET_KEY": self.s3_secret_key}
        if self.mosaic_client_id:
            needed |= {"MOSAIC_TOKEN_URL": self.mosaic_token_url}
            needed |= {"MOSAIC_CLIENT_SECRET": self.mosaic_client_secret}
        missing = sorted(name for name, value in needed.items() if not value)
        if missing:
            raise ValueError(f"these settings are needed by the others: {', '.join(missing)}")
        if self.app_env == "production" and self.callback_signing_secret is None:
            raise ValueError("APP_ENV=production needs CALLBACK_SIGNING_SECRET (whsec_...)")
        if self.stuck_after_seconds <= self.job_claim_idle_seconds:
            raise ValueError("STUCK_AFTER_SECONDS must exceed JOB_CLAIM_IDLE_SECONDS")

    @property
    def providers(self) -> tuple[str, ...]:
        """GENAI_PROVIDER, then the PROVIDER_FALLBACKS to try in turn when it is down."""
        fallbacks = tuple(p for p in self.provider_fallbacks if p != self.genai_provider)
        return (self.genai_provider, *fallbacks)

    def provider_limit(self, provider: str, model: str | None = None) -> ProviderLimit | None:
        """The PROVIDER_LIMITS entry of ``provider:model``, else of ``provider``; None paces
        nothing."""
        by_model = self.provider_limits.get(f"{provider}:{model}") if model else None
        return by_model or self.provider_limits.get(provider)

    @property
    def answer_event_type(self) -> str:
        """The CloudEvent type carrying a GenAI answer: GENAI_ANSWER_EVENT_TYPE, else one under
        CLOUD_EVENT_TYPE_PREFIX."""
        return self.genai_answer_event_type or cloud_event_type(
            self.cloud_event_type_prefix, GENAI_ANSWER_EVENT
        )

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
            if not self.redis_configured:
                raise ValueError(
                    "APP_ENV=production needs REDIS_URL or REDIS_SENTINELS: the embedded server "
                    "is for dev"
                )
            if not self.mosaic_api_keys and not self.jwt_authority:
                raise ValueError("APP_ENV=production needs MOSAIC_API_KEYS or JWT_AUTHORITY")
        self._check_pipeline()
        if len({k.sha256 for k in self.mosaic_api_keys}) != len(self.mosaic_api_keys):
            raise ValueError("MOSAIC_API_KEYS lists the same key twice")
        return self

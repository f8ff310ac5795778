"""The world outside the gateway: GenAI providers, the data source, the callback sender and the
OAuth2 client-credentials tokens they present."""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from dishka import Provider, Scope, provide
from pydantic import SecretStr

from ai_gateway.application.ports.callbacks import CallbackSender
from ai_gateway.application.ports.data import ArchiveReader, DataSource
from ai_gateway.application.ports.genai import GenAiProvider
from ai_gateway.integration.data_source import GuardedDataSource
from ai_gateway.integration.genai.echo import EchoProvider
from ai_gateway.integration.genai.genai_api import GenAiApiProvider
from ai_gateway.integration.genai.openai_compatible import OpenAiCompatibleProvider
from ai_gateway.integration.mosaic_access import MosaicAccess
from ai_gateway.integration.oauth2_client_credentials import ClientCredentialsTokenSource
from ai_gateway.integration.outbound_client import outbound_client
from ai_gateway.integration.safe_http import EgressPolicy, SafeHttp
from ai_gateway.integration.webhook_sender import SignedWebhookSender
from ai_gateway.integration.zip_archive import ZipArchiveReader, ZipLimits
from ai_gateway.settings import Settings

logger = logging.getLogger("ai_gateway")


@dataclass(frozen=True, slots=True)
class MosaicTokens:
    """The Mosaic API's client-credentials tokens and where they may go, shared by downloads and
    callbacks so that one token is fetched and cached for both; ``access`` is None when no
    client is configured."""

    access: MosaicAccess | None


@dataclass(frozen=True, slots=True)
class GenAiProviders:
    """GENAI_PROVIDER, then the PROVIDER_FALLBACKS in order."""

    all: tuple[GenAiProvider, ...]

    @property
    def first(self) -> GenAiProvider:
        return self.all[0]

    @property
    def fallbacks(self) -> tuple[GenAiProvider, ...]:
        return self.all[1:]


class OutsideProvider(Provider):
    scope = Scope.APP

    @provide
    async def mosaic_tokens(self, settings: Settings) -> AsyncIterator[MosaicTokens]:
        secret = settings.mosaic_client_secret
        base_url = settings.mosaic_base_url
        if not (base_url and settings.mosaic_client_id and settings.mosaic_token_url and secret):
            yield MosaicTokens(None)
            return
        async with outbound_client() as http:
            tokens = ClientCredentialsTokenSource(
                http,
                token_url=settings.mosaic_token_url,
                client_id=settings.mosaic_client_id,
                client_secret=secret.get_secret_value(),
                scope=settings.mosaic_scope,
            )
            yield MosaicTokens(
                MosaicAccess(
                    base_url,
                    tokens,
                    data_paths=settings.mosaic_data_paths,
                    callback_paths=settings.mosaic_callback_paths,
                )
            )

    @provide
    async def source(self, settings: Settings, mosaic: MosaicTokens) -> AsyncIterator[DataSource]:
        policy = EgressPolicy(
            allow_networks=settings.egress_allow_cidrs,
            read_timeout=settings.download_timeout_seconds,
            total_timeout=settings.download_total_seconds,
        )
        async with outbound_client() as http:
            yield GuardedDataSource(
                SafeHttp(http, policy),
                max_bytes=settings.data_max_bytes,
                mosaic=mosaic.access,
            )

    @provide
    def archives(self, settings: Settings) -> ArchiveReader:
        return ZipArchiveReader(
            ZipLimits(
                settings.zip_max_entries, settings.zip_max_total_bytes, settings.zip_max_ratio
            )
        )

    @provide
    async def callbacks(
        self, settings: Settings, mosaic: MosaicTokens
    ) -> AsyncIterator[CallbackSender]:
        policy = EgressPolicy(allow_networks=settings.egress_allow_cidrs)
        secret = settings.callback_signing_secret
        if secret is None:
            logger.warning("CALLBACK_SIGNING_SECRET is not set: callbacks are signed with a secret "
                           "of this process only, which no client can know")  # fmt: skip
            secret = SecretStr("whsec_" + base64.b64encode(os.urandom(32)).decode())
        async with outbound_client() as http:
            yield SignedWebhookSender(
                SafeHttp(http, policy),
                default_secret=secret.get_secret_value(),
                secrets={o: s.get_secret_value() for o, s in settings.callback_secrets.items()},
                source=settings.cloud_event_source,
                type_prefix=settings.cloud_event_type_prefix,
                timeout_seconds=settings.callback_timeout_seconds,
                mosaic=mosaic.access,
            )

    @provide
    async def providers(self, settings: Settings) -> AsyncIterator[GenAiProviders]:
        async with outbound_client(timeout=settings.genai_timeout_seconds) as http:
            yield GenAiProviders(tuple(_provider(n, http, settings) for n in settings.providers))

    @provide
    def provider(self, providers: GenAiProviders) -> GenAiProvider:
        return providers.first


def _provider(name: str, http: httpx.AsyncClient, settings: Settings) -> GenAiProvider:
    if name == "echo":
        return EchoProvider()
    if name == "openai":
        key = settings.openai_api_key
        return OpenAiCompatibleProvider(
            http,
            base_url=settings.openai_base_url or "",
            api_key=key.get_secret_value() if key else None,
            model=settings.openai_model,
        )
    return _genai_api(http, settings)


def _genai_api(http: httpx.AsyncClient, settings: Settings) -> GenAiApiProvider:
    """The seed's asynchronous GenAI API: it answers later, at our internal response route."""
    secret = settings.genai_api_client_secret
    resource = settings.genai_api_resource
    tokens = ClientCredentialsTokenSource(
        http,
        token_url=settings.genai_api_token_url or "",
        client_id=settings.genai_api_client_id or "",
        client_secret=secret.get_secret_value() if secret else "",
        scope=settings.genai_api_scope,
        parameters={"resource": resource} if resource else None,
    )
    public = (settings.gateway_public_url or "").rstrip("/")
    return GenAiApiProvider(
        http,
        url=settings.genai_api_url or "",
        tokens=tokens,
        answer_url=public + "/api/internal/prompts/{prompt_id}/response",
    )

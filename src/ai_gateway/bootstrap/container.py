"""The one place a container is made, and so the one place an adapter is swapped.

A deployment or a test passes ``overrides``: dishka providers whose factories replace the
gateway's own for the same types (a fake ``GenAiProvider``, another ``ObjectStore``, other
readiness probes). Everything else keeps its production wiring."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dishka import AsyncContainer, Provider, Scope, from_context, make_async_container

from ai_gateway.bootstrap.messaging import MessagingProvider
from ai_gateway.bootstrap.meters import MeterProvider
from ai_gateway.bootstrap.outside import OutsideProvider
from ai_gateway.bootstrap.storage import StorageProvider
from ai_gateway.settings import Settings


class SettingsProvider(Provider):
    settings = from_context(provides=Settings, scope=Scope.APP)


def build_container(
    settings: Settings,
    *rooms: Provider,
    context: Mapping[type, object] | None = None,
    overrides: Sequence[Provider] = (),
) -> AsyncContainer:
    """The gateway's providers, then ``rooms`` (what only one entry point needs), then
    ``overrides``, which win over both."""
    return make_async_container(
        SettingsProvider(),
        StorageProvider(),
        OutsideProvider(),
        MessagingProvider(),
        MeterProvider(),
        *rooms,
        *overrides,
        context={Settings: settings, **(context or {})},
    )

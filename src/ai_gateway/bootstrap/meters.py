"""The metrics' meters, built from settings: which kinds and callers get a label of their own,
and the calls of every configured GenAI provider timed."""

from __future__ import annotations

from dishka import Provider, Scope, decorate, provide

from ai_gateway.application.ports.operations import DeliveryMeter
from ai_gateway.application.principal import AuthMethod, Principal
from ai_gateway.application.templates import TEMPLATES
from ai_gateway.bootstrap.outside import GenAiProviders
from ai_gateway.domain.limits import DEFAULT_CALLER
from ai_gateway.domain.prompt import DEFAULT_KIND, ITEM_KIND
from ai_gateway.metrics.labels import Callers, Kinds
from ai_gateway.metrics.prompts import PromptMeter
from ai_gateway.metrics.providers import MeteredProvider
from ai_gateway.settings import Settings


def caller_names(settings: Settings) -> dict[str, str]:
    """Prompt owners that have a configured name: the API keys, by their names."""
    return {
        Principal(subject=k.name, method=AuthMethod.API_KEY).owner: k.name
        for k in settings.mosaic_api_keys
    }


class MeterProvider(Provider):
    scope = Scope.APP

    @provide
    def prompt_meter(self, settings: Settings) -> PromptMeter:
        return PromptMeter(
            kinds=Kinds({DEFAULT_KIND, ITEM_KIND, *TEMPLATES}),
            callers=Callers(caller_names(settings), set(settings.caller_limits) - {DEFAULT_CALLER}),
            providers=settings.providers,
        )

    @provide
    def deliveries(self, meter: PromptMeter) -> DeliveryMeter:
        return meter

    @decorate
    def metered_providers(self, providers: GenAiProviders) -> GenAiProviders:
        """Every provider, fallbacks included, timed and counted under its own name."""
        return GenAiProviders(tuple(MeteredProvider(p) for p in providers.all))

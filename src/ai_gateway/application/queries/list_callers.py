"""Who calls the gateway, for an operator: the API keys configured and the callers seen (API keys
and the clients of JWTs), with their scopes. Limits and usage per caller belong beside these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ai_gateway.application.mediator import Query
from ai_gateway.application.ports.callers import CallerLog, CallerSeen, ConfiguredKey
from ai_gateway.application.principal import Principal
from ai_gateway.application.visibility import require_operator

MAX_CALLERS = 500


@dataclass(frozen=True, slots=True)
class CallerList:
    api_keys: tuple[ConfiguredKey, ...]
    seen: tuple[CallerSeen, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ListCallers(Query[CallerList]):
    principal: Principal


class ListCallersHandler:
    """Raises Forbidden without the admin scope."""

    def __init__(self, log: CallerLog, api_keys: Sequence[ConfiguredKey]) -> None:
        self._log = log
        self._keys = tuple(api_keys)

    async def handle(self, query: ListCallers) -> CallerList:
        require_operator(query.principal, "list the callers")
        return CallerList(self._keys, tuple(await self._log.callers(MAX_CALLERS)))

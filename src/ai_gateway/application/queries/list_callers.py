"""Who calls the gateway, for an operator: the API keys configured and the callers seen (API keys
and the clients of JWTs), with their scopes, and each one's limits and usage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ai_gateway.application.mediator import Query
from ai_gateway.application.ports.callers import CallerLog, CallerSeen, ConfiguredKey
from ai_gateway.application.ports.limits import CallerAccount, CallerLimitsStore
from ai_gateway.application.principal import Principal
from ai_gateway.application.visibility import require_operator

MAX_CALLERS = 500


@dataclass(frozen=True, slots=True)
class CallerList:
    api_keys: tuple[ConfiguredKey, ...]
    seen: tuple[CallerSeen, ...]
    accounts: Mapping[str, CallerAccount]
    """By owner id: every key's and every caller's limits and usage."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ListCallers(Query[CallerList]):
    principal: Principal


class ListCallersHandler:
    """Raises Forbidden without the admin scope."""

    def __init__(
        self, log: CallerLog, api_keys: Sequence[ConfiguredKey], limits: CallerLimitsStore
    ) -> None:
        self._log = log
        self._keys = tuple(api_keys)
        self._limits = limits

    async def handle(self, query: ListCallers) -> CallerList:
        require_operator(query.principal, "list the callers")
        seen = tuple(await self._log.callers(MAX_CALLERS))
        owners = {k.owner: k.caller_name for k in self._keys}
        owners.update({c.owner: c.caller_name for c in seen})
        accounts = await self._limits.accounts([(name, owner) for owner, name in owners.items()])
        return CallerList(self._keys, seen, {a.owner: a for a in accounts})

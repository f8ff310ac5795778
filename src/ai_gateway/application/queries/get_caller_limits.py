"""An administrator reads a caller's limits: those in force, and where they come from."""

from __future__ import annotations

from dataclasses import dataclass

from ai_gateway.application.errors import Forbidden
from ai_gateway.application.mediator import Query
from ai_gateway.application.ports.limits import CallerLimitsStore
from ai_gateway.application.principal import Principal
from ai_gateway.domain.limits import CallerLimits


@dataclass(frozen=True, slots=True)
class CallerLimitsView:
    caller: str
    stored: CallerLimits | None
    """Set by an administrator; wins over the configured ones."""
    configured: CallerLimits | None
    """From CALLER_LIMITS: the caller's entry, else the ``"*"`` one."""

    @property
    def effective(self) -> CallerLimits | None:
        return self.stored or self.configured


@dataclass(frozen=True, slots=True, kw_only=True)
class GetCallerLimits(Query[CallerLimitsView]):
    principal: Principal
    caller: str


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only an administrator may read or change a caller's limits")


class GetCallerLimitsHandler:
    def __init__(self, limits: CallerLimitsStore) -> None:
        self._limits = limits

    async def handle(self, query: GetCallerLimits) -> CallerLimitsView:
        """Raises Forbidden for a caller without the admin scope."""
        require_admin(query.principal)
        return CallerLimitsView(
            query.caller,
            await self._limits.stored(query.caller),
            await self._limits.configured(query.caller),
        )

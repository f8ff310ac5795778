"""An administrator sets a caller's limits at run time (None: back to the configured ones); the
change is recorded as a CloudEvent."""

from __future__ import annotations

from dataclasses import dataclass

from ai_gateway.application.mediator import Command
from ai_gateway.application.ports.limits import CallerLimitsStore
from ai_gateway.application.principal import Principal
from ai_gateway.application.queries.get_caller_limits import CallerLimitsView, require_admin
from ai_gateway.domain.limits import CallerLimits


@dataclass(frozen=True, slots=True, kw_only=True)
class SetCallerLimits(Command[CallerLimitsView]):
    principal: Principal
    caller: str
    limits: CallerLimits | None


class SetCallerLimitsHandler:
    def __init__(self, limits: CallerLimitsStore) -> None:
        self._limits = limits

    async def handle(self, command: SetCallerLimits) -> CallerLimitsView:
        """Raises Forbidden for a caller without the admin scope."""
        require_admin(command.principal)
        await self._limits.store(command.caller, command.limits, command.principal.owner)
        return CallerLimitsView(
            command.caller, command.limits, await self._limits.configured(command.caller)
        )

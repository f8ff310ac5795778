"""Which scope each route group needs. Checks fail closed: no scope claim means no scope."""

from dataclasses import dataclass
from typing import NewType

from dishka import FromDishka
from dishka.integrations.fastapi import inject
from fastapi import Depends

from ai_gateway.application.errors import Forbidden
from ai_gateway.application.principal import Principal

PromptCaller = NewType("PromptCaller", Principal)
"""A caller allowed on the prompt endpoints (it holds the prompt scope)."""

InternalCaller = NewType("InternalCaller", Principal)
"""A caller allowed on the internal endpoints (it holds the internal scope)."""
EventsCaller = NewType("EventsCaller", Principal)
AdminCaller = NewType("AdminCaller", Principal)
"""An operator, allowed on the admin endpoints (it holds the admin scope)."""


_GROUP_OF: dict[object, str] = {
    PromptCaller: "prompts",
    InternalCaller: "internal",
    EventsCaller: "events",
    AdminCaller: "admin",
}  # the ScopePolicy field that names each caller's scope


@dataclass(frozen=True, slots=True)
class ScopePolicy:
    prompts: str
    internal: str
    events: str
    admin: str

    def require(self, principal: Principal, scope: str) -> Principal:
        if scope not in principal.scopes:
            raise Forbidden(f"this operation needs the '{scope}' scope", required_scope=scope)
        return principal

    def admit(self, principal: Principal, caller: object) -> Principal:
        """``principal`` as ``caller`` (``PromptCaller``...), when it holds that group's scope."""
        return self.require(principal, getattr(self, _GROUP_OF[caller]))


@inject
async def _prompt_caller(_: FromDishka[PromptCaller]) -> None:
    """Resolved as a route dependency, so credentials are checked before the body is."""


@inject
async def _internal_caller(_: FromDishka[InternalCaller]) -> None:
    """As above, for the internal endpoints."""


@inject
async def _events_caller(_: FromDishka[EventsCaller]) -> None:
    """As above, for event ingestion."""


@inject
async def _admin_caller(_: FromDishka[AdminCaller]) -> None:
    """As above, for the admin endpoints."""


CALLER_CHECKS: dict[object, object] = {
    _prompt_caller: PromptCaller,
    _internal_caller: InternalCaller,
    _events_caller: EventsCaller,
    _admin_caller: AdminCaller,
}
"""Each check's caller type, for routes that check it without FastAPI (``DirectRoute``)."""

PROMPT_ROUTES = [Depends(_prompt_caller)]
ADMIN_ROUTES = [Depends(_admin_caller)]
INTERNAL_ROUTES = [Depends(_internal_caller)]
EVENT_ROUTES = [Depends(_events_caller)]

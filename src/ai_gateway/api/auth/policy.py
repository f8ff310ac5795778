"""Which scope each route group needs. Checks fail closed: no scope claim means no scope."""

from dataclasses import dataclass
from typing import NewType

from ai_gateway.application.errors import Forbidden
from ai_gateway.application.principal import Principal

PromptCaller = NewType("PromptCaller", Principal)
"""A caller allowed on the prompt endpoints (it holds the prompt scope)."""

InternalCaller = NewType("InternalCaller", Principal)
"""A caller allowed on the internal endpoints (it holds the internal scope)."""


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

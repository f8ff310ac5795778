"""Who calls the gateway: the API keys configured, and every caller seen, with its scopes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ai_gateway.application.principal import AuthMethod, Principal, caller_name


@dataclass(frozen=True, slots=True)
class ConfiguredKey:
    """An API key as configured (``MOSAIC_API_KEYS``): its name and scopes, never the key."""

    name: str
    scopes: frozenset[str]

    @property
    def owner(self) -> str:
        return f"apikey:{self.name}"

    @property
    def caller_name(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class CallerSeen:
    """A caller as last seen: its owner id, how it signed in, the client a token was issued to."""

    owner: str
    method: str
    client_id: str | None
    scopes: frozenset[str]
    last_seen: datetime

    @property
    def caller_name(self) -> str:
        """The name its limits go by, as its principal's ``caller_name``."""
        subject = self.owner.partition(":")[2]
        return caller_name(AuthMethod(self.method), subject, self.client_id)


class CallerLog(Protocol):
    async def seen(self, principal: Principal, at: datetime) -> None:
        """Notes the caller; may skip a caller noted a moment ago (it is a log, not a meter)."""
        ...

    async def callers(self, limit: int) -> Sequence[CallerSeen]:
        """The callers seen, most recent first."""
        ...

"""Who is calling: the identity every use case authorises against."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AuthMethod(StrEnum):
    API_KEY = "apikey"
    JWT = "jwt"


def caller_name(method: AuthMethod, subject: str, client_id: str | None) -> str:
    """The name caller limits are given under: an API key's name, a token's client id (its
    subject when the token names no client)."""
    if method is AuthMethod.JWT and client_id:
        return client_id
    return subject


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. ``owner`` is the stable id stored on the prompts it creates."""

    subject: str
    method: AuthMethod
    scopes: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False
    client_id: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    """Roles the identity provider gives the caller (a token's role claims); scopes decide what
    the API allows, a configured role may open the operator console."""

    @property
    def owner(self) -> str:
        return f"{self.method.value}:{self.subject}"

    @property
    def caller_name(self) -> str:
        return caller_name(self.method, self.subject, self.client_id)

    @property
    def identities(self) -> frozenset[str]:
        """The names a setting may give this caller: its owner id, and ``client:<id>`` for a
        token issued to an OAuth2 client."""
        client = {f"client:{self.client_id}"} if self.client_id else set()
        return frozenset({self.owner, *client})

    def may_access(self, owner: str) -> bool:
        """May read a prompt of ``owner``: its own, or any with the admin scope."""
        return self.is_admin or owner == self.owner

    def may_change(self, owner: str) -> bool:
        """May cancel a prompt of ``owner`` or redeliver its callback: its own only. Admin
        reads every caller's prompts but does not act on them (ADR 0017)."""
        return owner == self.owner

"""API keys (the seed's Mosaic scheme), held as SHA-256 digests and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from ai_gateway.application.principal import AuthMethod, Principal


class ApiKeyAuthenticator:
    """Maps a presented key to the principal named by its entry, or None."""

    def __init__(
        self,
        keys: Iterable[tuple[str, str, frozenset[str]]],
        *,
        admin_scope: str,
    ) -> None:
        """(name, hex SHA-256 of the key, scopes); several keys may share a name (rotation)."""
        self._keys = tuple((name, bytes.fromhex(digest), scopes) for name, digest, scopes in keys)
        self._admin_scope = admin_scope

    def authenticate(self, presented: str) -> Principal | None:
        digest = hashlib.sha256(presented.encode()).digest()
        match: tuple[str, frozenset[str]] | None = None
        # Every entry is compared, so timing does not tell how many keys or which one matched.
        for name, expected, scopes in self._keys:
            if hmac.compare_digest(digest, expected):
                match = (name, scopes)
        if match is None:
            return None
        name, scopes = match
        return Principal(
            subject=name,
            method=AuthMethod.API_KEY,
            scopes=scopes,
            is_admin=self._admin_scope in scopes,
        )

"""API keys (the seed's Mosaic scheme), held as SHA-256 digests and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from ai_gateway.application.principal import AuthMethod, Principal


class ApiKeyAuthenticator:
    """Maps a presented key to the principal named by its entry, or None."""

    def __init__(self, keys: Iterable[tuple[str, str]]) -> None:
        """(name, hex SHA-256 of the key) pairs; several keys may share a name (rotation)."""
        self._keys = tuple((name, bytes.fromhex(digest)) for name, digest in keys)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def authenticate(self, presented: str) -> Principal | None:
        digest = hashlib.sha256(presented.encode()).digest()
        match: str | None = None
        # Every entry is compared, so timing does not tell how many keys or which one matched.
        for name, expected in self._keys:
            if hmac.compare_digest(digest, expected):
                match = name
        if match is None:
            return None
        return Principal(subject=match, method=AuthMethod.API_KEY)

"""Which signature algorithms a bearer token may use: the gateway's one allow-list.

Only asymmetric algorithms: with HS* a public key could be used as the HMAC secret, and ``none``
is no signature at all. Settings check ``JWT_ALGORITHMS`` against it and the authenticator
refuses to be built with anything else, so both read the list from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

ASYMMETRIC_JWT_ALGORITHMS: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)


def allowed_jwt_algorithms(names: Iterable[str]) -> frozenset[str]:
    """The chosen algorithms, when there is at least one and every one is asymmetric."""
    chosen = frozenset(names)
    refused = chosen - ASYMMETRIC_JWT_ALGORITHMS
    if refused or not chosen:
        allowed = ", ".join(sorted(ASYMMETRIC_JWT_ALGORITHMS))
        raise ValueError(
            f"only asymmetric algorithms ({allowed}) may be allowed, never 'none' or HS*; "
            f"refused: {sorted(refused)}"
        )
    return chosen

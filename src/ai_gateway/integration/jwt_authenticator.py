"""Bearer JWT validation against the signing keys of one trusted OpenID Connect issuer.

Only the header's ``alg`` (checked against an allow-list of asymmetric algorithms) and ``kid``
(a lookup key, nothing more) are read before the signature is checked; ``jku``, ``x5u``, ``jwk``
and ``x5c`` are ignored, so a token can never name the key it is checked with. ``exp``, ``iss``
(exact) and ``aud`` are required; ``nbf`` and ``iat`` are checked with a small leeway.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

import jwt

from ai_gateway.application.errors import Unauthenticated
from ai_gateway.application.principal import AuthMethod, Principal
from ai_gateway.integration.oidc_keys import OidcKeys, UnknownSigningKey

ASYMMETRIC_ALGORITHMS: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)


def invalid_token(detail: str) -> Unauthenticated:
    return Unauthenticated(
        detail,
        scheme=f'Bearer realm="ai-gateway", error="invalid_token", error_description="{detail}"',
    )


def scopes_of(claims: dict[str, Any]) -> frozenset[str]:
    """OAuth2 ``scope`` (space-separated, RFC 9068) or ``scp`` (a list, as some issuers send)."""
    scope = claims.get("scope", claims.get("scp"))
    if isinstance(scope, str):
        return frozenset(scope.split())
    if isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        return frozenset(scope)
    return frozenset()


class JwtAuthenticator:
    def __init__(
        self,
        keys: OidcKeys,
        *,
        issuer: str,
        audience: str,
        algorithms: Collection[str],
        leeway_seconds: float,
        admin_scope: str,
    ) -> None:
        refused = set(algorithms) - ASYMMETRIC_ALGORITHMS
        if refused or not algorithms:
            raise ValueError(
                f"only asymmetric JWT algorithms may be allowed, not {sorted(refused)}"
            )
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._algorithms = frozenset(algorithms)
        self._leeway = leeway_seconds
        self._admin_scope = admin_scope

    async def authenticate(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise invalid_token("the token is malformed") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self._algorithms:
            raise invalid_token("the token's signing algorithm is not accepted")
        if kid is not None and not isinstance(kid, str):
            raise invalid_token("the token's key id is malformed")
        try:
            key = await self._keys.get(kid)
        except UnknownSigningKey:
            raise invalid_token(
                "the token was signed with a key the issuer does not publish"
            ) from None
        if key.algorithm_name != alg:
            raise invalid_token("the token's algorithm does not match its key")
        claims = self._decode(token, key.key, alg)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise invalid_token("the token has no subject")
        scopes = scopes_of(claims)
        client_id = claims.get("client_id", claims.get("azp"))
        return Principal(
            subject=subject,
            method=AuthMethod.JWT,
            scopes=scopes,
            is_admin=self._admin_scope in scopes,
            client_id=client_id if isinstance(client_id, str) else None,
        )

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise invalid_token("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise invalid_token("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise invalid_token("the token is not meant for this audience") from None
        except jwt.InvalidIssuerError:
            raise invalid_token("the token's issuer is not trusted") from None
        except jwt.MissingRequiredClaimError as exc:
            raise invalid_token(f"the token lacks the {exc.claim} claim") from None
        except jwt.InvalidTokenError:
            raise invalid_token("the token's signature or claims are not valid") from None
        return claims

"""Bearer JWT validation against the signing keys of one trusted OpenID Connect issuer.

Only the header's ``alg`` (checked against an allow-list of asymmetric algorithms) and ``kid``
(a lookup key, nothing more) are read before the signature is checked; ``jku``, ``x5u``, ``jwk``
and ``x5c`` are ignored, so a token can never name the key it is checked with; a header that is
not well-formed or that marks extensions ``crit`` is refused like a bad signature (401). ``exp``,
``iss`` (exact) and ``aud`` are required; ``nbf`` and ``iat`` are checked with a small leeway.

A client reuses its access token for many requests, so a token that passed every check is
remembered (by its SHA-256, in a bounded LRU) until its ``exp`` but at most ``cache_seconds``:
the same token is then accepted without being parsed and verified again, as long as the key that
verified it is still the issuer's. The key set is fetched again once it is older than its
``max_age``, so a withdrawn key, and every remembered token it verified, is refused at most
``max_age`` (plus the refresh cooldown) after the issuer withdraws it.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK

from ai_gateway.application.errors import Unauthenticated
from ai_gateway.application.principal import AuthMethod, Principal
from ai_gateway.domain.token_signing import allowed_jwt_algorithms
from ai_gateway.integration.oidc_keys import OidcKeys, UnknownSigningKey


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


def roles_of(claims: dict[str, Any]) -> frozenset[str]:
    """A plain ``roles`` list, and Keycloak's realm and client roles
    (``realm_access.roles``, ``resource_access.<client>.roles``)."""
    holders: list[Any] = [claims, claims.get("realm_access")]
    clients = claims.get("resource_access")
    if isinstance(clients, dict):
        holders.extend(clients.values())
    found: set[str] = set()
    for holder in holders:
        roles = holder.get("roles") if isinstance(holder, dict) else None
        if isinstance(roles, list):
            found.update(r for r in roles if isinstance(r, str))
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class TokenRules:
    """What a valid token must say: its issuer (exact), our audience, an allowed algorithm."""

    issuer: str
    audience: str
    algorithms: frozenset[str]
    leeway_seconds: float

    def __post_init__(self) -> None:
        allowed_jwt_algorithms(self.algorithms)


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    until: float
    kid: str | None
    key: PyJWK


class JwtAuthenticator:
    def __init__(
        self,
        keys: OidcKeys,
        rules: TokenRules,
        *,
        admin_scope: str,
        cache_seconds: float,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._rules = rules
        self._admin_scope = admin_scope
        self._cache_seconds = cache_seconds
        self._cache_size = cache_size
        self._clock = clock
        self._verified: OrderedDict[bytes, _Verified] = OrderedDict()

    async def authenticate(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._verified.pop(digest, None)
        if cached is not None and self._clock() < cached.until and await self._current(cached):
            self._verified[digest] = cached
            return cached.principal
        principal, expires, kid, key = await self._verify(token)
        if self._cache_seconds > 0:
            until = min(expires, self._clock() + self._cache_seconds)
            self._verified[digest] = _Verified(principal, until, kid, key)
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return principal

    async def _current(self, verified: _Verified) -> bool:
        """Whether the key that verified a remembered token is still the one published."""
        try:
            return await self._keys.get(verified.kid) is verified.key
        except UnknownSigningKey:
            return False

    async def _verify(self, token: str) -> tuple[Principal, float, str | None, PyJWK]:
        """The token's principal, its expiry time and the key that verified it; or
        Unauthenticated."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:  # also a non-string kid, or an extension PyJWT lacks
            raise invalid_token("the token is malformed") from None
        if "crit" in header:
            # RFC 7515: a verifier that does not understand every critical extension must refuse
            raise invalid_token("the token demands header extensions that are not supported")
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._rules.algorithms:
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
        principal = Principal(
            subject=subject,
            method=AuthMethod.JWT,
            scopes=scopes,
            is_admin=self._admin_scope in scopes,
            client_id=client_id if isinstance(client_id, str) else None,
            roles=roles_of(claims),
        )
        return principal, float(claims["exp"]), kid, key

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._rules.audience,
                issuer=self._rules.issuer,
                leeway=self._rules.leeway_seconds,
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
        except jwt.PyJWTError:
            raise invalid_token("the token's signature or claims are not valid") from None
        return claims

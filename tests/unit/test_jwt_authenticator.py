"""The verified-token cache of the JWT authenticator."""

from __future__ import annotations

import time

import httpx
import pytest

from ai_gateway.application.errors import Unauthenticated
from ai_gateway.domain.token_signing import ASYMMETRIC_JWT_ALGORITHMS
from ai_gateway.integration.jwt_authenticator import JwtAuthenticator, TokenRules
from ai_gateway.integration.oidc_keys import OidcKeys
from ai_gateway.settings import Settings
from tests.factories import ManualClock
from tests.idp_server import IdpServer, SigningKey
from tests.unit.key_provider import ISSUER, Provider


def mint(key: SigningKey, **claims: object) -> str:
    minter = IdpServer.__new__(IdpServer)
    minter.issuer = ISSUER
    minter.keys = [key]
    return minter.mint(dict(claims))


@pytest.fixture
def key() -> SigningKey:
    return SigningKey("k1")


def authenticator(
    provider: Provider, clock: ManualClock, *, max_age: float = 0, **kwargs: float
) -> tuple[JwtAuthenticator, httpx.AsyncClient]:
    """``max_age`` 0: the key set is fetched again on every lookup."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(provider))
    keys = OidcKeys(http, authority=ISSUER, issuer=ISSUER, max_age=max_age, cooldown=0)
    rules = TokenRules(ISSUER, "ai-gateways", frozenset({"RS256"}), leeway_seconds=0)
    kwargs.setdefault("cache_seconds", 60)
    return JwtAuthenticator(keys, rules, admin_scope="admin", clock=clock, **kwargs), http  # type: ignore[arg-type]


async def test_a_cached_token_is_refused_once_its_key_is_withdrawn(key: SigningKey) -> None:
    provider, clock = Provider(key), ManualClock(time.time())
    auth, http = authenticator(provider, clock, cache_seconds=3600)
    token = mint(key, scope="api")
    async with http:
        first = await auth.authenticate(token)
        assert await auth.authenticate(token) is first  # remembered, not verified again
        provider.keys = [SigningKey("k2")]  # withdrawn: the next key-set fetch drops it
        with pytest.raises(Unauthenticated, match="does not publish"):
            await auth.authenticate(token)
        provider.keys = [key]  # published again: the token is verified afresh
        assert await auth.authenticate(token) is not first


async def test_a_cached_token_is_verified_again_when_the_cache_ends(key: SigningKey) -> None:
    provider, clock = Provider(key), ManualClock(time.time())
    auth, http = authenticator(provider, clock, max_age=3600, cache_seconds=60)
    token = mint(key, scope="api")
    async with http:
        first = await auth.authenticate(token)
        assert await auth.authenticate(token) is first
        clock.now += 61
        assert await auth.authenticate(token) is not first


async def test_a_cached_token_is_dropped_at_its_expiry_within_the_cache_time(
    key: SigningKey,
) -> None:
    # The token must be unexpired by the wall clock, which the signature check reads.
    provider, clock = Provider(key), ManualClock(time.time())
    auth, http = authenticator(provider, clock, max_age=3600, cache_seconds=3600)
    expires = int(clock.now) + 120
    token = mint(key, scope="api", exp=expires)
    async with http:
        first = await auth.authenticate(token)
        clock.now = expires - 1
        assert await auth.authenticate(token) is first
        clock.now = expires
        assert await auth.authenticate(token) is not first  # dropped, verified again


async def test_the_cache_is_bounded(key: SigningKey) -> None:
    provider, clock = Provider(key), ManualClock(time.time())
    auth, http = authenticator(provider, clock, max_age=3600, cache_seconds=60, cache_size=2)
    tokens = [mint(key, jti=str(i)) for i in range(3)]
    async with http:
        principals = [await auth.authenticate(token) for token in tokens]
        assert await auth.authenticate(tokens[2]) is principals[2]  # still cached
        assert await auth.authenticate(tokens[0]) is not principals[0]  # evicted: verified again


def test_only_asymmetric_algorithms_can_be_configured() -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        TokenRules(ISSUER, "aud", frozenset({"RS256", "HS256"}), leeway_seconds=0)
    with pytest.raises(ValueError, match="asymmetric"):
        TokenRules(ISSUER, "aud", frozenset(), leeway_seconds=0)


@pytest.mark.parametrize("algorithm", sorted(ASYMMETRIC_JWT_ALGORITHMS))
def test_settings_and_authenticator_accept_the_same_algorithms(algorithm: str) -> None:
    settings = Settings(_env_file=None, jwt_algorithms=algorithm)
    rules = TokenRules(ISSUER, "aud", frozenset(settings.jwt_algorithms), leeway_seconds=0)
    assert rules.algorithms == {algorithm}


@pytest.mark.parametrize("algorithm", ["HS256", "none", "EdDSA"])
def test_settings_and_authenticator_refuse_the_same_algorithms(algorithm: str) -> None:
    with pytest.raises(ValueError, match=algorithm):
        Settings(_env_file=None, jwt_algorithms=algorithm)
    with pytest.raises(ValueError, match=algorithm):
        TokenRules(ISSUER, "aud", frozenset({algorithm}), leeway_seconds=0)

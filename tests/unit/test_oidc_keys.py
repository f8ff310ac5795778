"""The signing-key cache's refresh rules, counted at the HTTP transport."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ai_gateway.application.errors import DependencyUnavailable
from ai_gateway.integration.oidc_keys import OidcKeys, UnknownSigningKey
from tests.factories import ManualClock
from tests.idp_server import SigningKey
from tests.unit.key_provider import ISSUER, Provider


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def cache(
    provider: Provider, clock: ManualClock, **kwargs: float
) -> tuple[OidcKeys, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(provider))
    keys = OidcKeys(
        http,
        authority=ISSUER,
        issuer=ISSUER,
        max_age=kwargs.get("max_age", 3600),
        cooldown=kwargs.get("cooldown", 30),
        clock=clock,
    )
    return keys, http


async def test_concurrent_callers_share_one_fetch(clock: ManualClock) -> None:
    key = SigningKey("k1")
    provider = Provider(key)
    keys, http = cache(provider, clock)
    async with http:
        found = await asyncio.gather(*(keys.get("k1") for _ in range(50)))
    assert {k.key_id for k in found} == {"k1"}
    assert provider.calls == 1


async def test_unknown_kids_refetch_at_most_once_per_cooldown(clock: ManualClock) -> None:
    provider = Provider(SigningKey("k1"))
    keys, http = cache(provider, clock, cooldown=30)
    async with http:
        await keys.get("k1")
        clock.now += 31
        for kid in ["forged-1", "forged-2", "forged-3"]:
            with pytest.raises(UnknownSigningKey):
                await keys.get(kid)
    assert provider.calls == 2  # the first fetch, then one refresh for the whole flood


async def test_a_new_key_is_found_after_the_cooldown(clock: ManualClock) -> None:
    provider = Provider(SigningKey("k1"))
    keys, http = cache(provider, clock, cooldown=30)
    async with http:
        await keys.get("k1")
        provider.keys = [SigningKey("k2")]
        clock.now += 31
        assert (await keys.get("k2")).key_id == "k2"


async def test_keys_are_refreshed_after_their_maximum_age(clock: ManualClock) -> None:
    provider = Provider(SigningKey("k1"))
    keys, http = cache(provider, clock, max_age=60, cooldown=0)
    async with http:
        await keys.get("k1")
        clock.now += 30
        await keys.get("k1")
        assert provider.calls == 1
        clock.now += 31
        await keys.get("k1")
    assert provider.calls == 2


async def test_the_last_good_keys_serve_while_the_provider_is_down(clock: ManualClock) -> None:
    provider = Provider(SigningKey("k1"))
    keys, http = cache(provider, clock, max_age=60, cooldown=0)
    async with http:
        await keys.get("k1")
        provider.up = False
        clock.now += 3600
        assert (await keys.get("k1")).key_id == "k1"


async def test_no_keys_and_no_provider_is_unavailable_without_hammering_it(
    clock: ManualClock,
) -> None:
    provider = Provider(SigningKey("k1"))
    provider.up = False
    keys, http = cache(provider, clock, cooldown=30)
    async with http:
        for _ in range(5):
            with pytest.raises(DependencyUnavailable):
                await keys.get("k1")
        assert await keys.check() is False
        provider.up = True
        clock.now += 31
        assert await keys.check() is True


async def test_a_token_without_kid_uses_the_only_key(clock: ManualClock) -> None:
    provider = Provider(SigningKey("k1"))
    keys, http = cache(provider, clock)
    async with http:
        assert (await keys.get(None)).key_id == "k1"
        provider.keys.append(SigningKey("k2"))
        clock.now += 3601
        with pytest.raises(UnknownSigningKey):
            await keys.get(None)


async def test_a_discovery_document_of_another_issuer_is_refused(clock: ManualClock) -> None:
    provider = Provider(SigningKey("k1"))
    provider.issuer = "https://evil.example"
    keys, http = cache(provider, clock)
    async with http:
        with pytest.raises(DependencyUnavailable):
            await keys.get("k1")


async def test_a_key_set_nested_without_end_is_unavailable(clock: ManualClock) -> None:
    provider = Provider(SigningKey("k1"))
    provider.key_set = b"[" * 20_000 + b"]" * 20_000  # past the parser's recursion limit
    keys, http = cache(provider, clock)
    async with http:
        with pytest.raises(DependencyUnavailable):
            await keys.get("k1")
        assert await keys.check() is False

"""Fault details of the egress guard say what to do, and nothing of how names resolved inside."""

from __future__ import annotations

import ipaddress
import re

import httpx
import pytest

from ai_gateway.application.errors import StepFailure
from ai_gateway.integration.safe_http import EgressPolicy, SafeHttp
from tests.servers import free_port

pytestmark = pytest.mark.integration

INTERNALS = re.compile(r"127\.0\.0\.1|::1|Errno|service not known|getaddrinfo|\[")


async def failure_of(guard: SafeHttp, url: str) -> StepFailure:
    with pytest.raises(StepFailure) as caught:
        await guard.get(url, max_bytes=1024)
    return caught.value


async def test_a_name_that_resolves_to_an_internal_address_is_refused_without_it(
    http: httpx.AsyncClient,
) -> None:
    failure = await failure_of(SafeHttp(http, EgressPolicy()), "http://localhost/x")

    assert failure.code == "url_refused"
    assert "localhost" in failure.detail
    assert not INTERNALS.search(failure.detail), failure.detail


async def test_a_name_that_does_not_resolve_looks_like_one_that_resolves_internally(
    http: httpx.AsyncClient,
) -> None:
    guard = SafeHttp(http, EgressPolicy())
    missing = await failure_of(guard, "http://no-such-host.invalid/x")
    internal = await failure_of(guard, "http://localhost/x")

    assert type(missing) is type(internal)
    assert missing.code == internal.code == "url_refused"
    assert missing.detail == internal.detail.replace("localhost", "no-such-host.invalid")
    assert not INTERNALS.search(missing.detail), missing.detail


async def test_a_host_that_refuses_connections_is_named_as_the_caller_named_it(
    http: httpx.AsyncClient,
) -> None:
    loopback = EgressPolicy(
        allow_networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
    )
    port = free_port()  # nothing listens there

    failure = await failure_of(SafeHttp(http, loopback), f"http://localhost:{port}/x")

    assert failure.code == "connection_failed"
    assert f"localhost:{port}" in failure.detail
    assert "tries again later" in failure.detail
    assert not INTERNALS.search(failure.detail), failure.detail

"""The SSRF guard, against real HTTP servers on loopback."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import httpx
import pytest

from ai_gateway.application.errors import PermanentFailure, TransientFailure
from ai_gateway.integration.safe_http import EgressPolicy, SafeHttp
from tests.http_servers import RecordingServer, Reply, recording_server

pytestmark = pytest.mark.integration

ONLY_127_0_0_1 = EgressPolicy(
    allow_networks=(ipaddress.ip_network("127.0.0.1/32"),), read_timeout=0.5, total_timeout=5
)


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with recording_server() as s:
        s.routes["/data.zip"] = lambda _: Reply(
            body=b"PK\x03\x04 data", headers={"Content-Type": "application/zip"}
        )
        yield s


@pytest.fixture
def secret() -> Iterator[RecordingServer]:
    """A server on another loopback address, standing for an internal service."""
    with recording_server("127.0.0.2") as s:
        s.routes["/admin"] = lambda _: Reply(body=b"internal secrets")
        yield s


async def test_an_allowed_url_is_fetched(http: httpx.AsyncClient, server: RecordingServer) -> None:
    fetched = await SafeHttp(http, ONLY_127_0_0_1).get(server.url("/data.zip"), max_bytes=1000)
    assert fetched.content == b"PK\x03\x04 data"
    assert fetched.content_type == "application/zip"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/data.zip",
        "http://localhost:{port}/data.zip",
        "http://[::1]:{port}/data.zip",
        "http://[::ffff:127.0.0.1]:{port}/data.zip",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/x",
        "http://192.168.1.1/x",
        "http://172.16.0.1/x",
        "http://0.0.0.0:{port}/data.zip",
        "http://[fd00::1]/x",
        "http://224.0.0.1/x",
    ],
)
async def test_with_default_settings_internal_addresses_are_refused_before_any_request(
    http: httpx.AsyncClient, server: RecordingServer, url: str
) -> None:
    with pytest.raises(PermanentFailure) as refused:
        await SafeHttp(http, EgressPolicy()).get(url.format(port=server.port), max_bytes=1000)
    assert refused.value.code == "url_refused"
    assert server.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://x",
        "http://user:pw@127.0.0.1/x",
        "http:///x",
    ],
)
async def test_other_schemes_credentials_and_hostless_urls_are_refused(
    http: httpx.AsyncClient, url: str
) -> None:
    with pytest.raises(PermanentFailure, match="url_refused"):
        await SafeHttp(http, ONLY_127_0_0_1).get(url, max_bytes=1000)


async def test_a_redirect_to_an_internal_address_is_refused_and_never_followed(
    http: httpx.AsyncClient, server: RecordingServer, secret: RecordingServer
) -> None:
    server.routes["/go"] = lambda _: Reply(302, headers={"Location": secret.url("/admin")})

    with pytest.raises(PermanentFailure, match="url_refused"):
        await SafeHttp(http, ONLY_127_0_0_1).get(server.url("/go"), max_bytes=1000)

    assert len(server.hits_on("/go")) == 1
    assert secret.hits == []


async def test_an_allowed_redirect_is_followed_and_rechecked(
    http: httpx.AsyncClient, server: RecordingServer
) -> None:
    server.routes["/go"] = lambda _: Reply(301, headers={"Location": "/data.zip"})
    fetched = await SafeHttp(http, ONLY_127_0_0_1).get(server.url("/go"), max_bytes=1000)
    assert fetched.content == b"PK\x03\x04 data"
    assert fetched.url == server.url("/data.zip")


async def test_a_redirect_loop_stops_after_the_limit(
    http: httpx.AsyncClient, server: RecordingServer
) -> None:
    server.routes["/loop"] = lambda _: Reply(302, headers={"Location": "/loop"})
    with pytest.raises(PermanentFailure, match="redirects"):
        await SafeHttp(http, ONLY_127_0_0_1).get(server.url("/loop"), max_bytes=1000)
    assert len(server.hits_on("/loop")) == ONLY_127_0_0_1.max_redirects + 1


async def test_a_body_over_the_cap_is_refused(
    http: httpx.AsyncClient, server: RecordingServer
) -> None:
    server.routes["/big"] = lambda _: Reply(body=b"x" * 5000)
    chunked = {"Transfer-Encoding": "chunked"}
    server.routes["/sneaky"] = lambda _: Reply(
        body=b"4000\r\n" + b"x" * 0x4000 + b"\r\n0\r\n\r\n", headers=chunked
    )
    safe = SafeHttp(http, ONLY_127_0_0_1)
    for path in ["/big", "/sneaky"]:
        with pytest.raises(PermanentFailure) as refused:
            await safe.get(server.url(path), max_bytes=1000)
        assert refused.value.code == "data_too_large"


async def test_a_server_that_stalls_times_out_as_a_transient_failure(
    http: httpx.AsyncClient, server: RecordingServer
) -> None:
    server.routes["/slow"] = lambda _: Reply(body=b"x" * 4096, drip_seconds=1.0)
    with pytest.raises(TransientFailure) as failed:
        await SafeHttp(http, ONLY_127_0_0_1).get(server.url("/slow"), max_bytes=10_000)
    assert failed.value.code == "timeout"


@pytest.mark.parametrize(
    ("status", "kind", "retry"),
    [
        (503, TransientFailure, 7.0),
        (429, TransientFailure, 7.0),
        (404, PermanentFailure, None),
        (403, PermanentFailure, None),
    ],
)
async def test_http_errors_are_classified(
    http: httpx.AsyncClient,
    server: RecordingServer,
    status: int,
    kind: type[Exception],
    retry: float | None,
) -> None:
    server.routes["/e"] = lambda _: Reply(status, headers={"Retry-After": "7"})
    with pytest.raises(kind) as failed:
        await SafeHttp(http, ONLY_127_0_0_1).get(server.url("/e"), max_bytes=1000)
    assert getattr(failed.value, "retry_after", None) == retry


async def test_a_refused_connection_is_transient(
    http: httpx.AsyncClient, server: RecordingServer
) -> None:
    url = server.url("/x")
    server.stop()
    with pytest.raises(TransientFailure, match="connection_failed"):
        await SafeHttp(http, ONLY_127_0_0_1).get(url, max_bytes=1000)


async def test_a_post_never_follows_a_redirect(
    http: httpx.AsyncClient, server: RecordingServer, secret: RecordingServer
) -> None:
    server.routes["/hook"] = lambda _: Reply(307, headers={"Location": secret.url("/admin")})
    response = await SafeHttp(http, ONLY_127_0_0_1).post(
        server.url("/hook"),
        content=b"{}",
        headers={"Content-Type": "application/json"},
        timeout_seconds=2,
    )
    assert response.status_code == 307
    assert server.hits_on("/hook")[0].body == b"{}"
    assert secret.hits == []

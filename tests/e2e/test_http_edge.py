"""A real `ai-gateway serve` process against raw-socket clients that abuse request headers."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.serve_process import Gateway
from tests.servers import LOOPBACK

pytestmark = pytest.mark.e2e

READ_TIMEOUT = 1.0
EVENTS_KEY = "events-key-0123456789abcdef"


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {
        "SERVE_WORKER": "false",
        "HEADER_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
        "MAX_HEADER_BYTES": "8192",
        "MAX_HEADER_COUNT": "50",
        "MOSAIC_API_KEYS": json.dumps(
            [{"name": "events", "key": EVENTS_KEY, "scopes": ["events"]}]
        ),
    }
    gateway = Gateway(Path(tmp_path_factory.mktemp("edge")), env=env)
    gateway.start()
    yield gateway
    gateway.stop(signal.SIGKILL)


def connect(gateway: Gateway) -> socket.socket:
    return socket.create_connection((LOOPBACK, gateway.port), timeout=10)


def read_all(conn: socket.socket) -> bytes:
    """Everything the server sent before it closed the connection (or reset it)."""
    chunks = []
    try:
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def request(headers: bytes = b"") -> bytes:
    return b"GET /api/app/health HTTP/1.1\r\nHost: gateway\r\n" + headers + b"\r\n"


def assert_refused(answer: bytes, status: int) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    assert b"application/problem+json" in head
    assert json.loads(body)["status"] == status


def test_a_client_that_trickles_its_headers_is_dropped(edge: Gateway) -> None:
    with connect(edge) as conn:
        started = time.monotonic()
        conn.sendall(b"GET /api/app/health HTTP/1.1\r\nHost: gateway\r\n")
        answer = b""
        for i in range(40):  # a header line every 0.1 s would take 4 s
            try:
                conn.sendall(b"X-Drip-%d: x\r\n" % i)
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.1)
        answer = read_all(conn)
        elapsed = time.monotonic() - started

    assert_refused(answer, 408)
    assert READ_TIMEOUT <= elapsed < READ_TIMEOUT + 1.5


def test_line_breaks_between_requests_do_not_hold_a_connection_open(edge: Gateway) -> None:
    with connect(edge) as conn:
        conn.sendall(request(b"Connection: keep-alive\r\n"))
        assert conn.recv(65536).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        for _ in range(40):  # a line break every 0.1 s would take 4 s
            try:
                conn.sendall(b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.1)
        read_all(conn)
        elapsed = time.monotonic() - started

    assert elapsed < READ_TIMEOUT + 1.5


def test_a_connection_that_sends_nothing_is_closed(edge: Gateway) -> None:
    with connect(edge) as conn:
        started = time.monotonic()
        assert read_all(conn) == b""
        assert time.monotonic() - started < READ_TIMEOUT + 1.5


def test_a_huge_header_is_refused_with_431(edge: Gateway) -> None:
    with connect(edge) as conn:
        conn.sendall(request(b"X-Big: " + b"a" * 9000 + b"\r\n"))
        assert_refused(read_all(conn), 431)


def test_a_header_without_end_is_cut_off_at_the_limit(edge: Gateway) -> None:
    with connect(edge) as conn:
        sent = 0
        try:
            conn.sendall(b"GET /api/app/health HTTP/1.1\r\nX-Endless: ")
            while sent < 64 * 1024 * 1024:
                conn.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_all(conn)
    # the server closes while the client still sends: the 431 may be lost to the reset
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 ")
    assert sent < 4 * 1024 * 1024


def test_too_many_headers_are_refused_with_431(edge: Gateway) -> None:
    with connect(edge) as conn:
        conn.sendall(request(b"".join(b"X-%d: v\r\n" % i for i in range(51))))
        assert_refused(read_all(conn), 431)


def test_headers_within_the_limits_are_served_after_every_attack(edge: Gateway) -> None:
    with connect(edge) as conn:
        headers = b"".join(b"X-%d: v\r\n" % i for i in range(40)) + b"X-Big: " + b"a" * 6000
        conn.sendall(request(headers + b"\r\nConnection: close\r\n"))
        answer = read_all(conn)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def test_the_access_log_hides_query_credentials_and_cannot_be_forged(edge: Gateway) -> None:
    key = edge.api_key()
    with edge.client() as client:
        client.get("/api/app/health?api_key=SECRET-1&access_token=SECRET-2&x=1")
        client.get("/api/prompts/%0d%0aFORGED%20line?token=SECRET-3")
        client.get(f"/api/prompts?key={key}%0aFORGED")
        client.get(
            "/api/app/health?x-api-key=SECRET-4&accessToken=SECRET-5&access-token=SECRET-6"
            "&jwt=SECRET-7&X-Goog-Signature=SECRET-8&%61pi_key=SECRET-9&%2561pi_key=SECRET-10"
            "&limit=5"
        )
        missing = client.get("/api/prompts/no-such-prompt")
        cancelled = client.post("/api/prompts", json={"content": "x"}).json()["id"]
        client.post(f"/api/prompts/{cancelled}/cancel")
        again = client.post(f"/api/prompts/{cancelled}/cancel")

    assert (missing.status_code, again.status_code) == (404, 409)
    log = edge.log.read_text()
    access = "\n".join(line for line in log.splitlines() if "uvicorn.access" in line)
    assert "api_key=[redacted]" in access
    for secret in [f"SECRET-{n}" for n in range(1, 11)]:
        assert f"{secret}&" not in access
        assert f"{secret} " not in access
    assert key not in access  # the start-up banner shows the key
    assert "limit=5" in access
    assert not any(line.startswith("FORGED") for line in log.splitlines())
    assert "Traceback" not in log


BINARY_EVENT = {
    "ce-specversion": "1.0",
    "ce-id": "e-1",
    "ce-source": "/edge",
    "ce-type": "com.example.edge",
    "ce-datacontenttype": "application/json",
}


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/prompts", "application/json"),
        ("/api/prompts/item", "application/json"),
        ("/api/events", "application/cloudevents+json"),
        ("/api/events", "application/cloudevents-batch+json"),
        ("/api/events", None),
        ("/api/events", "text/plain"),
    ],
)
def test_nested_json_and_nan_are_400_from_the_real_process(
    edge: Gateway, path: str, content_type: str | None
) -> None:
    binary = BINARY_EVENT if content_type in (None, "text/plain") else {}
    headers = {**binary, **({"content-type": content_type} if content_type else {})}
    if path == "/api/events":
        headers["X-API-Key"] = EVENTS_KEY
    with edge.client() as client:
        for body in (b"[" * 50_000 + b"]" * 50_000, b'{"content": "x", "score": NaN}'):
            response = client.post(path, content=body, headers=headers)
            assert response.status_code == 400, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"] == "urn:ai-gateway:problem:malformed-json"
        assert client.get("/api/app/health").status_code == 200
    assert "Traceback" not in edge.log.read_text()

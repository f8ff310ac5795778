"""Fixtures shared by the adapter tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.http_servers import RecordingServer, Reply, recording_server


@pytest.fixture
def elsewhere() -> Iterator[RecordingServer]:
    """Another origin: another loopback address, where nothing the gateway holds may arrive."""
    with recording_server("127.0.0.3") as server:
        server.routes["/landing"] = lambda _: Reply(body=b"landed")
        yield server

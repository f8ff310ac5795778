from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.outside_world import Services
from tests.http_servers import RecordingServer
from tests.idp_server import IdpServer


@pytest.fixture
def services(idp: IdpServer) -> Iterator[Services]:
    """The outside world's fakes for one test; their servers stop with it."""
    server = RecordingServer()
    server.start()
    fakes = Services(server, idp)
    fakes.install()
    yield fakes
    fakes.stop_sink()
    server.stop()

"""SIGTERM, as a container runtime sends it before it stops a container: the API finishes the
requests under way and takes no new ones; a worker gives back the jobs it cannot finish, and
another worker completes them at once instead of after the claim timeout."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from tests.e2e.deployment import API_KEY, Deployment, wait_all
from tests.e2e.outside_world import Services
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_the_api_finishes_a_request_in_flight_after_sigterm_and_refuses_new_connections(
    deploy: Callable[..., Deployment],
) -> None:
    d = deploy()
    port = urlsplit(d.api()).port
    assert port is not None
    (api, _) = d.apis[0]
    body = json.dumps({"content": "sent slowly"}).encode()
    head = (
        f"POST /api/prompts HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), 10) as slow:
        slow.sendall(head + body[:5])  # the request is under way: half its body still to come
        time.sleep(0.2)
        api.signal()
        wait_until(lambda: refused(port), 10, "the listener closed")
        slow.sendall(body[5:])
        reply = slow.makefile("rb").read().decode()

    status_line, _, rest = reply.partition("\r\n")
    assert status_line == "HTTP/1.1 201 Created", reply
    assert json.loads(rest.partition("\r\n\r\n")[2])["status"] == "created"
    assert api.process is not None
    assert api.process.wait(10) == 0


def test_a_stopped_worker_gives_its_job_back_and_another_completes_it_before_the_claim_timeout(
    deploy: Callable[..., Deployment], services: Services
) -> None:
    claim_timeout = 60.0
    d = deploy(
        GENAI_PROVIDER="openai", JOB_CLAIM_IDLE_SECONDS=str(claim_timeout),
        STUCK_AFTER_SECONDS="600", SHUTDOWN_GRACE_SECONDS="1",
    )  # fmt: skip
    services.genai_delay = 600  # the first worker's GenAI call does not end by itself
    d.api()
    first = d.worker()
    with d.client() as client:
        prompt_id = client.post("/api/prompts", json={"content": "long"}).json()["id"]
        wait_until(lambda: services.submissions == [prompt_id], 60, "the first worker's call")
        second = d.worker()
        wait_until(lambda: "started" in second.log.read_text(), 60, "the second worker")
        services.genai_delay = 0
        stopped_at = time.monotonic()
        first.stop()
        done = wait_all(client, [prompt_id], {"completed", "faulted"}, timeout=claim_timeout)
        took = time.monotonic() - stopped_at
    services.genai_hurry.set()

    assert done[prompt_id]["status"] == "completed"
    assert took < claim_timeout / 4, took
    assert services.submissions == [prompt_id, prompt_id]  # the same Idempotency-Key again
    assert "given back to the queue" in first.log.read_text()

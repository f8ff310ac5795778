"""Real `ai-gateway serve` processes on the embedded default, as a new user runs them."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.e2e.serve_process import CLEAN_ENV, Gateway
from tests.http_servers import Reply, recording_server
from tests.servers import RedisServer, free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def gone(pid: int) -> bool:
    """True once the process has exited (a zombie awaiting its reaper counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    gw = Gateway(tmp_path)
    yield gw
    if gw.process is not None:
        gw.stop(signal.SIGKILL)


@pytest.fixture
def api_only(tmp_path: Path) -> Iterator[Gateway]:
    """The embedded set-up without its in-process worker: prompts stay where the API puts them."""
    gw = Gateway(tmp_path, env={"SERVE_WORKER": "false"})
    yield gw
    if gw.process is not None:
        gw.stop(signal.SIGKILL)


def wait_for_status(
    client: httpx.Client, prompt_id: str, status: str, timeout: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        prompt: dict[str, Any] = client.get(f"/api/prompts/{prompt_id}").json()
        if prompt["status"] == status:
            return prompt
        assert time.monotonic() < deadline, f"still {prompt['status']}: {prompt}"
        time.sleep(0.05)


def test_the_embedded_pipeline_answers_a_prompt_with_the_echo_provider(gateway: Gateway) -> None:
    gateway.start()
    with gateway.client() as client:
        created = client.post(
            "/api/prompts/item", json={"itemId": "i-1", "content": "Generate a sample prompt"}
        )
        prompt = wait_for_status(client, created.json()["id"], "completed")

    assert prompt["response"]["content"].startswith("[echo] You are an expert reviewer")
    assert list(prompt["timestamps"]) == [
        "created",
        "preparing",
        "prepared",
        "submitted",
        "completed",
    ]
    answer = (
        gateway.workdir / ".ai-gateway" / "objects" / "prompts" / prompt["id"] / "response.json"
    )
    assert json.loads(answer.read_text())["sha256"] == prompt["response"]["sha256"]


def test_the_key_the_embedded_start_prints_opens_the_console(api_only: Gateway) -> None:
    api_only.start()
    key = api_only.api_key()
    assert key in api_only.log.read_text()
    with httpx.Client(base_url=api_only.base_url, timeout=5) as browser:
        form = browser.get("/console/login").text
        token = re.search(r'name="token" value="([^"]+)"', form)
        assert token is not None
        signed_in = browser.post("/console/login", data={"token": token[1], "api_key": key})
        overview = browser.get("/console/")

    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/console/")
    assert "<title>Overview - AI Gateway console</title>" in overview.text


def test_serve_keeps_prompts_across_a_restart(api_only: Gateway) -> None:
    gateway = api_only
    gateway.start()
    banner = gateway.log.read_text()
    assert gateway.api_key() in banner
    assert "(embedded, append-only)" in banner
    with gateway.client() as client:
        created = client.post("/api/prompts/item", json={"content": "Generate a sample prompt"})
        assert created.status_code == 201
        kept = created.json()["id"]
        other = client.post(
            "/api/prompts", json={"content": "to cancel", "request_id": "r1"}
        ).json()["id"]
        assert client.post(f"/api/prompts/{other}/cancel").json()["status"] == "cancelled"
        listed = client.get("/api/prompts").json()["items"]
        assert [p["id"] for p in listed] == [other, kept]
        assert client.get("/api/app/info").json()["redis"] == "embedded"

    server_pid = gateway.embedded_server_pid()
    assert gateway.stop(signal.SIGINT) == 0
    assert gone(server_pid)

    gateway.start()
    with gateway.client() as client:
        assert client.get(f"/api/prompts/{kept}").json()["status"] == "created"
        assert client.get(f"/api/prompts/{other}").json()["status"] == "cancelled"
        assert [p["id"] for p in client.get("/api/prompts").json()["items"]] == [other, kept]
    assert gateway.stop(signal.SIGTERM) == 0


def test_a_killed_gateway_leaves_no_orphan_server_and_restarts_on_its_data(
    gateway: Gateway,
) -> None:
    gateway.start()
    with gateway.client() as client:
        prompt_id = client.post("/api/prompts", json={"content": "survive"}).json()["id"]
    wait_until(lambda: prompt_id in gateway.append_only_text(), 10, "the append-only file")
    server_pid = gateway.embedded_server_pid()

    gateway.stop(signal.SIGKILL)
    wait_until(lambda: gone(server_pid), 10, "embedded server exit")

    gateway.start()
    with gateway.client() as client:
        assert client.get(f"/api/prompts/{prompt_id}").status_code == 200


def test_a_second_gateway_on_the_same_data_folder_is_refused(gateway: Gateway) -> None:
    gateway.start()
    second = subprocess.run(
        [sys.executable, "-m", "ai_gateway", "serve", "--port", str(free_port())],
        cwd=gateway.workdir, env=CLEAN_ENV, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert second.returncode == 1
    assert "in use by another ai-gateway" in second.stderr
    with gateway.client() as client:
        assert client.get("/api/app/ready").status_code == 200


def test_with_redis_url_set_serve_uses_that_redis(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    gateway = Gateway(
        tmp_path,
        env={"REDIS_URL": redis_server.url, "MOSAIC_API_KEYS": "ops:ops-key-0123456789abcdef",
             "REDIS_KEY_PREFIX": "e2e"},
    )  # fmt: skip
    gateway.start()
    try:
        with httpx.Client(
            base_url=gateway.base_url, headers={"X-API-Key": "ops-key-0123456789abcdef"}
        ) as client:
            assert client.get("/api/app/info").json()["redis"] == "external"
            assert client.post("/api/prompts", json={"content": "x"}).status_code == 201
        assert not (tmp_path / ".ai-gateway").exists()
    finally:
        gateway.stop()


def test_invalid_settings_are_reported_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ai_gateway", "serve"],
        cwd=tmp_path, env={**CLEAN_ENV, "MOSAIC_API_KEYS": "bad"},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "invalid settings" in result.stderr
    assert "Traceback" not in result.stderr


def test_embedded_callbacks_are_signed_with_the_kept_secret(tmp_path: Path) -> None:
    gateway = Gateway(tmp_path, env={"EGRESS_ALLOW_CIDRS": "127.0.0.0/8"})
    with recording_server() as receiver:
        receiver.routes["/cb"] = lambda _: Reply(204)
        gateway.start()
        try:
            secret = (tmp_path / ".ai-gateway" / "callback-secret").read_text().strip()
            assert oct((tmp_path / ".ai-gateway" / "callback-secret").stat().st_mode)[-3:] == "600"
            with gateway.client() as client:
                created = client.post(
                    "/api/prompts", json={"content": "x", "callback_url": receiver.url("/cb")}
                )
                wait_for_status(client, created.json()["id"], "responded")
        finally:
            gateway.stop()
    (hit,) = receiver.hits
    assert Webhook(secret).verify(hit.body, hit.headers)["subject"] == created.json()["id"]

"""The outside world of a deployment under test: the GenAI services, the data host, the callback
receiver and the event sink, as real HTTP servers on loopback in this process."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any

import httpx
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from standardwebhooks import Webhook, WebhookVerificationError

from tests.factories import zip_of
from tests.http_servers import Hit, RecordingServer, Reply
from tests.idp_server import IdpServer
from tests.servers import free_port

CALLBACK_SECRET = "whsec_" + base64.b64encode(b"e2e-callback-secret-0123456789ab").decode()


def _zip_with_link() -> bytes:
    link = zipfile.ZipInfo("passwd")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    return zip_of([(link, b"/etc/passwd")])


@dataclass
class Services:
    """The fakes of the outside world, with what they saw."""

    http: RecordingServer
    idp: IdpServer
    genai_delay: float = 0.0
    genai_hurry: threading.Event = field(default_factory=threading.Event)  # ends delays under way
    callbacks_up: bool = True
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    submissions: list[str] = field(default_factory=list)
    sink_up: bool = True
    events: list[tuple[str, str, str]] = field(default_factory=list)
    sink: RecordingServer | None = None
    sink_port: int = field(default_factory=free_port)

    def start_sink(self) -> None:
        """The event sink: a server of its own, which tests stop and start again on its port."""
        self.sink = RecordingServer(port=self.sink_port)
        self.sink.routes["/events"] = self._sink
        self.sink.start()

    def stop_sink(self) -> None:
        if self.sink is not None:
            self.sink.stop()
            self.sink = None

    @property
    def sink_url(self) -> str:
        return f"http://127.0.0.1:{self.sink_port}/events"

    def install(self) -> None:
        routes = self.http.routes
        routes["/data/item.zip"] = lambda _: Reply(
            body=zip_of({"item.json": b'{"stem": "?"}', "media/figure.png": b"\x89PNG"}),
            headers={"Content-Type": "application/zip"},
        )
        routes["/data/slow.zip"] = lambda _: Reply(
            body=zip_of({"a.txt": os.urandom(8 * 1024)}), drip_seconds=0.15,
            headers={"Content-Type": "application/zip"},
        )  # fmt: skip
        routes["/data/escape.zip"] = lambda _: Reply(body=zip_of({"../../etc/cron.d/x": b"x"}))
        routes["/data/bomb.zip"] = lambda _: Reply(body=zip_of({"zeros": bytes(20 * 1024 * 1024)}))
        routes["/data/many.zip"] = lambda _: Reply(body=zip_of({f"f{i}": b"" for i in range(1200)}))
        routes["/data/link.zip"] = lambda _: Reply(body=_zip_with_link())
        routes["/data/to-private"] = lambda _: Reply(
            302, headers={"Location": "http://10.11.12.13/x.zip"}
        )
        routes["/data/to-other-loopback"] = lambda _: Reply(
            302, headers={"Location": f"http://127.0.0.2:{self.http.port}/data/item.zip"}
        )
        routes["/v1/chat/completions"] = self._completion
        routes["/genai/api/prompts"] = self._genai_api
        routes["/cb"] = self._callback
        self.start_sink()

    def _completion(self, hit: Hit) -> Reply:
        self.submissions.append(hit.headers.get("Idempotency-Key", ""))
        self.genai_hurry.wait(self.genai_delay)
        prompt = json.loads(hit.body)["messages"][0]["content"]
        message = {"role": "assistant", "content": f"openai says: {prompt[:40]}"}
        body = {
            "id": "c1",
            "model": "fake",
            "usage": {"total_tokens": 7},
            "choices": [{"message": message}],
        }
        return Reply(body=json.dumps(body).encode())

    def _genai_api(self, hit: Hit) -> Reply:
        submitted = json.loads(hit.body)
        self.submissions.append(hit.headers.get("Idempotency-Key", ""))

        def answer_later() -> None:
            time.sleep(0.2)
            token = self.idp.token("genai-service", "internal")
            httpx.post(
                submitted["answer_url"],
                json={
                    "content": f"genai-api says: {submitted['kind']}",
                    "metadata": {"links": len(submitted["data_links"])},
                },
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )

        threading.Thread(target=answer_later, daemon=True).start()
        return Reply(202, b'{"accepted": true}')

    def _callback(self, hit: Hit) -> Reply:
        if not self.callbacks_up:
            return Reply(503)
        try:
            payload = Webhook(CALLBACK_SECRET).verify(hit.body, hit.headers)
        except WebhookVerificationError:
            self.bad_signatures += 1
            return Reply(400)
        self.callbacks.append({"webhook_id": hit.headers["webhook-id"], **payload})
        return Reply(204)

    def _sink(self, hit: Hit) -> Reply:
        if not self.sink_up:
            return Reply(503)
        event = ce_http.from_http(
            ce_http.HTTPMessage(headers=hit.headers, body=hit.body), JSONFormat()
        )
        self.events.append(
            (event.get_subject() or "", event.get_type().split(".prompt.")[1], event.get_id())
        )
        return Reply(202)

    def steps_of(self, prompt_id: str) -> list[str]:
        return [
            step.removesuffix(".v1") for subject, step, _ in self.events if subject == prompt_id
        ]

    def webhook_ids(self) -> list[str]:
        return [c["webhook_id"] for c in self.callbacks]

"""One trace per prompt across `serve` and `worker` processes, exported over OTLP/HTTP, and log
lines that say which trace and prompt they belong to and carry no secret."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.deployment import API_KEY, Deployment, wait_all
from tests.e2e.outside_world import CALLBACK_SECRET, Services
from tests.idp_server import CLIENTS, IdpServer
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
OPENAI_KEY = "sk-e2e-openai-key-0123456789"


def traced(otlp: OtlpReceiver, **settings: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_SERVICE_NAME": "gateway-e2e",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
        **settings,
    }


def trace_of(traceparent: str | None) -> str | None:
    return traceparent.split("-")[1] if traceparent else None


def test_a_prompt_is_one_trace_across_processes_and_a_killed_worker(
    deploy: Callable[..., Deployment], services: Services, otlp: OtlpReceiver
) -> None:
    d = deploy(**traced(otlp, GENAI_PROVIDER="openai", OPENAI_API_KEY=OPENAI_KEY))
    services.genai_delay = 3
    d.api()
    d.worker()
    with d.client() as client:
        prompt_id = client.post(
            "/api/prompts",
            json={"content": "x", "data_url": services.http.url("/data/item.zip"),
                  "callback_url": services.http.url("/cb")},
            headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"},
        ).json()["id"]  # fmt: skip
        wait_until(lambda: bool(services.submissions), 30, "the GenAI call under way")
        wait_until(lambda: bool(otlp.named("prepare")), 2, "the finished step's span exported")
        # Mid-call: the prepare job, whose submit step followed at once (ADR 0032), is taken
        # over by the new worker, which finds the prompt prepared and hands the submit on again.
        d.kill_and_replace_worker(0)
        wait_all(client, [prompt_id], {"responded"}, timeout=60)
    wait_until(lambda: bool(otlp.named("deliver")), 30, "the delivery's spans")

    spans = otlp.of_prompt(prompt_id)
    assert {s.trace_id for s in spans} == {CLIENT_TRACE}
    (request,) = [s for s in otlp.spans if s.name == "POST /api/prompts"]
    assert (request.trace_id, request.parent_id) == (CLIENT_TRACE, CLIENT_SPAN)
    assert request.attributes["http.response.status_code"] == 201
    steps = {s.name: s for s in spans if s.name in {"prepare", "submit", "deliver"}}
    assert set(steps) == {"prepare", "submit", "deliver"}
    assert {s.parent_id for s in spans if s.name in steps} == {request.span_id}
    assert steps["deliver"].attributes["ai_gateway.outcome"] == "delivered"
    assert {s.service for s in otlp.spans} == {"gateway-e2e"}
    every_step = {s.span_id for s in spans if s.name in steps}
    children = {s.name for s in otlp.spans if s.parent_id in every_step}
    assert {"download", "object_store.write", "genai.submit", "callback.deliver"} <= children
    (call,) = [s for s in otlp.named("genai.submit") if s.parent_id == steps["submit"].span_id]
    assert call.attributes["gen_ai.provider.name"] == "openai"
    assert call.attributes["gen_ai.response.model"] == "fake"
    outbound = [s for s in otlp.spans if s.name == "POST" and s.trace_id == CLIENT_TRACE]
    assert {s.attributes["http.response.status_code"] for s in outbound} >= {200, 204}
    (callback,) = services.http.hits_on("/cb")
    assert trace_of(callback.headers.get("traceparent")) == CLIENT_TRACE
    calls = services.http.hits_on("/v1/chat/completions")
    assert {trace_of(h.headers.get("traceparent")) for h in calls} == {CLIENT_TRACE}
    assert _no_secrets_in(otlp.spans)


def test_an_asynchronous_answer_and_lifecycle_events_join_the_prompts_trace(
    deploy: Callable[..., Deployment], services: Services, otlp: OtlpReceiver
) -> None:
    d = deploy(**traced(otlp, GENAI_PROVIDER="genai-api"))
    d.api()
    d.worker()
    with d.client() as client:
        prompt_id = client.post(
            "/api/prompts",
            json={"content": "x"},
            headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"},
        ).json()["id"]
        wait_all(client, [prompt_id], {"completed"}, timeout=60)
    wait_until(lambda: bool(otlp.named("answer")), 30, "the answer's span")
    wait_until(lambda: "response.received" in services.steps_of(prompt_id), 30, "the events")

    (answer,) = otlp.named("answer")
    (request,) = [s for s in otlp.spans if s.name == "POST /api/prompts"]
    assert (answer.trace_id, answer.parent_id) == (CLIENT_TRACE, request.span_id)
    assert answer.links  # the request that brought the answer
    assert answer.attributes["ai_gateway.outcome"] == "recorded"
    assert services.sink is not None
    events = [json.loads(h.body) for h in services.sink.hits_on("/events")]
    mine = [e for e in events if e.get("subject") == prompt_id]
    assert {trace_of(e.get("traceparent")) for e in mine} == {CLIENT_TRACE}
    token_calls = [s for s in otlp.spans if s.name == "POST" and s.trace_id == CLIENT_TRACE]
    assert token_calls


def test_logs_of_a_whole_prompt_name_its_trace_and_hold_no_secret(
    deploy: Callable[..., Deployment], services: Services, otlp: OtlpReceiver, idp: IdpServer
) -> None:
    d = deploy(**traced(otlp, GENAI_PROVIDER="openai", OPENAI_API_KEY=OPENAI_KEY,
                        LOG_FORMAT="json", ACCESS_LOG="true"))  # fmt: skip
    d.api()
    d.worker()
    token = idp.token("mosaic", "api")
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=d.apis[0][1], headers=bearer, timeout=10) as client:
        prompt_id = client.post(
            "/api/prompts/item",
            json={"itemId": "64b7f0c2a1b2c3d4e5f60718", "requestId": "r-logs",
                  "itemUrl": services.http.url("/data/item.zip"),
                  "callbackUrl": services.http.url("/cb")},
        ).json()["id"]  # fmt: skip
        wait_all(client, [prompt_id], {"responded"}, timeout=60)
        client.get("/api/app/health", params={"api_key": API_KEY})

    logs = [log.read_text() for log in sorted(d.workdir.glob("*.log"))]
    secrets = [OPENAI_KEY, API_KEY, token, CALLBACK_SECRET, CALLBACK_SECRET.removeprefix("whsec_"),
               *CLIENTS.values(), d.env["S3_SECRET_KEY"]]  # fmt: skip
    assert not [s for s in secrets for text in logs if s in text]
    lines = [_json(line) for text in logs for line in text.splitlines() if line.startswith("{")]
    about = [line for line in lines if line.get("prompt_id") == prompt_id]
    assert {line["trace_id"] for line in about if "trace_id" in line} == {_trace(otlp, prompt_id)}
    assert {"ai_gateway.worker", "ai_gateway.jobs"} & {line.get("logger") for line in about}
    assert any(line.get("request_id") == "r-logs" and line.get("caller") for line in about)
    assert any(line.get("step") == "prepare" for line in about)


def _json(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _trace(otlp: OtlpReceiver, prompt_id: str) -> str:
    wait_until(lambda: bool(otlp.of_prompt(prompt_id)), 30, "the prompt's spans")
    return otlp.of_prompt(prompt_id)[0].trace_id


def _no_secrets_in(spans: list[ReceivedSpan]) -> bool:
    values = [str(v) for s in spans for v in s.attributes.values()]
    return not [v for v in values if OPENAI_KEY in v or "?" in v or "/cb" in v]

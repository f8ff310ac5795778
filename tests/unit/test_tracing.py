"""One trace per prompt: the creating request's trace is kept with the prompt, travels in each of
its jobs, and every step's spans join it; log lines say which trace, span and prompt."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.types import Message, Receive, Scope, Send

from ai_gateway.api.request_spans import RequestSpans
from ai_gateway.application.commands.create_prompt import CreatePrompt
from ai_gateway.application.commands.prepare_prompt import PreparePrompt
from ai_gateway.application.commands.submit_prompt import SubmitPrompt
from ai_gateway.application.ports.data import FetchedData
from ai_gateway.application.ports.genai import GenAiAnswer
from ai_gateway.application.ports.jobs import Job, JobStep
from ai_gateway.application.tracing import TraceContext, current_trace, span
from ai_gateway.domain.values import JsonObject
from ai_gateway.observability import configure_logging
from ai_gateway.tracing import (
    TracingConfigurationError,
    check_tracing,
    exporter_names,
    trace_fields,
)
from tests.factories import principal, zip_of
from tests.fakes import ScriptedProvider, ScriptedSource
from tests.spans import named, trace_id
from tests.unit.pipeline import Pipeline

CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT = TraceContext(f"00-{CLIENT_TRACE}-00f067aa0ba902b7-01", "vendor=opaque")


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, []),
        ({"OTEL_TRACES_EXPORTER": "otlp,console"}, ["otlp", "console"]),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, []),
    ],
)
def test_tracing_is_on_only_when_an_exporter_is_asked_for(
    env: dict[str, str], names: list[str]
) -> None:
    assert exporter_names(env) == names


def test_an_exporter_or_protocol_that_cannot_be_had_is_refused_before_start() -> None:
    check_tracing({"OTEL_TRACES_EXPORTER": "otlp,console"})
    with pytest.raises(TracingConfigurationError, match="http/protobuf"):
        check_tracing({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    with pytest.raises(TracingConfigurationError, match="zipkin"):
        check_tracing({"OTEL_TRACES_EXPORTER": "zipkin"})


async def test_a_prompt_and_its_first_job_keep_the_trace_of_the_request_that_created_it(
    spans: InMemorySpanExporter,
) -> None:
    p = Pipeline()
    with span("POST /api/prompts", CLIENT):
        request = current_trace()
        created = await p.mediator.send(CreatePrompt(principal=principal(), content="x"))

    assert request is not None
    assert request.traceparent.split("-")[1] == CLIENT_TRACE
    prompt = p.repo.prompts[created.id]
    assert (prompt.traceparent, prompt.tracestate) == (request.traceparent, "vendor=opaque")
    ((job, _),) = p.queue.jobs
    assert (job.traceparent, job.tracestate) == (prompt.traceparent, prompt.tracestate)
    assert job.retry().traceparent == prompt.traceparent


async def test_each_step_joins_the_prompts_trace_with_what_it_did(
    spans: InMemorySpanExporter,
) -> None:
    usage: JsonObject = {"prompt_tokens": 11, "completion_tokens": 3}
    answer = GenAiAnswer("ok", {"provider": "openai", "model": "m-1", "usage": usage})
    p = Pipeline(
        source=ScriptedSource(FetchedData(zip_of({"a.txt": b"a"}), "application/zip")),
        provider=ScriptedProvider(answer),
    )
    prompt = await p.add(data_url="https://data.example/a.zip?sig=secret",
                         traceparent=CLIENT.traceparent)  # fmt: skip
    with span("prepare", CLIENT):
        await p.mediator.send(PreparePrompt(Job.of(JobStep.PREPARE, prompt)))
    with span("submit", CLIENT):
        await p.mediator.send(SubmitPrompt(Job.of(JobStep.SUBMIT, p.stored(prompt))))

    (download,) = named("download")
    (call,) = named("genai.submit")
    assert {trace_id(s) for s in (download, call, *named("object_store.write"))} == {CLIENT_TRACE}
    assert len(named("object_store.write")) == 2  # the data, then the answer
    assert call.attributes is not None
    assert call.attributes["gen_ai.response.model"] == "m-1"
    assert call.attributes["gen_ai.usage.input_tokens"] == 11
    assert call.attributes["gen_ai.usage.output_tokens"] == 3
    (submit,) = named("submit")
    assert submit.attributes is not None
    assert submit.attributes["ai_gateway.prompt.id"] == prompt.id
    assert submit.attributes["ai_gateway.caller"] == "apikey:mosaic"
    every_value = [
        str(v) for s in spans.get_finished_spans() for v in (s.attributes or {}).values()
    ]
    assert not [v for v in every_value if "secret" in v or "Review" in v or v == "ok"]


async def test_a_step_that_fails_for_good_says_so_on_its_span(
    spans: InMemorySpanExporter,
) -> None:
    p = Pipeline(source=ScriptedSource(FetchedData(zip_of({"../evil": b"x"}), "application/zip")))
    prompt = await p.add(data_url="https://data.example/evil.zip")
    with span("prepare", step="prepare"):
        await p.mediator.send(PreparePrompt(Job.of(JobStep.PREPARE, prompt)))

    (prepare,) = named("prepare")
    assert prepare.attributes is not None
    assert prepare.attributes["ai_gateway.outcome"] == "faulted"
    assert prepare.attributes["ai_gateway.fault.code"] == p.stored(prompt).fault.code  # type: ignore[union-attr]
    assert prepare.status.status_code is trace.StatusCode.ERROR


def test_log_lines_carry_the_trace_span_and_what_is_worked_on() -> None:
    with span("deliver", CLIENT, prompt_id="p-1", step="deliver", caller="mosaic") as current:
        event = trace_fields(None, "info", {"event": "x"})
        ids = current.get_span_context()

    assert event["trace_id"] == CLIENT_TRACE
    assert event["span_id"] == trace.format_span_id(ids.span_id)
    assert (event["prompt_id"], event["step"], event["caller"]) == ("p-1", "deliver", "mosaic")
    assert "prompt_id" not in trace_fields(None, "info", {"event": "after"})


def test_json_log_lines_are_rendered_with_the_trace_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO", "json")
    try:
        with span("submit", CLIENT, prompt_id="p-2", request_id="r-9"):
            logging.getLogger("ai_gateway.jobs").info("submitted")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    out = capsys.readouterr().err
    assert f'"trace_id": "{CLIENT_TRACE}"' in out
    assert '"prompt_id": "p-2"' in out
    assert '"request_id": "r-9"' in out


async def _served(traceparent: str) -> TraceContext | None:
    """A request through the request-span middleware to an app that notes the trace it is in."""
    seen: list[TraceContext | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = SimpleNamespace(path="/api/prompts")
        seen.append(current_trace())
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(_message: Message) -> None:
        return None

    scope = {"type": "http", "method": "POST", "path": "/api/prompts",
             "headers": [(b"traceparent", traceparent.encode())]}  # fmt: skip
    await RequestSpans(app)(scope, receive, send)
    return seen[0]


async def test_a_sampled_request_is_a_server_span_named_by_its_route(
    spans: InMemorySpanExporter,
) -> None:
    inside = await _served(CLIENT.traceparent)

    (server,) = named("POST /api/prompts")
    assert trace_id(server) == CLIENT_TRACE
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/api/prompts"
    assert server.attributes["http.response.status_code"] == 201
    assert inside is not None
    assert inside.traceparent.endswith("-01")


async def test_a_request_left_out_by_the_sampler_records_nothing_but_passes_its_context_on(
    spans: InMemorySpanExporter,
) -> None:
    unsampled = f"00-{CLIENT_TRACE}-00f067aa0ba902b7-00"
    inside = await _served(unsampled)
    assert inside is not None
    with span("prepare", inside, step="prepare"), span("download"):
        ids = trace.get_current_span().get_span_context()

    assert inside.traceparent.split("-")[1] == CLIENT_TRACE
    assert inside.traceparent.endswith("-00")  # kept with the prompt: its jobs follow it
    assert (ids.trace_id, ids.trace_flags.sampled) == (int(CLIENT_TRACE, 16), False)
    assert spans.get_finished_spans() == ()

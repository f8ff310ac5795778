"""The work in hand, for traces and logs: which prompt, step and caller, and the trace it joins.

A prompt's work is one trace (ADR 0021): the W3C trace context of the request that created it is
kept with the prompt and travels inside its jobs, and every step opens its span under it. Only the
OpenTelemetry API is used here: until a process installs an SDK provider (``ai_gateway.tracing``,
when an exporter is configured) every span is a no-op that costs next to nothing.

``note`` puts what is known of the work (prompt id, step, caller, outcome, ...) on the current span
and in ``work_fields``, which every log line carries, traced or not.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ai_gateway.domain.prompt import Prompt
from ai_gateway.domain.values import TokenUsage

tracer: Final = trace.get_tracer("ai_gateway")
_W3C: Final = TraceContextTextMapPropagator()

Value = str | int
ATTRIBUTES: Final[Mapping[str, str]] = {
    "prompt_id": "ai_gateway.prompt.id",
    "kind": "ai_gateway.prompt.kind",
    "caller": "ai_gateway.caller",
    "request_id": "ai_gateway.request_id",
    "step": "ai_gateway.step",
    "attempt": "ai_gateway.attempt",
    "outcome": "ai_gateway.outcome",
    "fault_code": "ai_gateway.fault.code",
    "provider": "gen_ai.provider.name",
    "model": "gen_ai.response.model",
    "input_tokens": "gen_ai.usage.input_tokens",
    "output_tokens": "gen_ai.usage.output_tokens",
    "status_code": "http.response.status_code",
}
"""Our names for what a span may say, and the attribute each becomes: identifiers, codes and
counts only, never content, answers, URLs or secrets."""
LOGGED: Final = ("prompt_id", "request_id", "caller", "step")
"""The fields every log line carries, when known."""

work_fields: ContextVar[Mapping[str, Value]] = ContextVar(
    "work_fields", default=MappingProxyType({})
)
"""What is known of the current task's work: its log lines carry the ``LOGGED`` ones."""


@dataclass(frozen=True, slots=True)
class TraceContext:
    """A span's W3C trace context as it travels: the ``traceparent`` and ``tracestate`` values."""

    traceparent: str
    tracestate: str | None = None

    @classmethod
    def of(cls, traceparent: str | None, tracestate: str | None = None) -> TraceContext | None:
        return None if not traceparent else cls(traceparent, tracestate or None)

    def carrier(self) -> dict[str, str]:
        carrier = {"traceparent": self.traceparent}
        if self.tracestate:
            carrier["tracestate"] = self.tracestate
        return carrier


def current_trace() -> TraceContext | None:
    """The current span's context, to be continued elsewhere, sampled or not (its flag says
    which: the prompt's later work follows that decision); None when nothing is traced."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return TraceContext(
        f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}",
        context.trace_state.to_header() if context.trace_state else None,
    )


def prompt_trace(prompt: Prompt) -> TraceContext | None:
    return TraceContext.of(prompt.traceparent, prompt.tracestate)


@contextmanager
def span(
    name: str,
    parent: TraceContext | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    link_current: bool = False,
    **fields: Value | None,
) -> Iterator[trace.Span]:
    """A span for a piece of a prompt's work, current while the block runs: under ``parent``
    when given (the prompt's trace), else under the current span. ``link_current`` links the
    span the work arrived in (an answer's request) when it is not the parent."""
    context = _W3C.extract(parent.carrier()) if parent is not None else None
    links: tuple[Link, ...] = ()
    if link_current and parent is not None:
        arrived = trace.get_current_span().get_span_context()
        links = (Link(arrived),) if arrived.is_valid else ()
    token = work_fields.set(work_fields.get())
    try:
        with trace.use_span(tracer.start_span(name, context, kind, links=links), True) as current:
            note(**fields)
            yield current
    finally:
        work_fields.reset(token)


def note(**fields: Value | None) -> None:
    """Puts what is known of the work on the current span and in the log fields."""
    known = {name: value for name, value in fields.items() if value is not None}
    if not known:
        return
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attributes({ATTRIBUTES[name]: value for name, value in known.items()})
    work_fields.set({**work_fields.get(), **known})


def note_prompt(prompt: Prompt) -> None:
    note(prompt_id=prompt.id, kind=prompt.kind, caller=prompt.owner, request_id=prompt.request_id)


def note_fault(code: str, *, final: bool) -> None:
    """A failed step: retried, or final (the prompt is faulted), with its fault code."""
    note(outcome="faulted" if final else "retry", fault_code=code)
    if final:
        trace.get_current_span().set_status(Status(StatusCode.ERROR, code))


def note_answer(metadata: Mapping[str, object], usage: TokenUsage | None = None) -> None:
    """The provider and model that answered, and its token counts (the usage it reported, else
    the counts in its metadata)."""
    reported = metadata.get("usage")
    counts = reported if isinstance(reported, Mapping) else {}
    note(
        provider=_text(metadata.get("provider")),
        model=_text(metadata.get("model")),
        input_tokens=usage.input_tokens
        if usage
        else _count(counts.get("prompt_tokens", counts.get("input_tokens"))),
        output_tokens=usage.output_tokens
        if usage
        else _count(counts.get("completion_tokens", counts.get("output_tokens"))),
    )


def _text(value: object) -> str | None:
    return value[:200] if isinstance(value, str) else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

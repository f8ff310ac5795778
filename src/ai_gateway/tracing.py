"""Where spans go: the OpenTelemetry SDK, configured by the standard ``OTEL_*`` variables alone.

Tracing is on when an exporter is named (``OTEL_TRACES_EXPORTER`` other than ``none``), or, with
that variable unset, when an OTLP endpoint is given (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``); ``OTEL_SDK_DISABLED=true`` turns it off. Otherwise no SDK
provider is installed and every span is the API's no-op (ADR 0021).

The SDK reads the rest itself: the resource (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``),
the sampler (``OTEL_TRACES_SAMPLER``, ``_ARG``), the batch processor (``OTEL_BSP_*``) and the
exporter (``OTEL_EXPORTER_OTLP_*``). Exporters are found by name as the SDK registers them
(``otlp`` is OTLP over HTTP with protobuf, ``console`` writes to standard output).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from importlib.metadata import entry_points
from typing import Any, Final

from opentelemetry import trace

from ai_gateway.application.tracing import LOGGED, work_fields

DEFAULT_SERVICE_NAME: Final = "ai-gateway"
_OTLP_PROTOCOLS: Final = frozenset({"http/protobuf"})


class TracingConfigurationError(ValueError):
    """The OTEL_* variables ask for something this installation cannot do."""


def exporter_names(env: Mapping[str, str]) -> list[str]:
    """The span exporters the environment asks for; empty when tracing is off."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = env.get("OTEL_TRACES_EXPORTER")
    if named is None:
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        return ["otlp"] if endpoint else []
    names = [n.strip().lower() for n in named.split(",") if n.strip()]
    return [] if "none" in names else names


def configure_tracing(env: Mapping[str, str] | None = None) -> bool:
    """Installs the SDK's tracer provider when the environment asks for an exporter (once per
    process); True when spans are exported. Raises TracingConfigurationError for an exporter or
    protocol that cannot be had."""
    if tracing_installed():
        return True
    env = os.environ if env is None else env
    names = exporter_names(env)
    if not names:
        return False
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415 - only if on
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name, env)()))
    trace.set_tracer_provider(provider)
    return True


def check_tracing(env: Mapping[str, str]) -> None:
    """Raises TracingConfigurationError when the environment asks for an exporter or protocol
    that cannot be had, before any process starts with it."""
    for name in exporter_names(env):
        _exporter(name, env)


def _exporter(name: str, env: Mapping[str, str]) -> Any:
    if name == "otlp":
        protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
        )
        if protocol not in _OTLP_PROTOCOLS:
            raise TracingConfigurationError(
                f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol} is not supported; use http/protobuf"
            )
        name = "otlp_proto_http"
    found = entry_points(group="opentelemetry_traces_exporter", name=name)
    if not found:
        raise TracingConfigurationError(f"OTEL_TRACES_EXPORTER: no span exporter named {name!r}")
    return next(iter(found)).load()


def tracing_installed() -> bool:
    """Whether this process exports spans (an SDK provider is installed)."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, trace.NoOpTracerProvider | trace.ProxyTracerProvider)


def trace_fields(
    _logger: object, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A log processor: the current span's trace and span ids, and what is known of the work in
    hand (prompt id, request id, caller, step), on every log line."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", trace.format_trace_id(context.trace_id))
        event.setdefault("span_id", trace.format_span_id(context.span_id))
    fields = work_fields.get()
    for name in LOGGED:
        if name in fields:
            event.setdefault(name, fields[name])
    return event

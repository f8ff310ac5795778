"""An OTLP/HTTP trace receiver: the protocol a collector speaks, decoded with opentelemetry-proto.

The gateway's exporter POSTs ``ExportTraceServiceRequest`` protobufs to ``/v1/traces``; each span
is kept with the service that sent it, and the request is answered 200 as a collector would.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from tests.http_servers import Hit, RecordingServer, Reply

PATH = "/v1/traces"


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    links: tuple[str, ...]  # the trace ids of the linked spans


def _values(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        kind = pair.value.WhichOneof("value")
        values[pair.key] = getattr(pair.value, kind) if kind else None
    return values


class OtlpReceiver:
    def __init__(self) -> None:
        self.server = RecordingServer()
        self.server.routes[PATH] = self._export
        self.spans: list[ReceivedSpan] = []

    @property
    def endpoint(self) -> str:
        return self.server.url("")

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def _export(self, hit: Hit) -> Reply:
        headers = {name.lower(): value for name, value in hit.headers.items()}
        body = gzip.decompress(hit.body) if headers.get("content-encoding") == "gzip" else hit.body
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = str(_values(resource_spans.resource.attributes).get("service.name"))
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(
                    ReceivedSpan(
                        service=service,
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(),
                        attributes=_values(span.attributes),
                        links=tuple(link.trace_id.hex() for link in span.links),
                    )
                    for span in scope_spans.spans
                )
        answer = ExportTraceServiceResponse().SerializeToString()
        return Reply(200, answer, headers={"Content-Type": "application/x-protobuf"})

    def named(self, name: str) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.name == name]

    def of_prompt(self, prompt_id: str) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.attributes.get("ai_gateway.prompt.id") == prompt_id]

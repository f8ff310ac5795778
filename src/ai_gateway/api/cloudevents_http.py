"""Reading CloudEvents from an HTTP request: structured, binary and batch modes.

Required attributes (``specversion`` 1.0, ``id``, ``source``, ``type``) are checked on what the
sender wrote, before the SDK parses it: the SDK would make up a missing ``id``, and an event
without one cannot be de-duplicated. The data is checked as strict JSON (``strict_json``) whenever
the SDK would read it as JSON, which in binary mode depends on ``ce-datacontenttype`` as much as
on the request's own content type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cloudevents.core.bindings import http as ce_http
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from ai_gateway.api import strict_json
from ai_gateway.application.ports.events import InboundEvent
from ai_gateway.json_values import MalformedJson

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
REQUIRED = ("specversion", "id", "source", "type")
MAX_BATCH = 100

_FORMAT = JSONFormat()


class MalformedEvents(ValueError):
    """The request holds no valid CloudEvent (400)."""


class RefusedJson(MalformedEvents):
    """The events are JSON this gateway refuses: too deep, NaN, Infinity (400 malformed-json)."""


class UnsupportedEventMode(ValueError):
    """The content type is none of the CloudEvents modes (415)."""


def read_events(headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
    lowered = {k.lower(): v for k, v in headers.items()}
    media = lowered.get("content-type", "").split(";", 1)[0].strip().lower()
    if any(k.startswith("ce-") for k in lowered):
        missing = [a for a in REQUIRED if not lowered.get(f"ce-{a}")]
        _refuse_missing(missing)
        if body and any(
            JSONFormat.JSON_CONTENT_TYPE_PATTERN.match(media)
            for media in _binary_data_types(lowered)
        ):
            _json(body, lenient=True)
        return [
            _inbound(
                _parse(
                    lambda: ce_http.from_binary(ce_http.HTTPMessage(dict(headers), body), _FORMAT)
                )
            )
        ]
    if media == STRUCTURED:
        return [_inbound(_one(_json(body)))]
    if media == BATCH:
        items = _json(body)
        if not isinstance(items, list) or not items:
            raise MalformedEvents("a batch is a non-empty JSON array of events")
        if len(items) > MAX_BATCH:
            raise MalformedEvents(f"a batch holds at most {MAX_BATCH} events")
        return [_inbound(_one(item)) for item in items]
    raise UnsupportedEventMode(f"send {STRUCTURED}, {BATCH}, or binary mode (ce-* headers)")


def _binary_data_types(headers: Mapping[str, str]) -> list[str]:
    named = [headers[h] for h in ("content-type", "ce-datacontenttype") if h in headers]
    return named or [JSONFormat.DEFAULT_CONTENT_TYPE]


def _json(body: bytes, *, lenient: bool = False) -> Any:
    """``body`` as strict JSON; ``lenient`` lets text that is not JSON at all through, as the SDK
    keeps such binary data as text."""
    try:
        return strict_json.loads(body)
    except MalformedJson as exc:
        if not isinstance(exc.__cause__, json.JSONDecodeError | UnicodeDecodeError):
            raise RefusedJson(str(exc)) from None
        if lenient:
            return None
        raise MalformedEvents(str(exc)) from None


def _one(item: Any) -> CloudEvent:
    if not isinstance(item, dict):
        raise MalformedEvents("an event is a JSON object")
    _refuse_missing([a for a in REQUIRED if not item.get(a)])
    return _parse(lambda: _FORMAT.read(None, json.dumps(item).encode()))


def _refuse_missing(missing: list[str]) -> None:
    if missing:
        raise MalformedEvents(f"missing required attributes: {', '.join(missing)}")


def _parse(read: Any) -> CloudEvent:
    try:
        event: CloudEvent = read()
    except (CloudEventValidationError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise MalformedEvents(f"not a valid CloudEvent: {exc}") from None
    if event.get_specversion() != "1.0":
        raise MalformedEvents("only CloudEvents 1.0 is accepted")
    return event


def _inbound(event: CloudEvent) -> InboundEvent:
    data = event.get_data()
    if isinstance(data, bytes | bytearray):
        data = data.decode("utf-8", errors="replace")
    return InboundEvent(
        id=event.get_id(),
        source=event.get_source(),
        type=event.get_type(),
        subject=event.get_subject(),
        time=event.get_time(),
        data=data,
        traceparent=_extension(event, "traceparent"),
        tracestate=_extension(event, "tracestate"),
    )


def _extension(event: CloudEvent, name: str) -> str | None:
    value = event.get_extension(name)
    return value if isinstance(value, str) and value else None

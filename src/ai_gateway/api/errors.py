"""The one mapping from errors to RFC 9457 ``application/problem+json`` answers.

Bodies never carry the rejected input, credentials or internals: validation problems list the
failing fields and why, and anything unexpected is logged here and answered with a bare 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from ai_gateway.api.cloudevents_http import MalformedEvents, RefusedJson, UnsupportedEventMode
from ai_gateway.api.rate_limit_headers import rate_limit_headers
from ai_gateway.application.errors import (
    AdmissionRefused,
    ConcurrencyConflict,
    DependencyUnavailable,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from ai_gateway.application.ports.limits import Refusal
from ai_gateway.domain.errors import InvalidPromptData, InvalidTransition, ResponseAlreadyRecorded

logger = logging.getLogger("ai_gateway.api")

PROBLEM_JSON = "application/problem+json"
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem_responses(**described: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for problem answers: ``problem_responses(_404="No such prompt")``."""
    return {
        int(code.lstrip("_")): {"content": {PROBLEM_JSON: {}}, "description": text}
        for code, text in described.items()
    }


def problem(
    status: int,
    kind: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"urn:ai-gateway:problem:{kind}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    return [{"field": ".".join(str(p) for p in e["loc"]), "message": str(e["msg"])} for e in errors]


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem(
        422, "validation", "the request is not valid", errors=_field_errors(exc.errors())
    )


async def _application_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationFailed)
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    return problem(422, "validation", "the request is not valid", errors=errors)


async def _invalid_data(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidPromptData)
    errors = [{"field": exc.field, "message": exc.message}]
    return problem(422, "validation", "the request is not valid", errors=errors)


async def _malformed_events(_: Request, exc: Exception) -> JSONResponse:
    kind = "malformed-json" if isinstance(exc, RefusedJson) else "malformed-event"
    return problem(400, kind, str(exc))


async def _unsupported_events(_: Request, exc: Exception) -> JSONResponse:
    return problem(415, "unsupported-media-type", str(exc))


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    return problem(404, "not-found", str(exc))


async def _conflict(_: Request, exc: Exception) -> JSONResponse:
    kind = "invalid-transition" if isinstance(exc, InvalidTransition) else "conflict"
    return problem(409, kind, str(exc))


async def _idempotency(_: Request, exc: Exception) -> JSONResponse:
    return problem(422, "idempotency-key-reused", str(exc))


async def _unauthenticated(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unauthenticated)
    return problem(401, "unauthenticated", str(exc), headers={"WWW-Authenticate": exc.scheme})


async def _forbidden(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Forbidden)
    challenge = 'Bearer realm="ai-gateway", error="insufficient_scope"'
    if exc.required_scope:
        challenge += f', scope="{exc.required_scope}"'
    return problem(403, "forbidden", str(exc), headers={"WWW-Authenticate": challenge})


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DependencyUnavailable)
    logger.warning("dependency unavailable: %s", exc.dependency, exc_info=exc.__cause__)
    return problem(503, "unavailable", str(exc), headers={"Retry-After": "5"})


async def _refused(_: Request, exc: Exception) -> JSONResponse:
    """429 for a caller's own limit, 503 for the gateway's full backlog; nothing was stored."""
    assert isinstance(exc, AdmissionRefused)
    headers = {"Retry-After": str(exc.retry_after), **rate_limit_headers(exc.standing)}
    status = 503 if exc.reason is Refusal.BACKLOG else 429
    extra = {}
    if exc.standing is not None and exc.reason is Refusal.BUDGET:
        extra = {"tokens_per_day": exc.standing.limits.tokens_per_day}
    return problem(status, exc.reason.value, str(exc), headers=headers, **extra)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    kind = {404: "not-found", 413: "too-large"}.get(exc.status_code, "http")
    headers = None if exc.headers is None else dict(exc.headers)
    return problem(exc.status_code, kind, detail, headers=headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal", "the gateway failed to handle this request")


def install_error_handlers(app: FastAPI) -> None:
    handlers = {
        RequestValidationError: _validation,
        ValidationFailed: _application_validation,
        InvalidPromptData: _invalid_data,
        NotFound: _not_found,
        MalformedEvents: _malformed_events,
        UnsupportedEventMode: _unsupported_events,
        ConcurrencyConflict: _conflict,
        InvalidTransition: _conflict,
        ResponseAlreadyRecorded: _conflict,
        IdempotencyKeyReused: _idempotency,
        Unauthenticated: _unauthenticated,
        Forbidden: _forbidden,
        DependencyUnavailable: _unavailable,
        AdmissionRefused: _refused,
        StarletteHTTPException: _http,
        Exception: _unexpected,
    }
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)

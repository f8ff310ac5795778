"""How a GenAI service is called over HTTP, and how its answer or failure becomes a step failure.

Every call has one deadline for the whole exchange (the client's read timeout, so a trickling body
cannot hold a worker), a byte cap on the answer, and a body that is strict JSON: a NaN or an
infinity in a prompt's context is refused here, with its own code, instead of escaping the step.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping

import httpx

from ai_gateway.application.errors import PermanentFailure, TransientFailure
from ai_gateway.integration.genai.rate_limits import rate_limit_wait
from ai_gateway.integration.retry_after import retry_after
from ai_gateway.json_values import finite, no_constant

logger = logging.getLogger("ai_gateway.genai")

MAX_ANSWER_BYTES = 16 * 1024 * 1024
_DEFAULT_DEADLINE = 120.0
_FRAMING = {b"content-encoding", b"content-length", b"transfer-encoding"}


async def post_json(
    http: httpx.AsyncClient, url: str, body: object, headers: Mapping[str, str]
) -> httpx.Response:
    """POSTs ``body`` as JSON; the response is read in full (at most MAX_ANSWER_BYTES)."""
    try:
        content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
    except ValueError as exc:
        raise PermanentFailure(
            "genai_invalid_request", f"the prompt cannot be sent as JSON: {exc}"
        ) from None
    deadline = http.timeout.read or _DEFAULT_DEADLINE
    request = http.build_request(
        "POST", url, content=content, headers={**headers, "Content-Type": "application/json"}
    )
    try:
        async with asyncio.timeout(deadline):
            # A redirect would carry the key or token elsewhere: the configured URL is the target.
            response = await http.send(request, stream=True, follow_redirects=False)
            try:
                chunks, received = [], 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > MAX_ANSWER_BYTES:
                        raise PermanentFailure(
                            "genai_invalid_answer", f"the answer is over {MAX_ANSWER_BYTES} bytes"
                        )
                    chunks.append(chunk)
            finally:
                await response.aclose()
    except TimeoutError:
        raise TransientFailure(
            "genai_unavailable", f"the GenAI service did not answer within {deadline:g} s"
        ) from None
    except httpx.HTTPError as exc:
        raise transport_failure(exc) from exc
    # The body is decoded already: it must not be decoded again by the copy. The headers are
    # copied as received bytes: a value that is not ASCII (a Retry-After of "\xb2") cannot be
    # encoded again as text.
    headers_kept = [
        (name, value) for name, value in response.headers.raw if name.lower() not in _FRAMING
    ]
    return httpx.Response(
        response.status_code, headers=headers_kept, content=b"".join(chunks), request=request
    )


def raise_for_answer(response: httpx.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    if status < 400:  # a redirect: never followed with the gateway's credential
        raise PermanentFailure(
            "genai_redirected",
            f"the GenAI service answered with a redirect (HTTP {status}); configure its final URL",
        )
    if status in {401, 408, 409, 425, 429} or status >= 500:
        wait = retry_after(response)
        if wait is None and status == 429:  # a rate limit may say when it resets instead
            wait = rate_limit_wait(response)
        raise TransientFailure(
            "genai_unavailable", f"the GenAI service answered HTTP {status}", retry_after=wait
        )
    raise PermanentFailure(
        "genai_rejected", f"the GenAI service refused the prompt (HTTP {status})"
    )


def transport_failure(exc: httpx.HTTPError) -> TransientFailure:
    if isinstance(exc, httpx.TimeoutException):
        return TransientFailure("genai_unavailable", "the GenAI service did not answer in time")
    # the exception names the service's internal host and resolver: for the log, not the caller
    logger.warning("the GenAI service could not be reached: %s", exc)
    return TransientFailure(
        "genai_unavailable", "the GenAI service could not be reached; the gateway tries again later"
    )


def answer_json(response: httpx.Response) -> object:
    """The answer's body as strict JSON: NaN, Infinity and numbers that overflow a float are not
    JSON, and a service that sends them gets no further than one that sends HTML.

    Raises ValueError (or RecursionError for absurd nesting)."""
    return json.loads(response.content, parse_constant=no_constant, parse_float=finite)

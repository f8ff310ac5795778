"""How a GenAI service's HTTP answer or failure becomes a step failure."""

from __future__ import annotations

import httpx

from ai_gateway.application.errors import PermanentFailure, TransientFailure
from ai_gateway.integration.retry_after import retry_after


def raise_for_answer(response: httpx.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    if status in {401, 408, 409, 425, 429} or status >= 500:
        raise TransientFailure(
            "genai_unavailable",
            f"the GenAI service answered HTTP {status}",
            retry_after=retry_after(response),
        )
    raise PermanentFailure(
        "genai_rejected", f"the GenAI service refused the prompt (HTTP {status})"
    )


def transport_failure(exc: httpx.HTTPError) -> TransientFailure:
    if isinstance(exc, httpx.TimeoutException):
        return TransientFailure("genai_unavailable", "the GenAI service did not answer in time")
    return TransientFailure("genai_unavailable", f"the GenAI service could not be reached: {exc}")

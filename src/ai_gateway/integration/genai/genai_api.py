"""The seed's asynchronous GenAI Prompt API: the prompt is handed over, the answer comes back later
(``POST /api/internal/prompts/{id}/response`` or a CloudEvent), authenticated with OAuth2."""

from __future__ import annotations

import httpx

from ai_gateway.application.ports.genai import GenAiAnswer, GenAiRequest
from ai_gateway.application.ports.identity import TokenSource
from ai_gateway.integration.genai.http_errors import post_json, raise_for_answer


class GenAiApiProvider:
    name = "genai-api"

    def __init__(
        self, http: httpx.AsyncClient, *, url: str, tokens: TokenSource, answer_url: str
    ) -> None:
        """``answer_url``: where the service posts its answer, with ``{prompt_id}`` in it."""
        self._http = http
        self._url = url
        self._tokens = tokens
        self._answer_url = answer_url

    async def submit(self, request: GenAiRequest) -> GenAiAnswer | None:
        body = {
            "prompt_id": request.prompt_id,
            "kind": request.kind,
            "prompt": request.prompt,
            "context": request.context,
            "data_links": list(request.data_links),
            "answer_url": self._answer_url.format(prompt_id=request.prompt_id),
        }
        headers = {
            "Authorization": f"Bearer {await self._tokens.token()}",
            "Idempotency-Key": request.prompt_id,
        }
        response = await post_json(self._http, self._url, body, headers)
        if response.status_code == 401:
            self._tokens.invalidate()  # a revoked or rotated token: the retry fetches a new one
        raise_for_answer(response)
        return None  # the answer arrives later, posted back to the gateway

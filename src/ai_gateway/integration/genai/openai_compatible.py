"""Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, LiteLLM, ...)."""

from __future__ import annotations

import httpx

from ai_gateway.application.errors import PermanentFailure
from ai_gateway.application.ports.genai import GenAiAnswer, GenAiRequest
from ai_gateway.domain.values import JsonObject, TokenUsage
from ai_gateway.integration.genai.http_errors import answer_json, post_json, raise_for_answer


class OpenAiCompatibleProvider:
    name = "openai"

    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str, api_key: str | None, model: str
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._model = model

    def __repr__(self) -> str:
        return f"OpenAiCompatibleProvider(url={self._url!r}, model={self._model!r})"

    async def submit(self, request: GenAiRequest) -> GenAiAnswer:
        body = {
            "model": self._model,
            "messages": [{"role": "user", "content": request.prompt}],
            "user": request.prompt_id,
        }
        headers = {**self._headers, "Idempotency-Key": request.prompt_id}
        response = await post_json(self._http, self._url, body, headers)
        raise_for_answer(response)
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> GenAiAnswer:
        try:
            data = answer_json(response)
            if not isinstance(data, dict):
                raise TypeError("the answer is not a JSON object")
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
            raise PermanentFailure(
                "genai_invalid_answer", "the answer has no choices[0].message.content"
            ) from exc
        if not isinstance(content, str):
            raise PermanentFailure("genai_invalid_answer", "the answer's content is not text")
        model = data.get("model")
        metadata: JsonObject = {
            "provider": self.name,
            "model": model if isinstance(model, str) else self._model,
        }
        usage = data.get("usage")
        if isinstance(usage, dict):
            metadata["usage"] = {k: v for k, v in usage.items() if isinstance(v, int)}
        if isinstance(data.get("id"), str):
            metadata["completion_id"] = data["id"]
        return GenAiAnswer(content=content, metadata=metadata, usage=TokenUsage.read(usage))

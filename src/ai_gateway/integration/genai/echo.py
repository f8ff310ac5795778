"""The built-in provider: answers at once, deterministically, with what it was asked.

Its token usage is deterministic too: one token per four characters begun (about the size of an
English token), of the rendered prompt for the input and of the answer for the output.
"""

from __future__ import annotations

from ai_gateway.application.ports.genai import GenAiAnswer, GenAiRequest
from ai_gateway.domain.values import TokenUsage

CHARACTERS_PER_TOKEN = 4


def echo_tokens(text: str) -> int:
    return -(-len(text) // CHARACTERS_PER_TOKEN)


class EchoProvider:
    name = "echo"

    async def submit(self, request: GenAiRequest) -> GenAiAnswer:
        content = f"[echo] {request.prompt}"
        return GenAiAnswer(
            content=content,
            metadata={
                "provider": self.name,
                "characters": len(request.prompt),
                "data_links": len(request.data_links),
            },
            usage=TokenUsage.of(echo_tokens(request.prompt), echo_tokens(content)),
        )

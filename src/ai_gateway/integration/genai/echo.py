"""The built-in provider: answers at once, deterministically, with what it was asked."""

from __future__ import annotations

from ai_gateway.application.ports.genai import GenAiAnswer, GenAiRequest


class EchoProvider:
    name = "echo"

    async def submit(self, request: GenAiRequest) -> GenAiAnswer:
        return GenAiAnswer(
            content=f"[echo] {request.prompt}",
            metadata={
                "provider": self.name,
                "characters": len(request.prompt),
                "data_links": len(request.data_links),
            },
        )

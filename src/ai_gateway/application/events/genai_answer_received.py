"""A GenAI answer delivered as a CloudEvent: recorded exactly as the internal endpoint records it.

The prompt id is the event's ``subject``, or ``data.prompt_id``; ``data.content`` is the answer,
``data.metadata`` (an object) goes with it, and ``data.usage`` (``input_tokens``, ``output_tokens``,
``total_tokens``) tells what it cost. The event's sender must be the GenAI service, as for
the endpoint.
"""

from __future__ import annotations

from ai_gateway.application.commands.record_response import RecordPromptResponse
from ai_gateway.application.errors import FieldError, ValidationFailed
from ai_gateway.application.mediator import Mediator
from ai_gateway.application.ports.events import InboundEvent
from ai_gateway.domain.values import TokenUsage


class GenAiAnswerReceived:
    def __init__(self, event_type: str, mediator: Mediator) -> None:
        self.event_type = event_type
        self._mediator = mediator

    async def handle(self, event: InboundEvent) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        prompt_id = event.subject or data.get("prompt_id")
        content, metadata = data.get("content"), data.get("metadata", {})
        if (
            not isinstance(prompt_id, str)
            or not isinstance(content, str)
            or not isinstance(metadata, dict)
        ):
            raise ValidationFailed(
                [FieldError("data", "needs a prompt id (subject), content and metadata")]
            )
        await self._mediator.send(
            RecordPromptResponse(
                prompt_id=prompt_id,
                content=content,
                metadata=metadata,
                answerer=event.sender,
                usage=TokenUsage.read(data.get("usage")),
            )
        )

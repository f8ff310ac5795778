"""Create an item-review prompt: the Mosaic item fields become the prompt's context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ai_gateway.application.commands.create_prompt import CreatedPrompt, CreatePrompt
from ai_gateway.application.errors import FieldError
from ai_gateway.application.mediator import Command, Mediator
from ai_gateway.application.principal import Principal
from ai_gateway.domain.item_review import ItemReview
from ai_gateway.domain.limits import Priority
from ai_gateway.domain.prompt import ITEM_KIND


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateItemPrompt(Command[CreatedPrompt]):
    principal: Principal
    item: ItemReview
    content: str = ""
    callback_url: str | None = None
    item_url: str | None = None
    request_id: str | None = None
    priority: Priority | None = None
    idempotency_key: str | None = None

    def to_prompt(self) -> CreatePrompt:
        return CreatePrompt(
            principal=self.principal,
            content=self.content,
            kind=ITEM_KIND,
            context=self.item.as_context(),
            callback_url=self.callback_url,
            data_url=self.item_url,
            request_id=self.request_id,
            priority=self.priority,
            idempotency_key=self.idempotency_key,
        )

    def validate(self) -> Sequence[FieldError]:
        return self.to_prompt().validate()


class CreateItemPromptHandler:
    """An item prompt is a prompt of the item kind: it is created as any other, by CreatePrompt."""

    def __init__(self, mediator: Mediator) -> None:
        self._mediator = mediator

    async def handle(self, command: CreateItemPrompt) -> CreatedPrompt:
        return await self._mediator.send(command.to_prompt())

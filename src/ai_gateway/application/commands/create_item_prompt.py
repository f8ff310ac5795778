"""Create an item-review prompt: the Mosaic item fields become the prompt's context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ai_gateway.application.commands.create_prompt import (
    CreatedPrompt,
    CreatePrompt,
    CreatePromptHandler,
)
from ai_gateway.application.errors import FieldError
from ai_gateway.application.mediator import Command
from ai_gateway.application.principal import Principal
from ai_gateway.domain.prompt import ITEM_KIND
from ai_gateway.domain.values import JsonObject

REVIEW_FLAGS = (
    "improve_stem",
    "review_bp_mapping",
    "review_technical_accuracy",
    "improve_options",
    "suggest_alternate_options",
    "review_grammar",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemReview:
    """The item under review and what the author wants reviewed."""

    form_qualified_name: str | None = None
    form_id: str | None = None
    module_id: str | None = None
    item_id: str | None = None
    item_bp: str | None = None
    user_id: str | None = None
    additional_context_input: str | None = None
    improve_stem: bool = True
    review_bp_mapping: bool = True
    review_technical_accuracy: bool = True
    improve_options: bool = True
    suggest_alternate_options: bool = True
    review_grammar: bool = True

    def as_context(self) -> JsonObject:
        flags: JsonObject = {name: getattr(self, name) for name in REVIEW_FLAGS}
        return {
            "prompt_context": "item",
            "form_qualified_name": self.form_qualified_name,
            "form_id": self.form_id,
            "module_id": self.module_id,
            "item_id": self.item_id,
            "item_bp": self.item_bp,
            "user_id": self.user_id,
            "additional_context_input": self.additional_context_input,
            "flags": flags,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateItemPrompt(Command[CreatedPrompt]):
    principal: Principal
    item: ItemReview
    content: str = ""
    callback_url: str | None = None
    item_url: str | None = None
    request_id: str | None = None
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
            idempotency_key=self.idempotency_key,
        )

    def validate(self) -> Sequence[FieldError]:
        return self.to_prompt().validate()


class CreateItemPromptHandler:
    def __init__(self, create: CreatePromptHandler) -> None:
        self._create = create

    async def handle(self, command: CreateItemPrompt) -> CreatedPrompt:
        return await self._create.handle(command.to_prompt())

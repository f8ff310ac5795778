"""List the caller's prompts (every caller's, or one ``caller``'s, for an admin), newest first,
by cursor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ai_gateway.application.errors import FieldError, ValidationFailed
from ai_gateway.application.mediator import Query
from ai_gateway.application.ports.prompts import InvalidCursor, Page, PromptFilter, PromptRepository
from ai_gateway.application.principal import Principal
from ai_gateway.domain.prompt import Prompt, PromptStatus

MAX_LIMIT = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class ListPrompts(Query[Page[Prompt]]):
    principal: Principal
    status: PromptStatus | None = None
    kind: str | None = None
    request_id: str | None = None
    limit: int = 20
    cursor: str | None = None
    caller: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    def validate(self) -> Sequence[FieldError]:
        errors = []
        if not 1 <= self.limit <= MAX_LIMIT:
            errors.append(FieldError("limit", f"must be between 1 and {MAX_LIMIT}"))
        if self.caller is not None and not self.principal.is_admin:
            errors.append(FieldError("caller", "only an admin may list another caller's prompts"))
        if self.created_after and self.created_before and self.created_after >= self.created_before:
            errors.append(FieldError("created_before", "must be after created_after"))
        return errors


class ListPromptsHandler:
    def __init__(self, prompts: PromptRepository) -> None:
        self._prompts = prompts

    async def handle(self, query: ListPrompts) -> Page[Prompt]:
        owner = query.caller if query.principal.is_admin else query.principal.owner
        criteria = PromptFilter(
            owner,
            query.status,
            query.kind,
            query.request_id,
            query.created_after,
            query.created_before,
        )
        try:
            return await self._prompts.list(criteria, query.limit, query.cursor)
        except InvalidCursor:
            raise ValidationFailed(
                [FieldError("cursor", "is not a cursor this API issued")]
            ) from None

"""Listing helpers of the prompt store: what an index does not filter, and opaque cursors."""

from __future__ import annotations

import base64
import binascii

from ai_gateway.application.ports.prompts import InvalidCursor, PromptFilter
from ai_gateway.domain.prompt import Prompt, PromptStatus, is_prompt_id


class Residual:
    """What the index does not cover: status, kind and the creation period."""

    __slots__ = ("criteria", "kind", "status")

    def __init__(
        self,
        criteria: PromptFilter,
        *,
        status: PromptStatus | None = None,
        kind: str | None = None,
    ) -> None:
        self.criteria = criteria
        self.status = status
        self.kind = kind

    @property
    def is_trivial(self) -> bool:
        period = self.criteria.created_after, self.criteria.created_before
        return self.status is None and self.kind is None and period == (None, None)

    def __call__(self, prompt: Prompt) -> bool:
        return (
            (self.status is None or prompt.status is self.status)
            and (self.kind is None or prompt.kind == self.kind)
            and self.criteria.in_period(prompt)
        )


def encode_cursor(member: str) -> str:
    return base64.urlsafe_b64encode(member.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        member = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(cursor) from None
    stamp, sep, prompt_id = member.partition(":")
    if not (sep and len(stamp) == 16 and stamp.isdigit() and is_prompt_id(prompt_id)):
        raise InvalidCursor(cursor)
    return member

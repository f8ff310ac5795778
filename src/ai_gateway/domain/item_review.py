"""The item review: the exam item a ``mosaic_item`` prompt is about, and the reviews asked for.

``ReviewFlag`` is the one list of reviews an author can ask for; the API's body, the prompt's
context and the prompt template all follow it. The context keeps the shape the original sample
stored: the item's fields, then ``flags`` with every review by name, true or false.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, Final

from ai_gateway.domain.values import JsonObject, JsonValue

ITEM_CONTEXT: Final = "item"


class ReviewFlag(StrEnum):
    IMPROVE_STEM = "improve_stem"
    REVIEW_BP_MAPPING = "review_bp_mapping"
    REVIEW_TECHNICAL_ACCURACY = "review_technical_accuracy"
    IMPROVE_OPTIONS = "improve_options"
    SUGGEST_ALTERNATE_OPTIONS = "suggest_alternate_options"
    REVIEW_GRAMMAR = "review_grammar"


ALL_REVIEWS: Final = frozenset(ReviewFlag)


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemReview:
    """The item under review and what the author wants reviewed (every review unless told)."""

    form_qualified_name: str | None = None
    form_id: str | None = None
    module_id: str | None = None
    item_id: str | None = None
    item_bp: str | None = None
    user_id: str | None = None
    additional_context_input: str | None = None
    reviews: frozenset[ReviewFlag] = ALL_REVIEWS

    def as_context(self) -> JsonObject:
        flags: JsonObject = {flag.value: flag in self.reviews for flag in ReviewFlag}
        item: JsonObject = {name: getattr(self, name) for name in ITEM_FIELDS}
        return {"prompt_context": ITEM_CONTEXT, **item, "flags": flags}

    @classmethod
    def from_context(cls, context: JsonObject) -> ItemReview:
        """Read back from a prompt's context, which any caller may have written: what is not a
        text is absent, and a review is asked for when its flag is set."""
        flags = context.get("flags")
        item: dict[str, Any] = {name: _text(context.get(name)) for name in ITEM_FIELDS}
        asked = flags if isinstance(flags, dict) else {}
        return cls(**item, reviews=frozenset(f for f in ReviewFlag if asked.get(f.value)))


def _text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None


ITEM_FIELDS: Final = tuple(f.name for f in fields(ItemReview) if f.name != "reviews")
"""The item's own fields, in the order the context keeps them."""

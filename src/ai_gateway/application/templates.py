"""Prompts rendered per kind: what the GenAI service is actually asked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from ai_gateway.domain.item_review import ItemReview, ReviewFlag
from ai_gateway.domain.prompt import ITEM_KIND, Prompt

R = ReviewFlag

REVIEW_INSTRUCTIONS: Final[Mapping[ReviewFlag, str]] = {
    R.IMPROVE_STEM: "Improve the stem: make the question clear, precise and unambiguous.",
    R.REVIEW_BP_MAPPING: "Check that the item measures the blueprint topic it is mapped to.",
    R.REVIEW_TECHNICAL_ACCURACY: "Check the technical accuracy of the stem, options and key.",
    R.IMPROVE_OPTIONS: "Improve the answer options: plausible distractors, one defensible key.",
    R.SUGGEST_ALTERNATE_OPTIONS: "Suggest alternate answer options.",
    R.REVIEW_GRAMMAR: "Review grammar, spelling and style.",
}


def _text(value: str | None) -> str | None:
    return value if value and value.strip() else None


def render_item_review(prompt: Prompt) -> str:
    """The item-review prompt: the item's coordinates, the requested reviews, the author's notes."""
    item = ItemReview.from_context(prompt.context)
    lines = ["You are an expert reviewer of certification exam items."]
    facts = [
        ("Exam form", _text(item.form_qualified_name)),
        ("Form id", _text(item.form_id)),
        ("Module id", _text(item.module_id)),
        ("Item id", _text(item.item_id)),
        ("Blueprint topic", _text(item.item_bp)),
    ]
    lines += [f"{label}: {value}" for label, value in facts if value]
    wanted = [REVIEW_INSTRUCTIONS[flag] for flag in ReviewFlag if flag in item.reviews]
    if wanted:
        lines.append("Please do the following:")
        lines += [f"{n}. {text}" for n, text in enumerate(wanted, 1)]
    if notes := _text(item.additional_context_input):
        lines.append(f"Additional context from the author: {notes}")
    if prompt.data_url:
        lines.append("The item's data package is attached.")
    if prompt.content.strip():
        lines.append(prompt.content.strip())
    return "\n".join(lines)


def render_content(prompt: Prompt) -> str:
    return prompt.content


TEMPLATES: dict[str, Callable[[Prompt], str]] = {ITEM_KIND: render_item_review}


def render(prompt: Prompt) -> str:
    """The text sent to the GenAI service: the kind's template, or the content as it is."""
    return TEMPLATES.get(prompt.kind, render_content)(prompt)

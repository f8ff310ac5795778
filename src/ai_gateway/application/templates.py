"""Prompts rendered per kind: what the GenAI service is actually asked."""

from __future__ import annotations

from collections.abc import Callable

from ai_gateway.domain.prompt import ITEM_KIND, Prompt
from ai_gateway.domain.values import JsonValue

REVIEW_INSTRUCTIONS = {
    "improve_stem": "Improve the stem: make the question clear, precise and unambiguous.",
    "review_bp_mapping": "Check that the item measures the blueprint topic it is mapped to.",
    "review_technical_accuracy": "Check the technical accuracy of the stem, options and key.",
    "improve_options": "Improve the answer options: plausible distractors, one defensible key.",
    "suggest_alternate_options": "Suggest alternate answer options.",
    "review_grammar": "Review grammar, spelling and style.",
}


def _text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def render_item_review(prompt: Prompt) -> str:
    """The item-review prompt: the item's coordinates, the requested reviews, the author's notes."""
    c = prompt.context
    lines = ["You are an expert reviewer of certification exam items."]
    facts = [
        ("Exam form", _text(c.get("form_qualified_name"))),
        ("Form id", _text(c.get("form_id"))),
        ("Module id", _text(c.get("module_id"))),
        ("Item id", _text(c.get("item_id"))),
        ("Blueprint topic", _text(c.get("item_bp"))),
    ]
    lines += [f"{label}: {value}" for label, value in facts if value]
    flags = c.get("flags")
    wanted = [
        text
        for name, text in REVIEW_INSTRUCTIONS.items()
        if isinstance(flags, dict) and flags.get(name)
    ]
    if wanted:
        lines.append("Please do the following:")
        lines += [f"{n}. {text}" for n, text in enumerate(wanted, 1)]
    if notes := _text(c.get("additional_context_input")):
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

from __future__ import annotations

from ai_gateway.application.commands.create_item_prompt import ItemReview
from ai_gateway.application.templates import render
from ai_gateway.domain.prompt import ITEM_KIND, Prompt
from tests.factories import T0


def test_an_item_review_turns_flags_and_fields_into_instructions() -> None:
    item = ItemReview(
        form_qualified_name="Exam CCIE TEST v1 DES 1.1",
        item_id="64b7f0c2a1b2c3d4e5f60718",
        item_bp="1.0 Blueprint Domain",
        additional_context_input="Focus on distractors.",
        improve_stem=True,
        review_bp_mapping=False,
        review_technical_accuracy=False,
        improve_options=True,
        suggest_alternate_options=False,
        review_grammar=True,
    )
    prompt = Prompt.create(
        owner="o",
        content="",
        at=T0,
        kind=ITEM_KIND,
        context=item.as_context(),
        data_url="https://x/y.zip",
    )

    text = render(prompt)

    assert "Exam form: Exam CCIE TEST v1 DES 1.1" in text
    assert "Blueprint topic: 1.0 Blueprint Domain" in text
    assert "1. Improve the stem" in text
    assert "2. Improve the answer options" in text
    assert "3. Review grammar" in text
    assert "blueprint topic it is mapped to" not in text
    assert "Additional context from the author: Focus on distractors." in text
    assert "data package is attached" in text


def test_the_seeds_minimal_item_prompt_keeps_its_content() -> None:
    prompt = Prompt.create(
        owner="o",
        content="Generate a sample prompt",
        at=T0,
        kind=ITEM_KIND,
        context=ItemReview().as_context(),
    )
    assert render(prompt).endswith("Generate a sample prompt")


def test_other_kinds_are_sent_as_they_are() -> None:
    prompt = Prompt.create(owner="o", content="Summarise this.", at=T0, kind="summary")
    assert render(prompt) == "Summarise this."

from __future__ import annotations

from ai_gateway.application.templates import REVIEW_INSTRUCTIONS, render
from ai_gateway.domain.item_review import ItemReview, ReviewFlag
from ai_gateway.domain.prompt import ITEM_KIND, Prompt
from ai_gateway.domain.values import JsonObject
from tests.factories import T0


def test_an_item_review_turns_flags_and_fields_into_instructions() -> None:
    item = ItemReview(
        form_qualified_name="Exam CCIE TEST v1 DES 1.1",
        item_id="64b7f0c2a1b2c3d4e5f60718",
        item_bp="1.0 Blueprint Domain",
        additional_context_input="Focus on distractors.",
        reviews=frozenset(
            {ReviewFlag.IMPROVE_STEM, ReviewFlag.IMPROVE_OPTIONS, ReviewFlag.REVIEW_GRAMMAR}
        ),
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


def test_every_review_an_author_can_ask_for_has_its_instruction() -> None:
    assert set(REVIEW_INSTRUCTIONS) == set(ReviewFlag)
    prompt = Prompt.create(
        owner="o", content="", at=T0, kind=ITEM_KIND, context=ItemReview().as_context()
    )
    text = render(prompt)
    assert all(instruction in text for instruction in REVIEW_INSTRUCTIONS.values())


def test_an_item_review_reads_back_from_its_context() -> None:
    item = ItemReview(
        form_id="F-1",
        item_id="I-9",
        additional_context_input="Be brief.",
        reviews=frozenset({ReviewFlag.REVIEW_BP_MAPPING}),
    )
    assert ItemReview.from_context(item.as_context()) == item


def test_a_hand_written_item_context_asks_only_for_the_reviews_it_sets() -> None:
    context: JsonObject = {"item_id": 7, "flags": {"review_grammar": True, "unknown": True}}
    assert ItemReview.from_context(context) == ItemReview(
        reviews=frozenset({ReviewFlag.REVIEW_GRAMMAR})
    )

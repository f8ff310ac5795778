"""Token usage is read from whatever names a provider reports it under, and never invented."""

from __future__ import annotations

import pytest

from ai_gateway.domain.values import TokenUsage


@pytest.mark.parametrize(
    ("reply", "usage"),
    [
        ({"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}, TokenUsage(12, 3, 15)),
        ({"input_tokens": 7, "output_tokens": 2}, TokenUsage(7, 2, 9)),
        ({"total_tokens": 7}, TokenUsage(0, 0, 7)),
        # a total below its parts is not believed: the parts were counted
        ({"input_tokens": 7, "output_tokens": 2, "total_tokens": 1}, TokenUsage(7, 2, 9)),
        ({"input_tokens": -3, "output_tokens": True, "total_tokens": "9"}, None),
        ({}, None),
        (None, None),
        ([1, 2], None),
    ],
)
def test_usage_is_read_from_a_reply(reply: object, usage: TokenUsage | None) -> None:
    assert TokenUsage.read(reply) == usage


def test_usage_keeps_its_json_form() -> None:
    usage = TokenUsage.of(4, 6)
    assert usage.to_json() == {"input_tokens": 4, "output_tokens": 6, "total_tokens": 10}
    assert TokenUsage.from_json(usage.to_json()) == usage

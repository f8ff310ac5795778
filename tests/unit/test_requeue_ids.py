"""Which ids a requeue takes: those the dead letters list gives, ``job:<stream id>`` and
``delivery:<prompt id>``; anything else is refused before a dead letter is looked up."""

from __future__ import annotations

import pytest

from ai_gateway.application.commands.requeue_dead_letters import RequeueDeadLetters
from ai_gateway.application.principal import AuthMethod, Principal

OPERATOR = Principal("ops", AuthMethod.API_KEY, frozenset({"api", "admin"}), is_admin=True)


def _errors(*ids: str) -> list[str]:
    command = RequeueDeadLetters(principal=OPERATOR, ids=ids)
    return [error.message for error in command.validate()]


def test_the_listed_ids_are_taken() -> None:
    assert _errors("job:1733100000000-0", f"delivery:{'ab' * 16}") == []


@pytest.mark.parametrize(
    "dead_id",
    [
        "job:1733100000000",
        "job:1-1\n",
        "job:x-1",
        f"delivery:{'AB' * 16}",
        f"delivery:{'a' * 31}",
        f"job:{'a' * 32}",
        f"prompt:{'a' * 32}",
        "1-1",
    ],
)
def test_an_id_of_another_shape_is_refused(dead_id: str) -> None:
    assert _errors("job:1-1", dead_id) == [f"not a dead letter's id: {dead_id!r}"]


def test_between_one_and_a_hundred_ids() -> None:
    assert _errors() == ["give 1 to 100 ids"]
    assert _errors(*(f"job:{n}-0" for n in range(101))) == ["give 1 to 100 ids"]

"""Domain errors.

DomainError
 ├── InvalidTransition        a status change the transition table forbids
 ├── ResponseAlreadyRecorded  a different answer for a prompt that already has one
 └── InvalidPromptData        a value the model refuses (bad kind, bad bucket name)
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the prompt model was broken."""


class InvalidTransition(DomainError):
    """The prompt cannot move from its current status to the requested one."""

    def __init__(self, prompt_id: str, current: str, target: str) -> None:
        super().__init__(f"prompt {prompt_id} cannot go from {current} to {target}")
        self.prompt_id = prompt_id
        self.current = current
        self.target = target


class ResponseAlreadyRecorded(DomainError):
    """The prompt already holds a different answer."""

    def __init__(self, prompt_id: str) -> None:
        super().__init__(f"prompt {prompt_id} already has a different response")
        self.prompt_id = prompt_id


class InvalidPromptData(DomainError):
    """A value given to the model is not acceptable."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

"""Application errors.

ApplicationError
 ├── NotFound                 no such resource, or not visible to the caller
 ├── ConcurrencyConflict      another writer changed the prompt first
 ├── IdempotencyKeyReused     the same Idempotency-Key came with a different request
 ├── ValidationFailed         a message broke a rule the wire schema cannot express
 ├── Unauthenticated          no credentials, or credentials that do not check out
 ├── Forbidden                valid credentials that lack a permission
 └── AdmissionRefused         a caller limit, or a full backlog, refused a new prompt
DependencyUnavailable         a backing service (Redis, ...) cannot be reached: retry later
StepFailure                   a background step failed
 ├── TransientFailure         worth retrying (network, 5xx, 429 with its Retry-After)
 └── PermanentFailure         retrying cannot help: the prompt faults with ``code``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ai_gateway.application.ports.limits import Refusal, Standing


class ApplicationError(Exception):
    """A use case refused the request."""


class NotFound(ApplicationError):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident} was not found")
        self.what = what
        self.ident = ident


class ConcurrencyConflict(ApplicationError):
    def __init__(self, prompt_id: str) -> None:
        super().__init__(f"prompt {prompt_id} was changed by another writer; try again")
        self.prompt_id = prompt_id


class IdempotencyKeyReused(ApplicationError):
    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used with a different request")


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class ValidationFailed(ApplicationError):
    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = tuple(errors)


class Unauthenticated(ApplicationError):
    def __init__(self, detail: str, *, scheme: str = "ApiKey") -> None:
        super().__init__(detail)
        self.scheme = scheme


class Forbidden(ApplicationError):
    def __init__(self, detail: str, *, required_scope: str | None = None) -> None:
        super().__init__(detail)
        self.required_scope = required_scope


class DependencyUnavailable(Exception):
    """A backing service did not answer; the request may succeed later."""

    def __init__(self, dependency: str) -> None:
        super().__init__(f"{dependency} is unavailable")
        self.dependency = dependency


class StepFailure(Exception):
    """A background step failed; ``detail`` is safe to show the prompt's owner."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class TransientFailure(StepFailure):
    def __init__(self, code: str, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(code, detail)
        self.retry_after = retry_after


class PermanentFailure(StepFailure):
    pass


class AdmissionRefused(ApplicationError):
    """A creation refused by a caller limit or a full backlog; nothing was written."""

    def __init__(
        self, reason: Refusal, detail: str, *, retry_after: int, standing: Standing | None = None
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.retry_after = retry_after
        self.standing = standing

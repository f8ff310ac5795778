"""API keys: a key that matched is remembered, one that did not is checked in full every time
(ADR 0037)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from ai_gateway.api.auth.api_keys import ApiKeyAuthenticator
from ai_gateway.application.principal import AuthMethod

ADA = "ada-key-0123456789abcdef"
ADA_NEXT = "ada-key-rotated-0123456789"
OPS = "ops-key-0123456789abcdef"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


CONFIGURED = [
    ("ada", digest(ADA), frozenset({"api"})),
    ("ada", digest(ADA_NEXT), frozenset({"api"})),
    ("ops", digest(OPS), frozenset({"api", "admin"})),
]
WRONG = [ADA[:-1], ADA + "f", ADA.upper(), " " + ADA, "", digest(ADA), "ada-key-0123456789abcdeF"]


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every key whose SHA-256 is computed while the test runs."""
    seen: list[bytes] = []
    real: Callable[..., Any] = hashlib.sha256

    def counting(data: bytes) -> Any:
        seen.append(data)
        return real(data)

    monkeypatch.setattr(hashlib, "sha256", counting)
    return seen


def authenticator() -> ApiKeyAuthenticator:
    return ApiKeyAuthenticator(CONFIGURED, admin_scope="admin")


def test_a_key_that_matched_is_checked_once_and_names_the_same_caller(
    checks: list[bytes],
) -> None:
    keys = authenticator()
    first = keys.authenticate(ADA)
    assert first is not None
    assert (first.subject, first.method, first.is_admin) == ("ada", AuthMethod.API_KEY, False)
    for _ in range(3):
        assert keys.authenticate(ADA) is first
    ops = keys.authenticate(OPS)
    assert ops is not None
    assert (ops.subject, ops.is_admin) == ("ops", True)
    assert keys.authenticate(OPS) is ops
    assert checks == [ADA.encode(), OPS.encode()]


def test_a_rotated_key_is_remembered_on_its_own_for_the_same_name(checks: list[bytes]) -> None:
    keys = authenticator()
    old, new = keys.authenticate(ADA), keys.authenticate(ADA_NEXT)
    assert old is not None
    assert new is not None
    assert old.subject == new.subject == "ada"
    assert keys.authenticate(ADA_NEXT) is new
    assert checks == [ADA.encode(), ADA_NEXT.encode()]


@pytest.mark.parametrize("wrong", WRONG)
def test_a_key_that_did_not_match_is_refused_and_checked_in_full_every_time(
    checks: list[bytes], wrong: str
) -> None:
    keys = authenticator()
    assert keys.authenticate(ADA) is not None  # a real key remembered beside it
    for _ in range(3):
        assert keys.authenticate(wrong) is None
    assert checks == [ADA.encode()] + [wrong.encode()] * 3


def test_what_is_remembered_is_a_tag_that_only_its_own_process_can_make() -> None:
    """Neither the key nor its digest is kept, and two processes remember one key under tags
    that have nothing in common."""
    one, other = authenticator(), authenticator()
    for keys in (one, other):
        assert keys.authenticate(ADA) is not None
    remembered = set(one._matched) | set(other._matched)
    assert len(remembered) == 2
    assert ADA.encode() not in remembered
    assert hashlib.sha256(ADA.encode()).digest() not in remembered
    assert hashlib.blake2b(ADA.encode()).digest() not in remembered  # an unkeyed tag

"""Tokens and their refusals for the bearer JWT tests."""

from __future__ import annotations

import base64

import httpx

from tests.api.conftest import assert_problem


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assert_invalid_token(response: httpx.Response, detail: str) -> None:
    problem = assert_problem(response, 401, "unauthenticated")
    assert detail in problem["detail"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="ai-gateway", error="invalid_token"')

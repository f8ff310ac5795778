"""PROVIDER_LIMITS and PROVIDER_FALLBACKS, read once into typed values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ai_gateway.bootstrap.storage import provider_quotas
from ai_gateway.integration.redis_pacing import ProviderQuota
from ai_gateway.settings import Settings
from ai_gateway.settings.values import ProviderLimit, Rate, parse_rate


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("GENAI_PROVIDER", "PROVIDER_LIMITS", "PROVIDER_FALLBACKS", "OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("120/minute", Rate(120, 60)),
        ("10/second", Rate(10, 1)),
        ("100000/day", Rate(100000, 86400)),
    ],
)
def test_a_rate_is_a_count_per_period(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize(
    "text", ["0/second", "ten/second", "5/fortnight", "5", "-1/day", "1.5/hour"]
)
def test_a_malformed_rate_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="a rate is"):
        parse_rate(text)


def test_provider_limits_are_read_per_provider_and_per_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GENAI_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://llm.internal/v1")
    monkeypatch.setenv("OPENAI_MODEL", "big")
    monkeypatch.setenv("PROVIDER_FALLBACKS", "echo")
    monkeypatch.setenv("PROVIDER_LIMITS", """{
        "openai": {"requests": "120/minute"},
        "openai:big": {"requests": "10/second", "tokens": "90000/minute", "concurrency": 4},
        "echo": {}
    }""")  # fmt: skip

    settings = Settings()

    assert settings.providers == ("openai", "echo")
    assert settings.provider_limit("openai", "small") == ProviderLimit(requests=Rate(120, 60))
    assert settings.provider_limit("genai-api") is None
    assert provider_quotas(settings) == {
        "openai": ProviderQuota(requests=10, tokens=90000, token_seconds=60, concurrency=4),
        "echo": ProviderQuota(),
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PROVIDER_LIMITS", '{"claude": {"requests": "1/second"}}'),
        ("PROVIDER_LIMITS", '{"openai": {"requests": 5}}'),
        ("PROVIDER_LIMITS", '{"openai": {"rpm": "5/minute"}}'),
        ("PROVIDER_LIMITS", '{"openai": {"concurrency": 0}}'),
        ("PROVIDER_LIMITS", '["openai"]'),
        ("PROVIDER_FALLBACKS", "echo,claude"),
        ("PROVIDER_FALLBACKS", "echo,echo"),
    ],
)
def test_malformed_pacing_settings_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name):
        Settings()


def test_a_fallback_needs_its_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVIDER_FALLBACKS", "openai")
    with pytest.raises(ValidationError, match="OPENAI_BASE_URL"):
        Settings()

"""PROVIDER_LIMITS and PROVIDER_FALLBACKS, read once into typed values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ai_gateway.bootstrap.storage import provider_limits
from ai_gateway.domain.limits import ProviderLimit, Rate
from ai_gateway.settings import Settings


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("GENAI_PROVIDER", "PROVIDER_LIMITS", "PROVIDER_FALLBACKS", "OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)


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
    assert provider_limits(settings) == {
        "openai": ProviderLimit(Rate(10, 1), Rate(90000, 60), concurrency=4),
        "echo": ProviderLimit(),
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

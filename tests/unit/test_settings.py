from __future__ import annotations

import base64
import hashlib
import ipaddress
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from ai_gateway.domain.prompt import Prompt
from ai_gateway.settings import Settings, parse_api_key
from ai_gateway.settings.values import bucket_name
from tests.factories import T0

KEY = "mosaic-key-0123456789"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No .env of the developer's and no inherited setting leaks into these tests."""
    monkeypatch.chdir(tmp_path)
    for name in ("MOSAIC_API_KEYS", "APP_ENV", "REDIS_URL", "JWT_AUTHORITY", "JWT_ALGORITHMS",
                 "CALLBACK_SIGNING_SECRET", "GENAI_PROVIDER", "S3_ENDPOINT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def test_api_keys_are_read_as_name_and_key_and_kept_only_hashed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digest = hashlib.sha256(b"other-key-0123456789").hexdigest()
    monkeypatch.setenv("MOSAIC_API_KEYS", f"mosaic:{KEY}, batch:sha256:{digest}")

    keys = Settings().mosaic_api_keys

    assert [(k.name, k.sha256) for k in keys] == [
        ("mosaic", hashlib.sha256(KEY.encode()).hexdigest()),
        ("batch", digest),
    ]
    assert KEY not in repr(keys)


def test_api_keys_may_be_given_as_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOSAIC_API_KEYS", f'["mosaic:{KEY}"]')
    assert [k.name for k in Settings().mosaic_api_keys] == ["mosaic"]


@pytest.mark.parametrize(
    "entry",
    ["nokey", "bad name:" + KEY, "short:key1", "h:sha256:abc", ":" + KEY],
)
def test_a_malformed_api_key_entry_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match=r"API key|name:key"):
        parse_api_key(entry)


def test_the_same_key_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOSAIC_API_KEYS", f"a:{KEY},b:{KEY}")
    with pytest.raises(ValidationError, match="same key twice"):
        Settings()


def test_production_refuses_the_embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ValidationError, match="REDIS_URL"):
        Settings()
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    with pytest.raises(ValidationError, match="MOSAIC_API_KEYS"):
        Settings()
    monkeypatch.setenv("MOSAIC_API_KEYS", f"mosaic:{KEY}")
    with pytest.raises(ValidationError, match="CALLBACK_SIGNING_SECRET"):
        Settings()
    monkeypatch.setenv("CALLBACK_SIGNING_SECRET", "whsec_" + base64.b64encode(b"k" * 32).decode())
    assert Settings().app_env == "production"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CALLBACK_SIGNING_SECRET", "whsec_not base64!", "Incorrect padding|base64|Invalid"),
        ("CALLBACK_SECRETS", "[1, 2]", "JSON object"),
        ("CALLBACK_RETRY_SCHEDULE", "5,soon", "seconds"),
        ("GENAI_PROVIDER", "openai", "OPENAI_BASE_URL"),
        ("GENAI_PROVIDER", "genai-api", "GENAI_SERVICE_IDENTITIES"),
        ("GENAI_SERVICE_IDENTITIES", "client:genai, genai-service", "client:<client id>"),
        ("S3_ENDPOINT", "http://127.0.0.1:9000", "S3_ACCESS_KEY, S3_SECRET_KEY"),
        ("S3_BUCKET", "Bad_Bucket", "bucket"),
        ("EGRESS_ALLOW_CIDRS", "10.0.0.0/33", "10.0.0.0/33"),
        ("MOSAIC_DATA_PATHS", "api/genai/download/**", "starts with /"),
        ("MOSAIC_DATA_PATHS", "/api/**/download", "only its last segment"),
        ("MOSAIC_CALLBACK_PATHS", "/api/item/../admin", "dot"),
        ("MOSAIC_CALLBACK_PATHS", "/api//item", "empty"),
    ],
)
def test_inconsistent_pipeline_settings_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_the_redis_url_is_a_secret_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2-password@10.0.0.1:6379/0")
    assert "hunter2" not in repr(Settings())


def test_api_keys_may_carry_scopes_in_the_json_form(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    monkeypatch.setenv(
        "MOSAIC_API_KEYS",
        f'[{{"name": "ops", "sha256": "{digest}", "scopes": ["api", "admin"]}}, "plain:{KEY}x"]',
    )
    ops, plain = Settings().mosaic_api_keys
    assert (ops.name, ops.sha256, ops.scopes) == ("ops", digest, ("api", "admin"))
    assert plain.scopes is None


@pytest.mark.parametrize("algorithms", ["none", "HS256", "RS256,HS512", "", "RS256,none"])
def test_only_asymmetric_jwt_algorithms_may_be_allowed(
    monkeypatch: pytest.MonkeyPatch, algorithms: str
) -> None:
    monkeypatch.setenv("JWT_ALGORITHMS", algorithms)
    with pytest.raises(ValidationError, match="JWT_ALGORITHMS"):
        Settings()


def test_jwt_settings_keep_the_seeds_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_AUTHORITY", "https://keycloak.example/realms/mozart/")
    monkeypatch.setenv("JWT_ALGORITHMS", "RS256, PS256")
    settings = Settings()
    assert settings.jwt_audience == "ai-gateways"
    assert settings.required_scope == "api"
    assert settings.jwt_algorithms == ("RS256", "PS256")
    assert settings.authority_base == "https://keycloak.example/realms/mozart"
    assert settings.trusted_issuer == "https://keycloak.example/realms/mozart/"


def test_a_jwt_authority_must_be_an_http_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_AUTHORITY", "keycloak/realms/mozart")
    with pytest.raises(ValidationError, match="http"):
        Settings()


def test_mosaic_paths_are_comma_separated_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOSAIC_DATA_PATHS", "/api/genai/download/**, /files/*")
    settings = Settings()
    assert settings.mosaic_data_paths == ("/api/genai/download/**", "/files/*")
    assert settings.mosaic_callback_paths == ("/api/item/*/ai_response/*",)


def test_genai_service_identities_are_a_comma_separated_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GENAI_SERVICE_IDENTITIES", "client:genai, jwt:svc-1,apikey:genai")
    expected = {"client:genai", "jwt:svc-1", "apikey:genai"}
    assert Settings().genai_service_identities == expected


@pytest.mark.parametrize(
    "name", ["ab", "A-bucket", "bucket-", "a..b", "a.-b", "192.168.1.1", "x" * 64]
)
def test_a_bucket_name_against_s3_rules_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="bucket name"):
        bucket_name(name)


def test_a_prompt_id_is_a_valid_bucket_name() -> None:
    prompt = Prompt.create(owner="o", content="c", at=T0)
    assert bucket_name(prompt.id) == prompt.id


def test_text_settings_are_parsed_once_into_typed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "whsec_" + base64.b64encode(b"s" * 32).decode()
    monkeypatch.setenv("EGRESS_ALLOW_CIDRS", "127.0.0.0/8, ::1/128,")
    monkeypatch.setenv("CALLBACK_RETRY_SCHEDULE", "1, 2.5")
    monkeypatch.setenv("CALLBACK_SECRETS", f'{{"apikey:batch": "{secret}"}}')

    settings = Settings()

    assert settings.egress_allow_cidrs == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert settings.callback_retry_schedule == (1.0, 2.5)
    assert {o: s.get_secret_value() for o, s in settings.callback_secrets.items()} == {
        "apikey:batch": secret
    }
    assert secret not in repr(settings)


def test_the_answer_event_type_follows_the_type_prefix_unless_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLOUD_EVENT_TYPE_PREFIX", "acme")
    assert Settings().answer_event_type == "acme.genai.prompt.response.v1"
    monkeypatch.setenv("GENAI_ANSWER_EVENT_TYPE", "genai.answer")
    assert Settings().answer_event_type == "genai.answer"


@pytest.mark.parametrize(
    ("endpoint", "secure", "expected"),
    [
        ("http://127.0.0.1:9000", None, ("127.0.0.1:9000", False)),
        ("https://s3.example:443", None, ("s3.example:443", True)),
        ("minio:9000", None, ("minio:9000", False)),
        ("minio:9000", True, ("minio:9000", True)),
        ("https://s3.example", False, ("s3.example", False)),
    ],
)
def test_the_s3_endpoint_is_read_once_into_an_address(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, secure: bool | None, expected: tuple[str, bool]
) -> None:
    monkeypatch.setenv("S3_ENDPOINT", endpoint)
    monkeypatch.setenv("S3_ACCESS_KEY", "gateway")
    monkeypatch.setenv("S3_SECRET_KEY", "gateway-secret")
    if secure is not None:
        monkeypatch.setenv("S3_SECURE", str(secure).lower())

    server = Settings().s3_server

    assert server is not None
    assert (server.netloc, server.secure) == expected


def test_without_an_s3_endpoint_objects_stay_in_the_data_folder() -> None:
    assert Settings(_env_file=None).s3_server is None


def test_values_given_by_code_obey_the_same_rules_as_the_environment() -> None:
    with pytest.raises(ValidationError, match="starts with /"):
        Settings(_env_file=None, mosaic_data_paths=("files/**",))
    with pytest.raises(ValidationError, match="client:<client id>"):
        Settings(_env_file=None, genai_service_identities=frozenset({"genai"}))
    with pytest.raises(ValidationError, match="S3_ENDPOINT"):
        Settings(
            _env_file=None,
            s3_endpoint="http://",
            s3_access_key="gateway",
            s3_secret_key=SecretStr("gateway-secret"),
        )


@pytest.mark.parametrize(
    ("name", "most"), [("JWKS_MAX_AGE_SECONDS", "900"), ("JWKS_REFRESH_COOLDOWN_SECONDS", "300")]
)
def test_the_key_set_timings_are_capped_so_a_withdrawn_key_stops_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch, name: str, most: str
) -> None:
    monkeypatch.setenv(name, most)
    assert getattr(Settings(_env_file=None), name.lower()) == float(most)

    monkeypatch.setenv(name, str(float(most) + 1))
    with pytest.raises(ValidationError, match=name.lower()):
        Settings(_env_file=None)

"""The Keycloak realm `mozart` holds every client, scope, mapper and redirect URI the gateway and
docs/keycloak.md rely on. Keycloak cannot run here: the export itself is checked, and the test
identity provider is generated from the same file."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ai_gateway.settings import Settings
from tests.deploy.files import REALM

GATEWAY = Settings.model_fields
SCOPES = {
    GATEWAY[name].default
    for name in ("required_scope", "internal_scope", "events_scope", "admin_scope")
}
PLACEHOLDER = re.compile(r"^\$\{[A-Z0-9_]+\}$")


@pytest.fixture(scope="module")
def realm() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(REALM.read_text())
    return loaded


def client(realm: dict[str, Any], client_id: str) -> dict[str, Any]:
    (found,) = [c for c in realm["clients"] if c["clientId"] == client_id]
    return dict(found)


def scope(realm: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [s for s in realm["clientScopes"] if s["name"] == name]
    return dict(found)


def test_the_realm_is_mozart(realm: dict[str, Any]) -> None:
    assert realm["realm"] == "mozart"
    assert realm["enabled"] is True


@pytest.mark.parametrize("name", sorted(SCOPES))
def test_each_gateway_scope_is_in_the_token_and_puts_the_gateways_audience_in_aud(
    realm: dict[str, Any], name: str
) -> None:
    found = scope(realm, name)
    assert found["protocol"] == "openid-connect"
    assert found["attributes"]["include.in.token.scope"] == "true"
    (mapper,) = found["protocolMappers"]
    assert mapper["protocolMapper"] == "oidc-audience-mapper"
    assert mapper["config"]["included.custom.audience"] == GATEWAY["jwt_audience"].default
    assert mapper["config"]["access.token.claim"] == "true"


def test_every_token_carries_a_subject(realm: dict[str, Any]) -> None:
    basic = scope(realm, "basic")
    assert [m["protocolMapper"] for m in basic["protocolMappers"]] == ["oidc-sub-mapper"]
    assert all("basic" in c["defaultClientScopes"] for c in realm["clients"])


def test_the_admin_scope_goes_only_to_holders_of_the_admin_role(realm: dict[str, Any]) -> None:
    assert realm["scopeMappings"] == [{"clientScope": "admin", "roles": ["ai-gateway-admin"]}]
    assert [r["name"] for r in realm["roles"]["realm"]] == ["ai-gateway-admin"]


@pytest.mark.parametrize(
    ("client_id", "default", "optional"),
    [
        ("ai-gateway", ["api"], ["internal", "events", "admin"]),
        ("mosaic", ["api"], ["events"]),
        ("genai-service", ["internal"], ["events"]),
    ],
)
def test_machine_clients_use_client_credentials_with_their_scopes(
    realm: dict[str, Any], client_id: str, default: list[str], optional: list[str]
) -> None:
    found = client(realm, client_id)
    assert found["publicClient"] is False
    assert found["serviceAccountsEnabled"] is True
    assert found["standardFlowEnabled"] is False
    assert found["directAccessGrantsEnabled"] is False
    assert found["defaultClientScopes"] == ["basic", *default]
    assert found["optionalClientScopes"] == optional


def test_the_realm_carries_no_secret_only_placeholders_keycloak_fills_at_import(
    realm: dict[str, Any],
) -> None:
    confidential = [c for c in realm["clients"] if not c["publicClient"]]
    assert confidential
    assert all(PLACEHOLDER.match(c["secret"]) for c in confidential)
    assert "credentials" not in json.dumps(realm)


def test_swagger_ui_and_the_console_sign_in_with_a_public_pkce_client(
    realm: dict[str, Any],
) -> None:
    found = client(realm, "ai-gateway-swagger")
    assert found["publicClient"] is True
    assert "secret" not in found
    assert found["standardFlowEnabled"] is True
    assert found["implicitFlowEnabled"] is False
    assert found["attributes"]["pkce.code.challenge.method"] == "S256"
    assert found["redirectUris"] == [
        "${AI_GATEWAY_URL}/docs/oauth2-redirect",
        "${AI_GATEWAY_URL}/console/auth/callback",
    ]
    assert found["webOrigins"] == ["${AI_GATEWAY_URL}"]
    assert found["defaultClientScopes"] == ["basic", "api"]
    assert found["optionalClientScopes"] == ["admin"]


def test_the_gateways_own_client_may_ask_for_admin(realm: dict[str, Any]) -> None:
    (account,) = realm["users"]
    assert account["serviceAccountClientId"] == "ai-gateway"
    assert account["realmRoles"] == ["ai-gateway-admin"]

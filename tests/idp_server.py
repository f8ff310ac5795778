"""A real OpenID Connect provider (tests/idp/idp.mjs on Node) for the test suite.

The tests generate the provider's signing keys, so they can also mint tokens the provider never
would (expired, wrong audience, forged headers) with the very key the gateway trusts.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from ai_gateway.integration.oauth2_client_credentials import ClientCredentialsTokenSource
from tests.waiting import STARTUP_SECONDS, wait_until

IDP_DIR = Path(__file__).parent / "idp"
AUDIENCE = "ai-gateways"
RESOURCE = "urn:ai-gateways"
REALM_FILE = Path(__file__).parents[1] / "deploy" / "keycloak" / "mozart-realm.json"
REALM: dict[str, Any] = json.loads(REALM_FILE.read_text())
"""The Keycloak realm the deployment imports: the provider's clients and scopes come from it."""
ACCOUNTS: dict[str, Any] = json.loads((IDP_DIR / "accounts.json").read_text())
"""What the tests add to the realm: its placeholders' values (the client secrets) and users."""
ENVIRONMENT: dict[str, str] = ACCOUNTS["environment"]
CLIENTS = {
    c["clientId"]: ENVIRONMENT[c["secret"].removeprefix("${").removesuffix("}")]
    for c in REALM["clients"]
    if not c["publicClient"]
}
PUBLIC_CLIENT = next(c["clientId"] for c in REALM["clients"] if c["publicClient"])
USERS = {u["username"]: u for u in ACCOUNTS["users"]}
ADMIN_ROLE = next(m["roles"][0] for m in REALM["scopeMappings"] if m["clientScope"] == "admin")


def user(*, admin: bool) -> tuple[str, str]:
    """The name and password of a user who may sign in, with or without the admin scope."""
    found = next(u for u in USERS.values() if (ADMIN_ROLE in u["realmRoles"]) is admin)
    return found["username"], found["password"]


class SigningKey:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def private_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private))
        jwk.pop("key_ops", None)  # the provider selects keys by "use"; JWKs should not carry both
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def public_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def ensure_node_modules() -> None:
    if not (IDP_DIR / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=IDP_DIR, check=True)


class IdpServer:
    """The provider process; ``rotate`` restarts it on the same port with a new signing key."""

    def __init__(self, workdir: Path, token_ttl: int = 300) -> None:
        self.workdir = workdir
        self.token_ttl = token_ttl
        self.keys = [SigningKey("key-1")]
        self.port = 0
        self.issuer = ""
        self.process: subprocess.Popen[str] | None = None

    @property
    def signing_key(self) -> SigningKey:
        return self.keys[0]

    def start(self) -> None:
        ensure_node_modules()
        keys_file = self.workdir / "idp-keys.json"
        keys_file.write_text(json.dumps({"keys": [k.private_jwk() for k in self.keys]}))
        env = {
            **os.environ, **ENVIRONMENT,
            "IDP_KEYS_FILE": str(keys_file), "IDP_TOKEN_TTL": str(self.token_ttl),
        }  # fmt: skip
        deadline = time.monotonic() + 20
        while True:  # the port of a just-stopped provider can take a moment to free up
            self.process = subprocess.Popen(
                ["node", "idp.mjs", str(self.port)], cwd=IDP_DIR, env=env,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                start_new_session=True,
            )  # fmt: skip
            assert self.process.stdout is not None
            line = self.process.stdout.readline()
            if line.startswith("READY "):
                break
            self.process.wait()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the identity provider did not start: {line!r}")
            time.sleep(0.2)
        self.issuer = line.split()[1]
        self.port = int(self.issuer.rsplit(":", 1)[1])
        wait_until(self._discoverable, STARTUP_SECONDS, "identity provider")

    def _discoverable(self) -> bool:
        return httpx.get(self.issuer + "/.well-known/openid-configuration").status_code == 200

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
        if process is not None and process.stdout is not None:
            process.stdout.close()

    def rotate(self) -> SigningKey:
        """Restart with a new key that signs from now on; the old one is no longer published."""
        self.stop()
        self.keys = [SigningKey(f"key-{uuid.uuid4().hex[:8]}")]
        self.start()
        return self.signing_key

    def token(self, client: str = "ai-gateway", scope: str = "api") -> str:
        response = httpx.post(
            self.issuer + "/token",
            auth=(client, CLIENTS[client]),
            data={"grant_type": "client_credentials", "scope": scope, "resource": RESOURCE},
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def token_source(
        self,
        http: httpx.AsyncClient,
        client: str = "ai-gateway",
        scope: str | None = None,
        *,
        secret: str | None = None,
    ) -> ClientCredentialsTokenSource:
        """The gateway's OAuth2 client at this provider, as ``client`` (with its own secret unless
        ``secret`` says otherwise), asking for the gateways' resource."""
        return ClientCredentialsTokenSource(
            http,
            token_url=self.issuer + "/token",
            client_id=client,
            client_secret=CLIENTS[client] if secret is None else secret,
            scope=scope,
            parameters={"resource": RESOURCE},
        )

    def mint(
        self,
        claims: dict[str, Any] | None = None,
        *,
        headers: dict[str, Any] | None = None,
        key: SigningKey | None = None,
        drop: tuple[str, ...] = (),
    ) -> str:
        """A token signed with the provider's key (or ``key``), valid unless told otherwise."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer, "aud": AUDIENCE, "sub": "ai-gateway", "client_id": "ai-gateway",
            "scope": "api", "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex,
        }  # fmt: skip
        body.update(claims or {})
        for name in drop:
            body.pop(name)
        signer = key or self.signing_key
        return jwt.encode(
            body, signer.private, algorithm="RS256", headers={"kid": signer.kid, **(headers or {})}
        )


def claims_of(token: str) -> dict[str, Any]:
    """What a token says, read without checking it: for tests looking at tokens they received."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims

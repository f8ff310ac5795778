"""Parsers that turn the environment's text into typed values, once, when settings are read.

They import nothing of the gateway above its domain: a rule the settings check lives here, in the
domain or in a library."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr
from standardwebhooks import Webhook

from ai_gateway.domain.limits import ProviderLimit, Rate

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MIN_KEY_LENGTH = 16
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


@dataclass(frozen=True, slots=True)
class ApiKeyEntry:
    """A named API key, held only as the SHA-256 of the key; ``scopes`` None means the default."""

    name: str
    sha256: str
    scopes: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return f"ApiKeyEntry(name={self.name!r}, sha256=<hidden>, scopes={self.scopes!r})"


def _digest(name: str, secret: str) -> str:
    algo, sep, digest = secret.partition(":")
    if sep and algo == "sha256":
        if not _HEX64.fullmatch(digest):
            raise ValueError(f"API key {name}: a sha256 hash is 64 lowercase hex digits")
        return digest
    if len(secret) < MIN_KEY_LENGTH:
        raise ValueError(f"API key {name}: keys must be at least {MIN_KEY_LENGTH} characters")
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_api_key(entry: str | dict[str, object]) -> ApiKeyEntry:
    """``name:key``, ``name:sha256:<64 hex>``, or ``{"name", "key" | "sha256", "scopes"}``."""
    if not isinstance(entry, str | dict):
        raise ValueError("each API key is a 'name:key' string or an object")
    if isinstance(entry, dict):
        name, scopes = entry.get("name"), entry.get("scopes")
        secret = entry.get("key") or (f"sha256:{entry['sha256']}" if "sha256" in entry else None)
        if not isinstance(name, str) or not isinstance(secret, str):
            raise ValueError("an API key object needs a 'name' and a 'key' or 'sha256'")
        if scopes is not None and not (
            isinstance(scopes, list) and all(isinstance(s, str) and s for s in scopes)
        ):
            raise ValueError(f"API key {name}: 'scopes' is a list of scope names")
        entry = f"{name}:{secret}"
    else:
        scopes = None
    name, sep, secret = entry.strip().partition(":")
    if not sep or not _NAME.fullmatch(name):
        raise ValueError("each API key must be 'name:key' with a name of letters, digits, . _ -")
    return ApiKeyEntry(name, _digest(name, secret), None if scopes is None else tuple(scopes))


def parse_api_keys(text: str) -> tuple[ApiKeyEntry, ...]:
    """MOSAIC_API_KEYS: a comma-separated list, or a JSON list of strings and objects."""
    text = text.strip()
    items = json.loads(text) if text.startswith("[") else text.split(",")
    if not isinstance(items, list):
        raise ValueError("MOSAIC_API_KEYS is a comma-separated list or a JSON list")
    return tuple(parse_api_key(i) for i in items if not (isinstance(i, str) and not i.strip()))


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """EGRESS_ALLOW_CIDRS: comma-separated networks, host bits clear."""
    return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())


def parse_schedule(text: str) -> tuple[float, ...]:
    """CALLBACK_RETRY_SCHEDULE: comma-separated seconds between attempts."""
    try:
        schedule = tuple(float(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ValueError("CALLBACK_RETRY_SCHEDULE is a comma-separated list of seconds") from None
    if any(s < 0 for s in schedule):
        raise ValueError("CALLBACK_RETRY_SCHEDULE cannot go back in time")
    return schedule


def parse_owner_secrets(text: str) -> dict[str, SecretStr]:
    """CALLBACK_SECRETS: a JSON object from prompt owner (``apikey:<name>``, ``jwt:<sub>``) to
    that client's signing secret."""
    try:
        table = json.loads(text)
    except ValueError:
        raise ValueError("CALLBACK_SECRETS is a JSON object of owner to secret") from None
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ValueError("CALLBACK_SECRETS is a JSON object of owner to secret")
    return {owner: webhook_secret(secret) for owner, secret in table.items()}


def webhook_secret(secret: str) -> SecretStr:
    """A Standard Webhooks signing secret (``whsec_<base64>``), refused when it is not one."""
    Webhook(secret)
    return SecretStr(secret)


def bucket_name(name: str) -> str:
    """S3 bucket naming rules, as the original sample checked them (with AWS's minimum of 3)."""
    if not 3 <= len(name) <= 63 or not _BUCKET.fullmatch(name):
        raise ValueError("the bucket name must be 3-63 lowercase letters, digits, '.' or '-'")
    if ".." in name or ".-" in name or "-." in name or _IPV4.fullmatch(name):
        raise ValueError("the bucket name must not contain '..', '.-', '-.' or look like an IP")
    return name


def names(value: str | Iterable[str]) -> tuple[str, ...]:
    """A comma-separated list from the environment, or names given already as a sequence."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(stripped for item in items if (stripped := str(item).strip()))


def path_patterns(value: str | Iterable[str]) -> tuple[str, ...]:
    """MOSAIC_DATA_PATHS, MOSAIC_CALLBACK_PATHS: absolute path patterns whose segments may be
    ``*`` (one segment) and whose last segment may be ``**`` (any rest)."""
    patterns = names(value)
    for path in patterns:
        head, *segments = path.split("/")
        if head or {"", ".", ".."} & set(segments) or "**" in segments[:-1]:
            raise ValueError(f"{path!r}: a path pattern starts with /, has no empty or dot "
                             "segments, and only its last segment may be **")  # fmt: skip
    return patterns


def service_identities(value: str | Iterable[str]) -> frozenset[str]:
    """GENAI_SERVICE_IDENTITIES: callers named as ``jwt:<subject>``, ``client:<client id>`` or
    ``apikey:<key name>``."""
    identities = frozenset(names(value))
    refused = sorted(i for i in identities if not i.startswith(("jwt:", "client:", "apikey:")))
    if refused:
        raise ValueError(
            f"{refused[0]!r}: name jwt:<subject>, client:<client id> or apikey:<key name>"
        )
    return identities


@dataclass(frozen=True, slots=True)
class S3Address:
    """Where the S3 server listens (``host:port``) and whether it speaks TLS."""

    netloc: str
    secure: bool


def s3_address(endpoint: str, secure: bool | None) -> S3Address:
    """S3_ENDPOINT as a URL or a bare ``host:port``; TLS follows the scheme unless S3_SECURE
    says."""
    split = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    if not split.netloc:
        raise ValueError("S3_ENDPOINT is a URL or host:port")
    return S3Address(split.netloc, split.scheme == "https" if secure is None else secure)


_PROVIDERS = frozenset({"echo", "openai", "genai-api"})
_LIMIT_FIELDS = frozenset({"requests", "tokens", "concurrency", "burst"})


def _limit(key: str, entry: object) -> ProviderLimit:
    if not isinstance(entry, dict) or not set(entry) <= _LIMIT_FIELDS:
        raise ValueError(f"PROVIDER_LIMITS[{key!r}] is an object of {sorted(_LIMIT_FIELDS)}")
    rates = {name: entry.get(name) for name in ("requests", "tokens")}
    if not all(r is None or isinstance(r, str) for r in rates.values()):
        raise ValueError(f"PROVIDER_LIMITS[{key!r}]: requests and tokens are rates like 10/second")
    counts = {name: entry.get(name, default) for name, default in (("concurrency", None),
                                                                   ("burst", 1))}  # fmt: skip
    if not all(c is None or (type(c) is int and c >= 1) for c in counts.values()):
        raise ValueError(f"PROVIDER_LIMITS[{key!r}]: concurrency and burst are integers ≥ 1")
    return ProviderLimit(
        requests=None if rates["requests"] is None else Rate.parse(rates["requests"]),
        tokens=None if rates["tokens"] is None else Rate.parse(rates["tokens"]),
        concurrency=counts["concurrency"],
        burst=counts["burst"] or 1,
    )


def parse_provider_limits(text: str) -> dict[str, ProviderLimit]:
    """PROVIDER_LIMITS: a JSON object from provider (``openai``) or ``provider:model`` to its
    limit, e.g. ``{"openai": {"requests": "120/minute", "concurrency": 4}}``."""
    try:
        table = json.loads(text or "{}")
    except ValueError:
        raise ValueError("PROVIDER_LIMITS is a JSON object of provider to limits") from None
    if not isinstance(table, dict):
        raise ValueError("PROVIDER_LIMITS is a JSON object of provider to limits")
    for key in table:
        if key.partition(":")[0] not in _PROVIDERS:
            raise ValueError(f"PROVIDER_LIMITS: {key!r} names no provider of {sorted(_PROVIDERS)}")
    return {key: _limit(key, entry) for key, entry in table.items()}


def provider_names(value: str | Iterable[str]) -> tuple[str, ...]:
    """PROVIDER_FALLBACKS: providers to try in turn, comma-separated."""
    providers = names(value)
    unknown = sorted(set(providers) - _PROVIDERS)
    if unknown:
        raise ValueError(f"PROVIDER_FALLBACKS: {unknown[0]!r} is none of {sorted(_PROVIDERS)}")
    if len(set(providers)) != len(providers):
        raise ValueError("PROVIDER_FALLBACKS names a provider twice")
    return providers


def parse_sentinels(text: str) -> tuple[tuple[str, int], ...]:
    """REDIS_SENTINELS: comma-separated ``host:port`` (an IPv6 host in brackets)."""
    sentinels = []
    for part in names(text):
        split = urlsplit(f"//{part}")
        try:
            port = split.port
        except ValueError:
            port = None
        if not split.hostname or port is None:
            raise ValueError(f"REDIS_SENTINELS: {part!r} is not host:port")
        sentinels.append((split.hostname, port))
    return tuple(sentinels)

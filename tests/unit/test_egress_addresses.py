"""Which addresses the egress guard lets a user-supplied URL reach, IPv6 forms above all."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from ai_gateway.integration.safe_http import EgressPolicy, SafeHttp

REFUSED = {
    "IPv4-mapped, private": "::ffff:10.0.0.1",
    "IPv4-mapped, loopback": "::ffff:127.0.0.1",
    "IPv4-translated, private": "::ffff:0:192.168.1.1",
    "IPv4-compatible, loopback": "::127.0.0.1",
    "IPv4-compatible, metadata": "::169.254.169.254",
    "NAT64, private": "64:ff9b::10.0.0.1",
    "NAT64, loopback": "64:ff9b::127.0.0.1",
    "NAT64, metadata": "64:ff9b::169.254.169.254",
    "NAT64 local use": "64:ff9b:1::808:808",
    "6to4 of a private address": "2002:a00:1::1",
    "6to4 of loopback": "2002:7f00:1::1",
    "Teredo, client 192.168.0.1": "2001:0:4136:e378:8000:63bf:3f57:fffe",
    "Teredo, client 127.0.0.1": "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "site-local": "fec0::1",
    "unique local": "fd00::1",
    "link-local": "fe80::1",
    "loopback": "::1",
    "unspecified": "::",
    "multicast": "ff02::1",
    "documentation": "2001:db8::1",
    "documentation, RFC 9637": "3fff::1",
    "SRv6 segment identifiers": "5f00::1",
    "reserved by IETF (::/8), not a translated form": "::ffff:0:0:0:1",
    "reserved by IETF (100::/8, discard-only)": "100::1",
    "outside global unicast": "4000::1",
    "benchmarking": "2001:2::1",
    "AS112 direct delegation": "2620:4f:8000::1",
    "ISATAP on a global prefix, private IPv4": "2001:4860::5efe:a00:1",
    "ISATAP with the u bit, loopback IPv4": "2001:4860::200:5efe:7f00:1",
    "ISATAP on a global prefix, metadata IPv4": "2606:4700::5efe:a9fe:a9fe",
    "ISATAP, link-local prefix": "fe80::5efe:808:808",
    "private IPv4": "10.1.2.3",
    "metadata IPv4": "169.254.169.254",
}

PERMITTED = {
    "global IPv6": "2606:4700:4700::1111",
    "IPv4-mapped, public": "::ffff:8.8.8.8",
    "NAT64, public (DNS64 in IPv6-only networks)": "64:ff9b::8.8.8.8",
    "6to4 of a public address": "2002:808:808::1",
    "Teredo, client 8.8.8.8": "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
    "ISATAP on a global prefix, public IPv4": "2606:4700::5efe:808:808",
    "AMT, globally reachable inside 2001::/23": "2001:3::1",
    "public IPv4": "8.8.8.8",
}


def guard(*allow: str) -> SafeHttp:
    networks = tuple(ipaddress.ip_network(n) for n in allow)
    return SafeHttp(httpx.AsyncClient(), EgressPolicy(allow_networks=networks))


@pytest.mark.parametrize("address", REFUSED.values(), ids=REFUSED.keys())
def test_an_address_that_is_not_public_is_refused_in_every_form(address: str) -> None:
    assert not guard().permitted(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PERMITTED.values(), ids=PERMITTED.keys())
def test_a_public_address_is_permitted_in_every_form(address: str) -> None:
    assert guard().permitted(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["10.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1"])
def test_the_allow_list_applies_to_the_embedded_address(address: str) -> None:
    assert guard("10.0.0.0/8").permitted(ipaddress.ip_address(address))
    assert not guard("10.9.0.0/16").permitted(ipaddress.ip_address(address))


async def test_a_url_naming_an_embedded_private_address_is_refused() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(Exception, match="cannot be reached from the gateway"):
            await SafeHttp(http, EgressPolicy()).vet("http://[64:ff9b::a9fe:a9fe]/latest/")

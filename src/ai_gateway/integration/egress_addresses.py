"""Which addresses the egress guard lets the gateway reach: public ones, judged by the host a
packet to them reaches in the end, and the allow-list's.

An IPv6 address that carries an IPv4 address (mapped, translated, compatible, NAT64, 6to4, Teredo,
ISATAP) is judged by that IPv4 address. Any other IPv6 address must lie in the global unicast
space ``2000::/3`` and outside the IANA special-purpose blocks there that are not globally
reachable. The table is written out rather than taken from ``is_global`` alone, whose answer
changes between Python releases (3.11.7 still calls ``3fff::/20`` and ``5f00::/16`` global).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAT64: Final = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local use, any layout
_TRANSLATED: Final = ipaddress.IPv6Network("::ffff:0:0:0/96")
_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")
_GLOBAL_UNICAST: Final = ipaddress.IPv6Network("2000::/3")
# RFC 5214: the interface identifier 0000:5efe or 0200:5efe (u bit set) followed by the IPv4 address
_ISATAP: Final = frozenset({0x00005EFE, 0x02005EFE})


def _networks(*cidrs: str) -> tuple[ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.IPv6Network(c) for c in cidrs)


# The IANA IPv6 special-purpose registry, blocks inside 2000::/3 not marked globally reachable.
_SPECIAL: Final = _networks(
    "2001::/23",  # IETF protocol assignments; the reachable exceptions follow below
    "2001:db8::/32",  # documentation
    "3fff::/20",  # documentation (RFC 9637)
    "2620:4f:8000::/48",  # AS112 direct delegation: anycast sinks, nothing to fetch
)
_SPECIAL_BUT_GLOBAL: Final = _networks(
    "2001:1::1/128",  # Port Control Protocol anycast
    "2001:1::2/128",  # TURN anycast
    "2001:1::3/128",  # DNS-SD service registration protocol anycast
    "2001:3::/32",  # AMT
    "2001:4:112::/48",  # AS112-v6
    "2001:20::/28",  # ORCHIDv2
    "2001:30::/28",  # drone remote ID
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, translated, compatible, NAT64, 6to4,
    Teredo): the host a packet to it reaches in the end, and so the one the guard must judge."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or address in _TRANSLATED or (address in _COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def isatap_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address of an ISATAP interface identifier: the tunnel's end inside the site."""
    if (int(address) >> 32) & 0xFFFFFFFF in _ISATAP:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _global_unicast(address: ipaddress.IPv6Address) -> bool:
    if address not in _GLOBAL_UNICAST:
        return False
    if any(address in n for n in _SPECIAL_BUT_GLOBAL):
        return True
    return not any(address in n for n in _SPECIAL) and address.is_global


def address_permitted(address: IPAddress, allow_networks: Iterable[IPNetwork]) -> bool:
    """True for a public address, or one in ``allow_networks``."""
    allow = tuple(allow_networks)
    if any(address in network for network in allow):
        return True
    if isinstance(address, ipaddress.IPv4Address):
        return address.is_global and not address.is_multicast
    if address in _LOCAL_NAT64 or address.is_site_local:
        return False
    embedded = embedded_ipv4(address)
    if embedded is not None:
        return address_permitted(embedded, allow)
    tunnelled = isatap_ipv4(address)
    if tunnelled is not None and not address_permitted(tunnelled, allow):
        return False
    return _global_unicast(address)

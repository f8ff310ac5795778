"""Which addresses the egress guard lets the gateway reach: public ones, and the allow-list's.

An IPv6 address that carries an IPv4 address (NAT64, 6to4, Teredo, mapped and the like) is judged
by that address; site-local and local-use NAT64 addresses are never public.
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


def address_permitted(address: IPAddress, allow_networks: Iterable[IPNetwork]) -> bool:
    """True for a public address, or one in ``allow_networks``."""
    networks = tuple(allow_networks)
    if any(address in network for network in networks):
        return True
    if isinstance(address, ipaddress.IPv6Address):
        if address in _LOCAL_NAT64 or address.is_site_local:
            return False
        embedded = embedded_ipv4(address)
        if embedded is not None:
            return address_permitted(embedded, networks)
    return address.is_global and not address.is_multicast

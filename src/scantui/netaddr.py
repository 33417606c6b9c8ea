"""One loose parser of IPv4 addresses and CIDR blocks for every option, query term and list line.

A bare address is a /32 and host bits are dropped (``198.51.100.7/24`` is
``198.51.100.0/24``); the callers add where the text came from to the reason.
(The labels file's members are parsed strictly instead: :func:`scantui.labels.model.parse_member`.)
"""

from __future__ import annotations

import ipaddress

NOT_IPV4 = "not an IPv4 address or CIDR"
ONLY_IPV4 = "only IPv4 is supported"


def ipv4_network(text: str) -> ipaddress.IPv4Network:
    """*text* as an IPv4 network; :class:`ValueError` whose message is :data:`NOT_IPV4` or :data:`ONLY_IPV4`."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(NOT_IPV4) from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(ONLY_IPV4)
    return net

"""Source addresses: what CloudTrail's ``sourceIPAddress`` holds and which addresses are public.

``sourceIPAddress`` is an IPv4 or IPv6 address, or a service name (``ec2.amazonaws.com``,
``AWS Internal``) when a service called on the principal's behalf (aws-facts §2). A call from
inside a VPC shows a private address; the documentation ranges (RFC 5737, RFC 3849) stand for
public addresses in examples and exercises, so they count as public here.

Example:
    >>> is_public_ip("203.0.113.7"), is_public_ip("10.0.1.5"), is_public_ip("AWS Internal")
    (True, False, False)
"""

from __future__ import annotations

import ipaddress

__all__ = ["INSIDE_NETWORKS", "is_public_ip"]

#: Networks a call from inside a VPC shows (RFC 1918, carrier-grade NAT, link-local, loopback, ULA).
#: Not ``ipaddress.is_private``: that also counts the documentation ranges, which stand for public IPs.
INSIDE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "127.0.0.0/8",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)


def is_public_ip(value: str) -> bool:
    """True for an IP address outside private networks (service names such as AWS Internal are not IPs).

    Example:
        >>> is_public_ip("2001:db8::1"), is_public_ip("fd00::1"), is_public_ip("ec2.amazonaws.com")
        (True, False, False)
    """
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    return not any(ip in net for net in INSIDE_NETWORKS if net.version == ip.version)

"""Where an HTTP step may go: scheme and address rules as pure functions.

Used twice: by workflow code on the planned URL, and by the ``http_request`` activity on
the final URL and on every address its host name resolves to (a name can point anywhere).
Addresses are normalised first, so decimal (``2852039166``), hex, octal and short
(``127.1``) IPv4 forms and IPv4-mapped/NAT64 IPv6 forms cannot slip past.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "instance-data"})
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254")})
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """``inet_aton`` forms: 1-4 parts, each decimal, 0x-hex or 0-octal (what curl accepts)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    values: list[int] = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                values.append(int(part[2:], 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part[1:], 8))
            else:
                values.append(int(part, 10))
        except ValueError:
            return None
    *leading, last = values
    if any(v > 255 for v in leading) or last >= 256 ** (5 - len(values)):
        return None
    number = 0
    for value in leading:
        number = number * 256 + value
    number = number * 256 ** (5 - len(values)) + last
    return ipaddress.IPv4Address(number)


def parse_address(host: str) -> IpAddress | None:
    """The IP a host string denotes, unwrapping IPv4 hidden in IPv6; None for a name."""
    host = host.strip("[]").split("%")[0]
    try:
        address: IpAddress = ipaddress.ip_address(host)
    except ValueError:
        legacy = legacy_ipv4(host)
        if legacy is None:
            return None
        address = legacy
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _allowed(address: IpAddress, name: str, allow_hosts: Iterable[str]) -> bool:
    for entry in allow_hosts:
        entry = entry.strip().lower()
        if entry == name:
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def address_problem(address: IpAddress, name: str, allow_hosts: Iterable[str]) -> str | None:
    """Why ``address`` may not be contacted, or None. Metadata is never allowed."""
    if address.is_link_local or address in METADATA_ADDRESSES:
        return f"{name} is a link-local/metadata address ({address}); never allowed"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return f"{name} is not a routable unicast address ({address})"
    private = address.is_private or address.is_loopback
    if private and not _allowed(address, name.lower(), allow_hosts):
        return (
            f"{name} is a private/loopback address ({address}); add it to the policy's "
            "allow_hosts to permit it"
        )
    return None


def url_problem(url: str, allow_hosts: Iterable[str]) -> str | None:
    """Why ``url`` may not be called (judged without DNS), or None."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:
        return f"URL {url!r} cannot be parsed: {exc}"
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return f"URL scheme {scheme or '(none)'!r} is not allowed; use http or https"
    if not host:
        return f"URL {url!r} has no host"
    allow = list(allow_hosts)
    address = parse_address(host)
    if address is not None:
        return address_problem(address, host, allow)
    name = host.rstrip(".").lower()
    if name in METADATA_NAMES:
        return f"{name} is a cloud metadata endpoint; never allowed"
    if (name == "localhost" or name.endswith(".localhost")) and name not in allow:
        return f"{name} is loopback; add it to the policy's allow_hosts to permit it"
    return None

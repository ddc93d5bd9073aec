"""Where an HTTP step may go: scheme, host and address rules as pure functions.

Used by workflow code on the planned and resolved URL, and by the ``http_request``
activity on the final URL, on every address its host name resolves to (a name can point
anywhere) and on every redirect hop. Pure and deterministic: no DNS, no I/O.

The rules, in order:

1. The host is normalised first: percent-decoding, brackets and IPv6 zone ids, full-width
   dots, IDNA (NFKC, case folding), trailing dots, lower case; a host that does not
   normalise is refused. ``inet_aton`` spellings (``2852039166``, ``0xA9FEA9FE``,
   ``0251.0376.0251.0376``, ``169.254.43518``) are read as the address they denote.
2. Cloud metadata names and addresses (``METADATA_NAMES``, ``METADATA_NETWORKS``, all of
   link-local) are never allowed, whatever ``allow_hosts`` says.
3. Only globally routable addresses pass by default. Anything else (private, loopback,
   CGNAT, documentation, benchmarking, multicast, reserved, 6to4/Teredo/NAT64 wrappers)
   needs an ``allow_hosts`` entry naming the host, the IP or a CIDR covering it.
4. IPv4 hidden in IPv6 is judged too: mapped and NAT64 ``64:ff9b::/96`` forms *are* the
   IPv4 address; IPv4-compatible, IPv4-translated, local-use NAT64, 6to4 and Teredo
   forms must pass as themselves *and* as the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _networks(*table: tuple[str, str]) -> tuple[tuple[IpNetwork, str], ...]:
    return tuple((ipaddress.ip_network(network), label) for network, label in table)


# Cloud metadata and host-agent endpoints: blocked even when allow_hosts covers them.
# First match names the provider in the message; 169.254.0.0/16 and fe80::/10 catch the rest.
METADATA_NETWORKS = _networks(
    # AWS, GCP, Azure IMDS, Oracle OCI, DigitalOcean, Hetzner, OpenStack, Linode, Vultr,
    # IBM Cloud, Huawei Cloud all serve instance metadata (and often credentials) here.
    ("169.254.169.254/32", "AWS/GCP/Azure/Oracle/DigitalOcean/Hetzner/OpenStack/Linode metadata"),
    ("169.254.170.2/32", "AWS ECS task credentials"),
    ("169.254.169.253/32", "AWS DNS resolver"),
    ("169.254.0.23/32", "Tencent Cloud metadata"),
    ("169.254.42.42/32", "Scaleway metadata"),
    ("169.254.0.0/16", "IPv4 link-local, where cloud metadata services live"),
    ("100.100.100.200/32", "Alibaba Cloud metadata"),
    ("192.0.0.192/32", "Oracle Cloud Classic metadata"),
    ("168.63.129.16/32", "Azure WireServer / host agent, a public address"),
    ("fd00:ec2::/32", "AWS Nitro IPv6 IMDS ::254, DNS ::253, NTP ::123"),
    ("fd20:ce::254/128", "GCP metadata over IPv6"),
    ("fd00:c1::a9fe:a9fe/128", "Oracle OCI metadata over IPv6"),
    ("fd00:a9fe:a9fe::1/128", "Linode/Akamai metadata over IPv6"),
    ("fd00:42::42/128", "Scaleway metadata over IPv6"),
    ("fe80::/10", "IPv6 link-local (OpenStack serves metadata at fe80::a9fe:a9fe)"),
)
METADATA_NAMES = {
    "metadata.google.internal": "GCP metadata",
    "metadata": "GCP metadata (short name)",
    "instance-data": "AWS metadata",
    "instance-data.ec2.internal": "AWS metadata",  # also instance-data.<region>.compute.internal
    "metadata.tencentyun.com": "Tencent Cloud metadata",
    "metadata.platformequinix.com": "Equinix Metal metadata",
    "metadata.packet.net": "Equinix Metal (Packet) metadata",
    "kubernetes": "Kubernetes API server",
    "kubernetes.default": "Kubernetes API server",
    "kubernetes.default.svc": "Kubernetes API server",  # also .svc.<any cluster domain>
}

# Not globally reachable (IANA special-purpose registries), labelled for the message. The
# list is explicit because Python 3.11's ``is_global`` misses some: 192.0.0.0/24 beyond
# /29, fec0::/10, ::/96, 2002::/16, 3fff::/20, multicast.
NON_PUBLIC_NETWORKS = _networks(
    ("0.0.0.0/8", "'this network'"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared (CGNAT, tailnet)"),
    ("127.0.0.0/8", "loopback"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignment"),
    ("192.0.2.0/24", "documentation"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "IPv4-compatible"),
    ("::ffff:0:0:0/96", "IPv4-translated"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/32", "Teredo"),
    ("2001::/23", "IETF protocol assignment"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "SRv6 SID"),
    ("fc00::/7", "unique-local (private)"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
_COMPATIBLE, _TRANSLATED, _LOCAL_NAT64 = (
    ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b:1::/48")
)
_UNICODE_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_NAME = re.compile(r"[a-z0-9_.-]+")


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


def normalise_host(host: str) -> tuple[str, IpAddress | None]:
    """The canonical host (ASCII name or IP text) and the address it denotes, if any.

    Raises ``ValueError`` saying why for a host that does not normalise.
    """
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" not in text:  # a literal IPv6 keeps its zone id (%25eth0) for below
        for _ in range(4):  # %252e -> %2e -> .
            text, previous = unquote(text, errors="strict"), text
            if text == previous:
                break
        else:
            raise ValueError("too many layers of percent-encoding")
    if ":" in text:
        address: IpAddress = ipaddress.IPv6Address(text.split("%", 1)[0])  # drop the zone
        return str(address), address
    text = text.translate(_UNICODE_DOTS).rstrip(".")
    if not text:
        raise ValueError("empty host name")
    try:
        text = text.encode("idna").decode("ascii").lower()  # nameprep: NFKC + case folding
    except UnicodeError as exc:
        raise ValueError(f"not a valid IDNA host name ({exc})") from exc
    if not _NAME.fullmatch(text):
        raise ValueError("only letters, digits, '-', '_' and '.' may appear in a host name")
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        legacy = legacy_ipv4(text)
        if legacy is None:
            return text, None
        address = legacy
    return str(address), address


def _unwrap(address: IpAddress) -> IpAddress:
    """IPv4-mapped and well-known NAT64 addresses reach the IPv4 address they carry."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(address.packed[-4:])
    return address


def parse_address(host: str) -> IpAddress | None:
    """The IP a host string denotes, unwrapping IPv4 hidden in IPv6; None for a name
    (or for a host that does not normalise: ``url_problem`` refuses those)."""
    try:
        _, address = normalise_host(host)
    except ValueError:
        return None
    return None if address is None else _unwrap(address)


def _embedded_ipv4(address: IpAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses other IPv6 forms carry (each is judged as well)."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)  # (server, client)
    low = ipaddress.IPv4Address(address.packed[-4:])
    compatible = address in _COMPATIBLE and int(address) > 1  # not :: or ::1
    return [low] if compatible or address in _TRANSLATED or address in _LOCAL_NAT64 else []


def _metadata(address: IpAddress) -> str | None:
    for network, provider in METADATA_NETWORKS:
        if address in network:
            return provider
    return "link-local" if address.is_link_local else None


def _non_public(address: IpAddress) -> str | None:
    """What kind of non-public address this is, or None for a globally routable one."""
    for network, kind in NON_PUBLIC_NETWORKS:
        if address in network:
            return kind
    if address.is_global and not address.is_multicast and not address.is_reserved:
        return None
    return "reserved" if address.is_reserved else "special-purpose"


def _allowed(address: IpAddress | None, name: str, allow_hosts: Iterable[str]) -> bool:
    """Whether an allow_hosts entry names ``name`` or covers ``address`` (both normalised)."""
    try:
        wanted, _ = normalise_host(name)
    except ValueError:
        wanted = None
    for entry in allow_hosts:
        try:
            if "/" in entry:
                network = ipaddress.ip_network(entry.strip().strip("[]"), strict=False)
                if address is not None and address in network:
                    return True
                continue
            listed, listed_address = normalise_host(entry)
        except ValueError:
            continue  # an entry that does not normalise matches nothing
        if listed == wanted:
            return True
        if listed_address is not None and _unwrap(listed_address) == address:
            return True
    return False


def _how_to_allow(host: str) -> str:
    return (
        f"to reach it, add it to the policy's allow_hosts: --allow-host {host} on the "
        f'starter, or allow_hosts = ["{host}"] in the policy file'
    )


def address_problem(address: IpAddress, name: str, allow_hosts: Iterable[str]) -> str | None:
    """Why ``address`` (what ``name`` denotes or resolves to) may not be contacted, or None.

    Metadata is never allowed; a non-public address only when allow_hosts lists it.
    """
    address = _unwrap(address)
    judged = [address, *_embedded_ipv4(address)]
    for candidate in judged:
        provider = _metadata(candidate)
        if provider:
            return (
                f"{name} is a link-local/metadata address ({candidate}: {provider}); "
                "never allowed, whatever allow_hosts says"
            )
    allow = list(allow_hosts)
    for candidate in judged:
        kind = _non_public(candidate)
        if kind and not _allowed(candidate, name, allow):
            try:
                named, named_address = normalise_host(name)
            except ValueError:
                named, named_address = str(candidate), candidate
            suggest = str(candidate) if named_address is not None else named
            return f"{name} is a {kind} address ({candidate}), not public; {_how_to_allow(suggest)}"
    return None


def _metadata_name(name: str) -> str | None:
    for known, provider in METADATA_NAMES.items():
        if name == known or ("." in known and name.endswith("." + known)):
            return provider
    labels = name.split(".")
    if labels[0] == "instance-data" and labels[-1] == "internal":
        return "AWS metadata"
    if name.startswith("kubernetes.default.svc."):
        return "Kubernetes API server"
    return None


def url_problem(url: str, allow_hosts: Iterable[str]) -> str | None:
    """Why ``url`` may not be called (judged without DNS), or None."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        return f"URL {url!r} cannot be parsed: {exc}"
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return f"URL scheme {scheme or '(none)'!r} is not allowed; use http or https"
    if not host:
        return f"URL {url!r} has no host"
    try:
        name, address = normalise_host(host)
    except ValueError as exc:
        return f"URL host {host!r} is not a valid host name: {exc}"
    allow = list(allow_hosts)
    if address is not None:
        return address_problem(address, host, allow)
    provider = _metadata_name(name)
    if provider:
        return (
            f"{name} is a cloud metadata endpoint ({provider}); "
            "never allowed, whatever allow_hosts says"
        )
    if (name == "localhost" or name.endswith(".localhost")) and not _allowed(None, name, allow):
        return f"{name} is a loopback name, not public; {_how_to_allow(name)}"
    return None

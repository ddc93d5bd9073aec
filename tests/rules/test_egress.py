"""Egress rules against an attacker who picks the URL: every cloud's metadata endpoint,
every spelling of an address, every way to dress up a name."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable_agents.rules.egress import address_problem, parse_address, url_problem

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
EVERYTHING = ["0.0.0.0/0", "::/0"]  # a policy that lists every address there is


def wide(text: str) -> str:
    """The full-width form of ASCII text (NFKC maps it back)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# Blocked whatever allow_hosts says, even when it lists the host itself.
METADATA_URLS = [
    "http://169.254.169.254/latest/meta-data/",  # AWS, GCP, Azure, Oracle, DO, Hetzner, ...
    "http://169.254.169.254./",  # trailing dot: a name to urlsplit, the IP to a resolver
    "http://169.254.169.254..:80/",
    "http://169.254.170.2/v2/credentials",  # AWS ECS task credentials
    "http://169.254.169.253/",  # AWS / Azure DNS
    "http://169.254.0.23/",  # Tencent Cloud
    "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud
    "http://100.100.100.200./",
    "http://192.0.0.192/",  # Oracle Cloud Classic
    "http://168.63.129.16/machine?comp=goalstate",  # Azure WireServer: a public address
    "http://[fd00:ec2::254]/",  # AWS IMDS over IPv6
    "http://[fd00:ec2::253]/",  # AWS DNS over IPv6
    "http://[fd20:ce::254]/",  # GCP metadata over IPv6
    "http://[fd00:c1::a9fe:a9fe]/",  # Oracle OCI IMDS over IPv6
    "http://[fd00:a9fe:a9fe::1]/",  # Linode / Akamai metadata over IPv6
    "http://[fe80::a9fe:a9fe]/",  # OpenStack metadata over IPv6 link-local
    "http://[fe80::1%25eth0]/",  # zone id
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/",
    "http://METADATA.Google.Internal./",
    "http://metadata\u3002google\u3002internal/",  # ideographic full stops
    "http://metadata\uff0egoogle\uff0einternal/",  # full-width full stops
    f"http://{wide('metadata')}.google.internal/",  # full-width letters
    "http://meta\u00addata.google.internal/",  # soft hyphen (mapped to nothing)
    "http://instance-data/",
    "http://instance-data.ec2.internal/",
    "http://instance-data.eu-west-1.compute.internal/",
    "http://metadata.tencentyun.com/latest/meta-data/",
    "http://metadata.platformequinix.com/metadata",
    "http://metadata.packet.net/metadata",
    "https://kubernetes.default.svc/api",
    "https://kubernetes.default.svc.cluster.local/api",
    # the same addresses in other spellings
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://0XA9FEA9FE/",
    "http://0251.0376.0251.0376/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://169.254.43518/",
    "http://169.16689662/",
    f"http://{wide('169.254.169.254')}/",
    "http://169.254.169%2e254/",
    "http://169.254.169%252e254/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::FFFF:A9FE:A9FE]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
    "http://[64:ff9b:1::a9fe:a9fe]/",  # local-use NAT64
    "http://[2002:a9fe:a9fe::1]/",  # 6to4
    "http://[2001:0:a9fe:a9fe::1]/",  # Teredo server
    "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",  # Teredo client (inverted bits)
    "http://[::169.254.169.254]/",  # IPv4-compatible
    "http://[::ffff:0:169.254.169.254]/",  # IPv4-translated
    "http://[2002:6464:64c8::]/",  # 6to4 around Alibaba's 100.100.100.200
    "http://user:pw@169.254.169.254:80/",
    "http://api.example.com@169.254.169.254/",
]


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_is_blocked_even_when_listed(url: str) -> None:
    assert url_problem(url, []) is not None
    host = urlsplit(url).hostname or ""
    problem = url_problem(url, [*EVERYTHING, host, host.split("%")[0]])
    assert problem is not None and "never allowed" in problem


# Not public: refused by default, reachable once allow_hosts lists them.
NON_PUBLIC: list[tuple[str, list[str]]] = [
    ("http://100.64.0.1/", ["100.64.0.0/10"]),  # CGNAT, tailnets
    ("http://100.100.100.1/", ["100.64.0.0/10"]),
    ("http://192.0.0.8/", ["192.0.0.0/24"]),  # IETF protocol assignments
    ("http://192.0.0.170/", ["192.0.0.170"]),
    ("http://198.18.0.1/", ["198.18.0.0/15"]),  # benchmarking
    ("http://192.0.2.1/", ["192.0.2.1"]),  # documentation
    ("http://198.51.100.7/", ["198.51.100.0/24"]),
    ("http://203.0.113.9/", ["203.0.113.9"]),
    ("http://0.1.2.3/", ["0.0.0.0/8"]),  # "this network"
    ("http://255.255.255.255/", ["255.255.255.255"]),
    ("http://224.0.0.1/", ["224.0.0.0/4"]),  # multicast
    ("http://240.0.0.1/", ["240.0.0.0/4"]),
    ("http://10.0.0.5/", ["10.0.0.0/8"]),
    ("http://127.0.0.1./", ["127.0.0.1"]),
    ("http://0x7f.1/", ["127.0.0.1"]),
    ("http://[::1]/", ["[::1]"]),
    ("http://[::ffff:10.0.0.1]/", ["10.0.0.0/8"]),
    ("http://[fec0::1]/", ["fec0::/10"]),  # site-local
    ("http://[fc00::1]/", ["fc00::/7"]),  # unique local
    ("http://[3fff::1]/", ["3fff::/20"]),  # documentation (RFC 9637)
    ("http://[2001:db8::1]/", ["2001:db8::/32"]),
    ("http://[ff0e::1]/", ["ff00::/8"]),  # global-scope multicast
    ("http://[5f00::1]/", ["5f00::/16"]),  # SRv6 SIDs
    ("http://[::8.8.8.8]/", ["::/96"]),  # IPv4-compatible
    ("http://[2002:808:808::1]/", ["2002::/16"]),  # 6to4 around a public v4
    ("http://[2002:a00:1::]/", ["2002::/16", "10.0.0.0/8"]),  # ... and around a private one
    ("http://[64:ff9b:1::808:808]/", ["64:ff9b:1::/48"]),
    ("http://localhost./", ["LocalHost."]),
    (f"http://{wide('localhost')}/", ["localhost"]),
    ("http://app.localhost/", ["app.localhost"]),
]


@pytest.mark.parametrize(("url", "allow"), NON_PUBLIC)
def test_non_public_needs_allowing(url: str, allow: list[str]) -> None:
    problem = url_problem(url, [])
    assert problem is not None and "--allow-host " in problem and 'allow_hosts = ["' in problem
    assert url_problem(url, allow) is None


def test_the_hint_names_what_to_allow() -> None:
    problem = url_problem("http://0x7f.1:8080/", [])
    assert problem is not None
    assert "--allow-host 127.0.0.1 " in problem and 'allow_hosts = ["127.0.0.1"]' in problem
    assert url_problem("http://[2002:a00:1::]/", ["2002::/16"]) is not None  # inner 10.0.0.1


PUBLIC = [
    "https://example.com/",
    "https://api.example.com./x",
    "http://8.8.8.8/",
    "http://134744072/",  # 8.8.8.8
    "http://[2606:4700:4700::1111]/",
    "http://[::ffff:8.8.8.8]/",
    "http://[64:ff9b::808:808]/",
    f"http://{wide('EXAMPLE.')}com/",
    "https://user:pw@example.com:8443/",
]


@pytest.mark.parametrize("url", PUBLIC)
def test_public_hosts_pass(url: str) -> None:
    assert url_problem(url, []) is None


INVALID = [
    "http://a..b/",
    "http://" + "x" * 64 + ".com/",
    "http://%00/",
    "http://exa%20mple.com/",
    "http://[::1/",
    "http://example.com:99999/",
    "http://[not-an-ip]/",
    "http://%2525252525252e/",
]


@pytest.mark.parametrize("url", INVALID)
def test_hosts_that_do_not_normalise_are_refused(url: str) -> None:
    problem = url_problem(url, EVERYTHING)
    assert problem is not None and ("not a valid host" in problem or "cannot be parsed" in problem)


def test_resolved_addresses_follow_the_same_rules() -> None:
    alibaba = ipaddress.ip_address("100.100.100.200")
    assert "never allowed" in (address_problem(alibaba, "evil.example", ["evil.example"]) or "")
    private = ipaddress.ip_address("10.0.0.3")
    assert address_problem(private, "db.internal", ["DB.Internal."]) is None
    assert address_problem(private, "db.internal", []) is not None
    wrapped = ipaddress.ip_address("::ffff:169.254.169.254")
    assert address_problem(wrapped, "x.example", EVERYTHING) is not None
    assert str(parse_address("169.254.169.254.")) == "169.254.169.254"
    assert str(parse_address("[64:ff9b::a9fe:a9fe]")) == "169.254.169.254"
    assert parse_address("metadata.google.internal") is None


# The property: the oracle is computed from ``ipaddress`` and the IANA special-purpose
# registry written out here, never from rules.egress.
NAT64_WKP = ipaddress.ip_network("64:ff9b::/96")
STRICTER_THAN_PY311 = [  # not globally reachable, yet Python 3.11 says is_global
    ipaddress.ip_network(n) for n in ("192.0.0.0/24", "2002::/16", "3fff::/20", "fec0::/10")
]
PUBLIC_METADATA = [ipaddress.ip_address("168.63.129.16")]  # Azure WireServer
SEEDS = [
    "169.254.169.254", "168.63.129.16", "100.100.100.200", "192.0.0.192", "100.64.0.1",
    "192.0.0.9", "192.88.99.1", "8.8.8.8", "127.0.0.1", "0.0.0.0", "255.255.255.255",
    "fd00:ec2::254", "fec0::1", "2002:a9fe:a9fe::", "2002:808:808::", "3fff::1", "ff0e::1",
    "64:ff9b:1::808:808", "::1.2.3.4", "2001::1", "2001:4860:4860::8888", "::",
]  # fmt: skip


def oracle_reachable(address: IpAddress) -> bool:
    """Whether a policy with no allow_hosts should let ``address`` through."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address in NAT64_WKP:
            address = ipaddress.IPv4Address(address.packed[-4:])
    if address.is_link_local or address in PUBLIC_METADATA:
        return False
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    return not any(address in network for network in STRICTER_THAN_PY311)


@st.composite
def ipv4_spelling(draw: st.DrawFn, address: ipaddress.IPv4Address) -> tuple[str, IpAddress]:
    """A host string curl/inet_aton would read as ``address``, and what it denotes."""
    n, parts = int(address), list(address.packed)

    def part(value: int) -> str:
        base = draw(st.sampled_from(["dec", "hex", "HEX", "oct"]))
        if base == "hex":
            return f"0x{value:x}"
        if base == "HEX":
            return f"0X{value:X}"
        return f"0{value:o}" if base == "oct" else str(value)

    form = draw(st.sampled_from(["dotted", "int", "parts", "abc", "ab", "mapped", "nat64"]))
    if form == "mapped":
        inner = draw(st.sampled_from([str(address), f"{n >> 16:x}:{n & 0xFFFF:X}"]))
        return f"[::ffff:{inner}]", ipaddress.IPv6Address(f"::ffff:{address}")
    if form == "nat64":
        return f"[64:ff9b::{address}]", ipaddress.IPv6Address(f"64:ff9b::{address}")
    host = {
        "dotted": str(address),
        "int": part(n),
        "parts": ".".join(part(p) for p in parts),
        "abc": f"{part(parts[0])}.{part(parts[1])}.{part(n & 0xFFFF)}",
        "ab": f"{part(parts[0])}.{part(n & 0xFFFFFF)}",
    }[form]
    return host + draw(st.sampled_from(["", ".", ".."])), address


@st.composite
def ipv6_spelling(draw: st.DrawFn, address: ipaddress.IPv6Address) -> tuple[str, IpAddress]:
    groups = address.exploded.split(":")
    text = draw(
        st.sampled_from(
            [
                address.compressed,
                address.exploded,
                address.compressed.upper(),
                ":".join(groups[:6]) + ":" + str(ipaddress.IPv4Address(address.packed[-4:])),
            ]
        )
    )
    zone = draw(st.sampled_from(["", "%25eth0", "%251"]))
    return f"[{text}{zone}]", address


@st.composite
def address_urls(draw: st.DrawFn) -> tuple[str, IpAddress]:
    address: IpAddress = draw(
        st.one_of(st.ip_addresses(), st.sampled_from(SEEDS).map(ipaddress.ip_address))
    )
    if isinstance(address, ipaddress.IPv4Address):
        host, denoted = draw(ipv4_spelling(address))
    else:
        host, denoted = draw(ipv6_spelling(address))
    scheme = draw(st.sampled_from(["http", "https", "HTTP"]))
    userinfo = draw(st.sampled_from(["", "user@", "user:pw@", "api.example.com@"]))
    port = draw(st.sampled_from(["", ":80", ":8443"]))
    return f"{scheme}://{userinfo}{host}{port}/x?y=1", denoted


@given(address_urls())
def test_any_spelling_of_an_address_is_judged_as_that_address(
    case: tuple[str, IpAddress],
) -> None:
    url, denoted = case
    assert (url_problem(url, []) is None) == oracle_reachable(denoted), url


METADATA_NAMES = [
    "metadata.google.internal",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.tencentyun.com",
    "metadata.platformequinix.com",
    "kubernetes.default.svc",
]
DOTS = [".", "\u3002", "\uff0e", "\uff61"]


@st.composite
def disguised(draw: st.DrawFn, name: str) -> str:
    chars = []
    for char in name:
        if char == ".":
            chars.append(draw(st.sampled_from(DOTS)))
            continue
        char = draw(st.sampled_from([char, char.upper()]))
        chars.append(wide(char) if draw(st.booleans()) else char)
    return "".join(chars) + draw(st.sampled_from(["", ".", "..", "\u3002"]))


@given(st.sampled_from(METADATA_NAMES).flatmap(lambda n: st.tuples(disguised(n), disguised(n))))
def test_metadata_names_are_blocked_in_any_dress(names: tuple[str, str]) -> None:
    in_url, listed = names
    problem = url_problem(f"http://u:p@{in_url}:80/", [*EVERYTHING, listed, in_url])
    assert problem is not None and "never allowed" in problem

"""What the crawl may fetch, in one place: http and https only, and only addresses of
the public internet. A link on a portal page is untrusted input: `file:` would archive
the crawler's own files, `data:` whatever the page made up, and an address such as
169.254.169.254, 10.0.0.1 or 127.0.0.1 would turn the crawler against the network it
runs in (SSRF).

A URL is checked before it is sent (AddressPolicyMiddleware: scheme, and addresses
written as such, which the connection uses without asking DNS); a host name is checked
on the address DNS gives for it, at the moment the connection needs it
(crawler.resolver.PolicyResolver), so that a name resolving (or re-binding) to a
private address is refused too. Loopback (127.0.0.0/8, ::1) is allowed only with
NIANBAO_ALLOW_LOOPBACK=True: the sample portals and the tests serve on 127.0.0.1."""
import ipaddress
import socket
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

SCHEMES = ("http", "https")
# IPv6 prefixes that carry an IPv4 address the packet ends up at: IPv4-mapped
# (::ffff:a.b.c.d), the well-known NAT64 prefix and the local-use NAT64 prefix.
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class PolicyRefused(IgnoreRequest):
    """A request the policy refuses; the spider records it as a failure of stage `policy`."""

    stage = "policy"


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if any(address in network for network in NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(address: str, allow_loopback: bool) -> str | None:
    """None if the crawl may connect to `address` (an IP address as text), else why not."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    inner = embedded_ipv4(ip) if ip.version == 6 else None
    target = inner or ip
    named = f"{address} (IPv4 {inner})" if inner else address
    if target.is_loopback:
        return None if allow_loopback else f"loopback address {named} refused (NIANBAO_ALLOW_LOOPBACK is off)"
    for kind in ("unspecified", "link_local", "multicast", "reserved", "private"):
        if getattr(target, f"is_{kind}"):
            return f"{kind.replace('_', '-')} address {named} refused"
    if not target.is_global:
        return f"non-public address {named} refused"
    return None


def literal_address(host: str) -> str | None:
    """`host` as an IP address if the connection would use it as one without DNS.

    Parsed as the network stack parses it (inet_pton), not as `ipaddress` does, so that
    a form `ipaddress` rejects but the stack accepts (0010.0.0.1) cannot slip through
    as a host name."""
    bare = host.split("%", 1)[0]
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return str(ipaddress.ip_address(socket.inet_pton(family, bare)))
        except (OSError, ValueError):
            continue
    return None


def scheme_refusal(url: str) -> str | None:
    scheme = urlsplit(url).scheme
    if scheme.lower() not in SCHEMES:
        return f"scheme {scheme or '(none)'}: refused (only http and https are fetched)"
    return None


LONGEST_SHOWN_URL = 1000


def shown_url(url: str) -> str:
    """`url` as logged and recorded: a data: URL is a document, not an address; its
    bytes go neither into a log line nor into `failures`; nor do those of a URL too long
    to fetch."""
    if url[:5].lower() == "data:" and len(url) > 80:
        return f"{url[:60]}… ({len(url)} characters)"
    if len(url) > LONGEST_SHOWN_URL:  # refused as too long: its start says where it was
        return f"{url[:200]}… ({len(url)} characters)"
    return url


def url_refusal(url: str, allow_loopback: bool) -> str | None:
    """None if the crawl may send a request for `url`, else a one-line reason. A host
    name passes here: its address is checked when it is resolved."""
    try:
        host = urlsplit(url).hostname
    except ValueError as error:
        return f"malformed URL refused: {error}"
    if scheme_refusal(url):
        return scheme_refusal(url)
    if not host:
        return "URL without a host refused"
    address = literal_address(host)
    return address_refusal(address, allow_loopback) if address else None

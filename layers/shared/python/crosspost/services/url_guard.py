"""The public-URL guard: a URL the server will call must be public https.

Refuses loopback, private, link-local, CGNAT, multicast, reserved and metadata addresses (and
their IPv6 forms) after resolving the host. The local stack may allow exact origins (its
sandbox) through ``local_allowed_origins``; in AWS that list is empty.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from crosspost.errors import ValidationFailedError

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# IETF protocol assignments (192.0.0.8 and friends): Python counts some as global; none hosts a PDS.
_IETF_PROTOCOL = ipaddress.ip_network("192.0.0.0/24")
# IPv6 prefixes that carry an IPv4 address in their last 32 bits: the IPv4 one decides.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _origin(scheme: str, host: str, port: int | None) -> str:
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped, compatible, NAT64, 6to4 or Teredo."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _IPV4_COMPATIBLE or any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address; False for loopback, private, link-local
    (169.254.169.254, the metadata service), CGNAT, multicast, reserved, unspecified, and for
    IPv6 addresses that embed such an IPv4 address (::ffff:127.0.0.1, 64:ff9b::a9fe:a9fe, ...)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # A mapped or NAT64 address IS its IPv4 address; 6to4 and Teredo must pass both ways.
            translated = ip.ipv4_mapped is not None or any(ip in net for net in _NAT64)
            candidates = [embedded] if translated else [ip, embedded]
    return all(_is_public(candidate) for candidate in candidates)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and (ip.is_site_local or ip in _IPV4_COMPATIBLE):
        return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and (ip in _CGNAT or ip in _IETF_PROTOCOL))
    )


def check_public_url(url: str, *, rule: str, field: str, allowed_origins: tuple[str, ...]) -> str:
    """Return the normalised URL, or raise ``validation_failed`` with ``rule``."""

    def refuse(reason: str) -> ValidationFailedError:
        return ValidationFailedError(f"{field} must be a public https URL ({reason}).", rule=rule, field=field)

    if any(c == "\\" or ord(c) < 0x21 or ord(c) == 0x7F for c in url.strip()):
        # Parsers disagree about backslashes and control characters: refuse rather than guess.
        raise refuse("not a URL")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise refuse("not a URL") from exc
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password:
        raise refuse("no host, or credentials in the URL")
    origin = _origin(parts.scheme, host, port)
    if origin in allowed_origins:
        return url.strip().rstrip("/")
    if parts.scheme != "https":
        raise refuse("only https")
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise refuse("the host does not resolve") from exc
    if not infos or not all(is_public_address(str(info[4][0]).split("%")[0]) for info in infos):
        raise refuse("the host is not a public address")
    return url.strip().rstrip("/")

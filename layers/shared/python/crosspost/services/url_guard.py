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


def _origin(scheme: str, host: str, port: int | None) -> str:
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT)
    )


def check_public_url(url: str, *, rule: str, field: str, allowed_origins: tuple[str, ...]) -> str:
    """Return the normalised URL, or raise ``validation_failed`` with ``rule``."""

    def refuse(reason: str) -> ValidationFailedError:
        return ValidationFailedError(f"{field} must be a public https URL ({reason}).", rule=rule, field=field)

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

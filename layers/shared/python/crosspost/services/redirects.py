"""Where a connect flow may send the browser: the ``redirectUri`` allow-list (no open redirect).

API.md: ``POST /v1/accounts/connect/{platform}`` takes an optional ``redirectUri``; it must be on
the deployment's allow-list (``REDIRECT_URI_ALLOW_LIST``), else 400 ``validation_failed`` rule
``redirectUri.not_allowed``. The OAuth connect flows call ``check_redirect_uri`` before storing
the state, and the browser callback redirects only to the URI stored with that state.

An entry is ``scheme://host[:port][/path]``. A URI matches when its scheme, host and port equal
the entry's exactly (default ports filled in, case-insensitive scheme and host) and its path is
the entry's path or below it at a segment boundary (entry ``/oauth`` allows ``/oauth`` and
``/oauth/done``, not ``/oauthx``; an entry ending in ``/`` is a plain prefix). A query is allowed;
a fragment is not (RFC 6749 §3.1.2).

Parsers disagree about odd URLs, and an attacker picks the one where they disagree, so anything
odd is refused instead of normalised: non-ASCII (IDN homographs: use the xn-- form), whitespace
and control characters, backslashes, userinfo (``@``), percent-encoding in the authority, ``%2e``
``%2f`` ``%5c`` in the path, ``.``/``..``/empty path segments, a trailing dot on the host, ports
with leading zeros, scheme-relative (``//host``) and scheme-less URIs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from crosspost.errors import ValidationFailedError

RULE: Final = "redirectUri.not_allowed"
MAX_LENGTH: Final = 2048

_URI: Final = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)(?:\?[^#]*)?$")
_HOST_PORT: Final = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>[1-9][0-9]{0,4}))?$")
_LABEL: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_ENCODED_SEPARATORS: Final = re.compile(r"%(?:2e|2f|5c)", re.IGNORECASE)
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


@dataclass(frozen=True)
class _Parsed:
    scheme: str
    host: str
    port: int
    path: str


def _parse(uri: str) -> _Parsed | None:
    """The parts of a well-formed absolute http(s) URI, or None for anything odd."""
    if not uri or len(uri) > MAX_LENGTH:
        return None
    if any(not (0x21 <= ord(c) <= 0x7E) or c == "\\" for c in uri):
        return None  # non-ASCII, whitespace, control characters, backslashes
    match = _URI.match(uri)
    if match is None:
        return None
    scheme = match["scheme"].lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    authority = match["authority"]
    if "@" in authority or "%" in authority:
        return None
    host_port = _HOST_PORT.match(authority)
    if host_port is None:
        return None
    host = host_port["host"].lower()
    if not host.startswith("[") and not all(_LABEL.match(label) for label in host.split(".")):
        return None  # empty labels (a trailing dot, "a..b"), leading/trailing hyphens
    port = int(host_port["port"]) if host_port["port"] else _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        return None
    path = match["path"] or "/"
    if _ENCODED_SEPARATORS.search(path):
        return None
    segments = path.split("/")[1:]
    if any(segment in ("", ".", "..") for segment in segments[:-1]) or segments[-1] in (".", ".."):
        return None  # "//", "/./", "/../" (a trailing "/" is fine)
    return _Parsed(scheme, host, port, path)


def _matches(candidate: _Parsed, entry: _Parsed) -> bool:
    if (candidate.scheme, candidate.host, candidate.port) != (entry.scheme, entry.host, entry.port):
        return False
    if entry.path.endswith("/"):
        return candidate.path.startswith(entry.path)
    return candidate.path == entry.path or candidate.path.startswith(entry.path + "/")


def is_allowed_redirect_uri(uri: str, allow_list: Iterable[str]) -> bool:
    candidate = _parse(uri)
    if candidate is None:
        return False
    # An entry that does not parse matches nothing (a typo in the setting never opens a hole).
    entries = (entry for entry in map(_parse, allow_list) if entry is not None)
    return any(_matches(candidate, entry) for entry in entries)


def invalid_entries(allow_list: Iterable[str]) -> list[str]:
    """Entries of the setting that can never match (for operators' checks and tests)."""
    return [entry for entry in allow_list if _parse(entry) is None]


def check_redirect_uri(uri: str, allow_list: Iterable[str]) -> str:
    """``uri`` unchanged when the allow-list allows it, else 400 ``redirectUri.not_allowed``."""
    if not is_allowed_redirect_uri(uri, allow_list):
        raise ValidationFailedError(
            "redirectUri is not on this deployment's allow-list.",
            rule=RULE,
            field="redirectUri",
            remediation="Add the exact origin and path to REDIRECT_URI_ALLOW_LIST, or omit redirectUri.",
        )
    return uri

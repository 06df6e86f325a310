"""Masking credentials in text and data before they leave the process (logs, stored errors, responses).

The last line of defence: code must not put secrets in messages in the first place, but an HTTP
client's exception can carry a URL with ``access_token=...`` (Meta's Graph API takes tokens as
query parameters), a platform can echo a request, and a traceback prints what it holds. Every
log line (``crosspost.observability``), every platform error (``crosspost.errors.PlatformError``)
and every error envelope (``crosspost.api.errors``) goes through here.

Masked: JWTs (Bluesky session tokens), our API keys, Bearer credentials, ``name=value`` /
``"name": "value"`` pairs whose name says token, secret or password, platform tokens with a
known prefix (Meta ``EAA...``, Threads, Instagram, Pinterest) and Bluesky app passwords
(``xxxx-xxxx-xxxx-xxxx``). Free text can still hide a token of unknown shape: adapters copy only
parsed error fields (never request data) into messages.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Final

MASK: Final = "***"

# Names whose value is a credential, in query strings, form bodies, JSON and headers.
_SECRET_NAMES: Final = "|".join(  # names of secrets, not a secret
    (
        r"access_?token",
        r"refresh_?token",
        r"id_?token",
        r"access_?jwt",
        r"refresh_?jwt",
        r"client_?secret",
        r"app_?secret",
        r"app_?password",
        r"password",
        r"passwd",
        r"code_?verifier",
        r"api_?key",
        r"x-api-key",
        r"secret",
        r"token",
    )
)


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], ...]:
    # compiled on first use, not at import: a cold start that logs nothing pays nothing (~3 ms)
    return (
        # JWTs: header.payload.signature, base64url (Bluesky access and refresh tokens)
        re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        # crosspost API keys, whatever follows the prefix
        re.compile(r"cp_(?:live|test)_[A-Za-z0-9_-]+"),
        # Authorization: Bearer <token> (and "bearer%20..." in URLs)
        re.compile(r"(?i)(bearer(?:\s+|%20|\+))[A-Za-z0-9._~+/=-]+"),
        # name=value, name: value, "name": "value", name%3Dvalue (also JSON escaped inside JSON: \"name\": \"value\")
        re.compile(rf"(?i)((?:{_SECRET_NAMES})(?:\\?[\"'])?\s*(?:[=:]|%3D)\s*(?:\\?[\"'])?)[^\s&\"',;}}\\]+"),
        # Platform tokens with a known shape, wherever they appear in free text: Meta (EAA...),
        # Threads (THAA...), Instagram (IGQV..., IGAA...), Pinterest (pina_...)
        re.compile(r"\b(?:EAA|THAA|IGQV|IGAA|pina_)[A-Za-z0-9_-]{20,}"),
        # Bluesky app passwords: four groups of four letters or digits
        re.compile(r"(?<![A-Za-z0-9-])[A-Za-z0-9]{4}(?:-[A-Za-z0-9]{4}){3}(?![A-Za-z0-9-])"),
    )


def redact(text: str) -> str:
    """``text`` with every credential-looking part replaced by ``***``."""
    for pattern in _patterns():
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


def scrub(value: Any, _depth: int = 0) -> Any:
    """A copy of ``value`` (JSON-like data) with credentials masked: values under a secret-named
    key are replaced whole, strings are redacted. Bounded depth, so hostile nesting cannot recurse
    without end."""
    if _depth > 20:
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            key: (MASK if isinstance(key, str) and _is_secret_name(key) else scrub(item, _depth + 1))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item, _depth + 1) for item in value]
    return value


@lru_cache(maxsize=1)
def _secret_name() -> re.Pattern[str]:
    return re.compile(rf"(?i)^(?:{_SECRET_NAMES})$")


def _is_secret_name(name: str) -> bool:
    pattern = _secret_name()
    return bool(pattern.match(name.replace("-", "_"))) or bool(pattern.match(name))

"""The explicit list of platforms and where their adapters live.

Adding a platform: one module in this package, one line in ``_ADAPTERS`` (and, for a
credentials-connect platform, one in ``_CREDENTIALS_AUTH``), plus its tests. Modules are
imported on first use so a function only pays for the platforms it touches.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Final

from crosspost.errors import NotFoundError
from crosspost.platforms.base import CredentialsAuth, PlatformAdapter

if TYPE_CHECKING:
    import httpx

# Every platform name of the API contract, built or not.
PLATFORMS: Final = ("bluesky", "facebook", "instagram", "linkedin", "pinterest", "threads", "twitter")

_ADAPTERS: Final[dict[str, str]] = {
    "bluesky": "crosspost.platforms.bluesky:BlueskyAdapter",
}
_CREDENTIALS_AUTH: Final[dict[str, str]] = {
    "bluesky": "crosspost.platforms.bluesky:BlueskyAuth",
}


def _load(ref: str) -> type:
    module, _, name = ref.partition(":")
    cls: type = getattr(import_module(module), name)
    return cls


def registered_platforms() -> tuple[str, ...]:
    return tuple(_ADAPTERS)


def adapter_class(platform: str) -> type[PlatformAdapter]:
    ref = _ADAPTERS.get(platform)
    if ref is None:
        raise NotFoundError(f"Platform '{platform}' is not supported.", rule="platform.unsupported", field="platform")
    cls: type[PlatformAdapter] = _load(ref)
    return cls


def adapter_for(platform: str, http: httpx.AsyncClient) -> PlatformAdapter:
    return adapter_class(platform)(http)


def credentials_auth_for(platform: str, http: httpx.AsyncClient) -> CredentialsAuth | None:
    ref = _CREDENTIALS_AUTH.get(platform)
    if ref is None:
        return None
    auth: CredentialsAuth = _load(ref)(http)
    return auth

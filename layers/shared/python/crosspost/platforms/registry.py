"""The explicit list of platforms and where their adapters live.

Adding a platform: one module in this package, one line in ``_ADAPTERS`` and one in
``_CREDENTIALS_AUTH`` or ``_OAUTH`` (how it connects), plus its tests. Modules are
imported on first use so a function only pays for the platforms it touches.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Final

from crosspost.errors import NotFoundError

if TYPE_CHECKING:
    import httpx

    from crosspost.platforms.base import CredentialsAuth, OAuth2Auth, PlatformAdapter, PlatformConfig

# Every platform name of the API contract, built or not.
PLATFORMS: Final = ("bluesky", "facebook", "instagram", "linkedin", "pinterest", "threads", "twitter")

_ADAPTERS: Final[dict[str, str]] = {
    "bluesky": "crosspost.platforms.bluesky:BlueskyAdapter",
    "facebook": "crosspost.platforms.facebook:FacebookAdapter",
    "instagram": "crosspost.platforms.instagram:InstagramAdapter",
    "linkedin": "crosspost.platforms.linkedin:LinkedInAdapter",
    "pinterest": "crosspost.platforms.pinterest:PinterestAdapter",
    "threads": "crosspost.platforms.threads:ThreadsAdapter",
    "twitter": "crosspost.platforms.twitter:TwitterAdapter",
}
_CREDENTIALS_AUTH: Final[dict[str, str]] = {
    "bluesky": "crosspost.platforms.bluesky:BlueskyAuth",
}
_OAUTH: Final[dict[str, str]] = {
    # One Meta login yields the facebook rows and the instagram rows (Instagram has no entry here).
    "facebook": "crosspost.platforms.facebook:FacebookAuth",
    "linkedin": "crosspost.platforms.linkedin:LinkedInAuth",
    "pinterest": "crosspost.platforms.pinterest:PinterestAuth",
    "threads": "crosspost.platforms.threads:ThreadsAuth",
    "twitter": "crosspost.platforms.twitter:TwitterAuth",
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


def adapter_for(platform: str, http: httpx.AsyncClient, config: PlatformConfig | None = None) -> PlatformAdapter:
    return adapter_class(platform)(http, config)


def oauth_platforms() -> tuple[str, ...]:
    return tuple(_OAUTH)


def oauth_auth_for(platform: str, http: httpx.AsyncClient, config: PlatformConfig) -> OAuth2Auth | None:
    ref = _OAUTH.get(platform)
    if ref is None:
        return None
    auth: OAuth2Auth = _load(ref)(http, config)
    return auth


def credentials_auth_for(platform: str, http: httpx.AsyncClient) -> CredentialsAuth | None:
    ref = _CREDENTIALS_AUTH.get(platform)
    if ref is None:
        return None
    auth: CredentialsAuth = _load(ref)(http)
    return auth

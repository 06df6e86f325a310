"""The HTTP client adapters use: async httpx with timeouts and a TLS context built once.

Building an SSL context costs ~10 ms, so it is made once per process and shared by the
short-lived clients (an ``AsyncClient`` belongs to one event loop, and each invocation runs
its own loop).
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from crosspost.lazy_imports import lazy_module

if TYPE_CHECKING:
    import httpx
else:  # adapters import json_object for preflight-free code paths too; httpx loads on first use
    httpx = lazy_module("httpx")

USER_AGENT = "crosspost/0.1 (+https://github.com/crosspost)"


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def new_client(timeout_seconds: float, *, allowed_origins: tuple[str, ...] | None = None) -> httpx.AsyncClient:
    """A client that reaches public https origins only (``safe_http``: the SSRF guard at connect
    time, so a platform URL a user chose, or one that rebinds in DNS, cannot reach the inside).
    ``allowed_origins``: the local stack's sandbox; default from settings (empty in AWS)."""
    from crosspost.platforms.safe_http import safe_client

    if allowed_origins is None:
        from crosspost.settings import get_settings

        allowed_origins = get_settings().local_allowed_origins
    return safe_client(
        timeout_seconds,
        allowed_origins=allowed_origins,
        ssl_context=_ssl_context(),
        headers={"User-Agent": USER_AGENT},
    )


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


def loop_client(timeout_seconds: float) -> httpx.AsyncClient:
    """One client per event loop. Lambda keeps its loop between invocations of a warm
    container, so connections to the platforms are reused across batches."""
    loop = asyncio.get_running_loop()
    found = _per_loop.get(loop)
    if found is None or found.is_closed:
        found = new_client(timeout_seconds)
        _per_loop[loop] = found
    return found


def parsed_json(response: httpx.Response) -> Any:
    """The response's JSON, or None when its body is not JSON (an error page, nothing)."""
    try:
        return response.json()
    except ValueError:
        return None


def json_object(response: httpx.Response, *, platform: str, label: str, creates: bool) -> dict[str, Any]:
    """The JSON object a platform answered with. Anything else is a platform fault, sorted like
    every other one: on a call that creates something the outcome is unknown, otherwise nothing
    was done (``label`` is the platform's display name, e.g. "X")."""
    data = parsed_json(response)
    if isinstance(data, dict):
        return data
    from crosspost.errors import OutcomeUnknownError, PlatformUnavailableError

    kind = OutcomeUnknownError if creates else PlatformUnavailableError
    raise kind(
        f"{label} sent an answer crosspost cannot read (HTTP {response.status_code}).",
        platform=platform,
        rule=f"{platform}.outcome_unknown" if creates else f"{platform}.unavailable",
        platform_response={"status": response.status_code},
    )

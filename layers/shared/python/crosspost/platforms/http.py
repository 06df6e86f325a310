"""The HTTP client adapters use: async httpx with timeouts and a TLS context built once.

Building an SSL context costs ~10 ms, so it is made once per process and shared by the
short-lived clients (an ``AsyncClient`` belongs to one event loop, and each invocation runs
its own loop).
"""

from __future__ import annotations

import ssl
from functools import lru_cache

import httpx

USER_AGENT = "crosspost/0.1 (+https://github.com/crosspost)"


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def new_client(timeout_seconds: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds)),
        verify=_ssl_context(),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )

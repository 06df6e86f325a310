"""A small driver for the simulated Meta platforms (``/facebook`` and ``/instagram``) shared by
the Facebook and Instagram sandbox tests: the real ``FacebookAuth`` connect flow, the real
adapters over HTTP, raw Graph calls and the sandbox's control endpoints."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
from ulid import ULID

from crosspost.platforms.base import (
    AppCredentials,
    ConnectedAccount,
    MediaItem,
    PlatformConfig,
    PublishProgress,
    PublishRequest,
    PublishResult,
    TokenSet,
)
from crosspost.platforms.facebook import FacebookAdapter, FacebookAuth
from crosspost.platforms.instagram import InstagramAdapter
from local.sandbox import SandboxServer
from local.sandbox.oauth import SANDBOX_APPS

T = TypeVar("T")
REDIRECT_URI = "https://app.example/crosspost/callback"
APP = AppCredentials(SANDBOX_APPS["facebook"]["clientId"], SANDBOX_APPS["facebook"]["clientSecret"])


def post_request(text: str | None = None, *media: MediaItem, **kw: Any) -> PublishRequest:
    post_id = f"post_{ULID()}"
    return PublishRequest(
        post_id=post_id, text=text or f"Sandbox check {post_id}", created_at=datetime.now(UTC), media=media, **kw
    )


class MetaSandbox:
    def __init__(self, server: SandboxServer) -> None:
        self.url = server.url

    def config(self, platform: str) -> PlatformConfig:
        return PlatformConfig(base_url=f"{self.url}/{platform}", load_app=lambda: APP)

    def file(self, name: str) -> str:
        return f"{self.url}/_sandbox/files/{name}"

    def image(self, name: str = "square.jpg", **kw: Any) -> MediaItem:
        return MediaItem(kind="image", url=self.file(name), **kw)

    def video(self, name: str = "clip.mp4") -> MediaItem:
        return MediaItem(kind="video", url=self.file(name), content_type="video/mp4")

    # ---- control ---------------------------------------------------------------------------

    def control(self, platform: str, method: str, action: str, body: Any = None) -> httpx.Response:
        return httpx.request(method, f"{self.url}/_sandbox/{platform}/{action}", json=body, timeout=5)

    def posts(self, platform: str) -> list[dict[str, Any]]:
        return list(self.control(platform, "GET", "posts").json()["posts"])

    def fault(self, platform: str, **spec: Any) -> None:
        self.control(platform, "POST", "faults", spec).raise_for_status()

    def settings(self, **spec: Any) -> dict[str, Any]:
        response = self.control("instagram", "POST", "settings", spec)
        response.raise_for_status()
        return dict(response.json())

    def graph(self, platform: str, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, f"{self.url}/{platform}/v21.0/{path}", headers=headers, timeout=10, **kw)

    # ---- connect ---------------------------------------------------------------------------

    @staticmethod
    def _run(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run(coro)

    def authorize(self, user: str | None = None, *, extended: bool = False) -> str:
        """Consent on the sandbox's dialog; the code from the redirect."""

        async def go() -> str:
            async with httpx.AsyncClient(timeout=5) as http:
                auth = FacebookAuth(http, self.config("facebook"))
                url = auth.authorization_url(
                    state="st", redirect_uri=REDIRECT_URI, code_challenge=None, extended_scopes=extended
                )
                if user is not None:
                    url += f"&sandbox_user={user}"
                consent = await http.get(url)
                assert consent.status_code == 302, consent.text
                query = parse_qs(urlsplit(consent.headers["Location"]).query)
                assert query["state"] == ["st"]
                return query["code"][0]

        return self._run(go())

    def complete(self, code: str, *, redirect_uri: str = REDIRECT_URI) -> list[ConnectedAccount]:
        async def go() -> list[ConnectedAccount]:
            async with httpx.AsyncClient(timeout=10) as http:
                return await FacebookAuth(http, self.config("facebook")).complete(
                    code=code, redirect_uri=redirect_uri, code_verifier=None
                )

        return self._run(go())

    def connect(self, user: str | None = None, *, extended: bool = False) -> list[ConnectedAccount]:
        return self.complete(self.authorize(user, extended=extended))

    def account(self, platform: str, user: str | None = None) -> ConnectedAccount:
        return next(a for a in self.connect(user) if a.platform == platform)

    # ---- the adapters ----------------------------------------------------------------------

    def _adapter(self, platform: str, http: httpx.AsyncClient) -> FacebookAdapter | InstagramAdapter:
        config = self.config(platform)
        return FacebookAdapter(http, config) if platform == "facebook" else InstagramAdapter(http, config)

    def attempt(
        self, platform: str, tokens: TokenSet, request: PublishRequest, *, timeout: float = 5.0
    ) -> PublishResult | PublishProgress:
        async def go() -> PublishResult | PublishProgress:
            async with httpx.AsyncClient(timeout=timeout) as http:
                return await self._adapter(platform, http).publish(tokens, request)

        return self._run(go())

    def publish(
        self, platform: str, tokens: TokenSet, request: PublishRequest, *, timeout: float = 5.0
    ) -> PublishResult:
        """Publish, resuming from each PublishProgress (as the publisher does) until a result."""
        for _ in range(40):
            attempt = replace(request, deadline=time.monotonic() + 3)
            outcome = self.attempt(platform, tokens, attempt, timeout=timeout)
            if isinstance(outcome, PublishResult):
                return outcome
            request = replace(request, progress=outcome.state)
            time.sleep(0.1)
        raise AssertionError("still in progress")

    def find(self, platform: str, tokens: TokenSet, request: PublishRequest) -> PublishResult | None:
        async def go() -> PublishResult | None:
            async with httpx.AsyncClient(timeout=5) as http:
                return await self._adapter(platform, http).find_published(tokens, request)

        return self._run(go())

    def refresh(self, platform: str, tokens: TokenSet) -> TokenSet:
        async def go() -> TokenSet:
            async with httpx.AsyncClient(timeout=5) as http:
                return await self._adapter(platform, http).refresh(tokens)

        return self._run(go())

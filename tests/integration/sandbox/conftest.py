"""A sandbox started for each test module (on 127.0.0.1), reset before every test, and a small
client that drives it: control endpoints, raw XRPC, and the real Bluesky adapter over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any

import httpx
import pytest

from crosspost.platforms.base import ConnectedAccount, PublishRequest, PublishResult, TokenSet
from crosspost.platforms.bluesky import BlueskyAdapter, BlueskyAuth
from local.sandbox import SANDBOX_ACCOUNTS, SandboxServer, start_sandbox


class BlueskySandboxClient:
    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.url = server.url
        self.service = f"{server.url}/bluesky"

    # ---- control ---------------------------------------------------------------------------

    def control(self, method: str, action: str, body: Any = None) -> httpx.Response:
        return httpx.request(method, f"{self.url}/_sandbox/bluesky/{action}", json=body, timeout=5)

    def posts(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "posts").json()["posts"])

    def fault(self, **spec: Any) -> None:
        self.control("POST", "faults", spec).raise_for_status()

    def new_account(self, **spec: Any) -> dict[str, Any]:
        response = self.control("POST", "accounts", spec)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def revoke(self, handle: str) -> None:
        self.control("POST", "revoke-sessions", {"handle": handle}).raise_for_status()

    def access_ttl(self, seconds: float) -> None:
        self.control("POST", "settings", {"accessTokenTtlSeconds": seconds}).raise_for_status()

    # ---- raw XRPC --------------------------------------------------------------------------

    def xrpc(self, method: str, nsid: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.request(method, f"{self.service}/xrpc/{nsid}", headers=headers, timeout=5, **kwargs)

    def session(self, identifier: str | None = None, password: str | None = None) -> dict[str, Any]:
        seed = SANDBOX_ACCOUNTS["bluesky"]
        body = {"identifier": identifier or seed["handle"], "password": password or seed["appPassword"]}
        response = self.xrpc("POST", "com.atproto.server.createSession", json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    # ---- the adapter -----------------------------------------------------------------------

    @staticmethod
    def _run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run(coro)

    def login(self, credentials: dict[str, str] | None = None, *, timeout: float = 5.0) -> ConnectedAccount:
        async def go() -> ConnectedAccount:
            async with httpx.AsyncClient(timeout=timeout) as http:
                creds = {**SANDBOX_ACCOUNTS["bluesky"], **(credentials or {}), "service": self.service}
                return await BlueskyAuth(http).login(creds)

        result: ConnectedAccount = self._run(go())
        return result

    def publish(self, tokens: TokenSet, request: PublishRequest, *, timeout: float = 5.0) -> PublishResult:
        async def go() -> PublishResult:
            async with httpx.AsyncClient(timeout=timeout) as http:
                return await BlueskyAdapter(http).publish(tokens, request)

        result: PublishResult = self._run(go())
        return result

    def refresh(self, tokens: TokenSet) -> TokenSet:
        async def go() -> TokenSet:
            async with httpx.AsyncClient(timeout=5) as http:
                return await BlueskyAdapter(http).refresh(tokens)

        result: TokenSet = self._run(go())
        return result

    def find_published(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | None:
        async def go() -> PublishResult | None:
            async with httpx.AsyncClient(timeout=5) as http:
                return await BlueskyAdapter(http).find_published(tokens, request)

        result: PublishResult | None = self._run(go())
        return result


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxServer]:
    server = start_sandbox()
    yield server
    server.stop()


@pytest.fixture
def bsky(sandbox_server: SandboxServer) -> BlueskySandboxClient:
    httpx.post(f"{sandbox_server.url}/_sandbox/reset", timeout=5).raise_for_status()
    return BlueskySandboxClient(sandbox_server)

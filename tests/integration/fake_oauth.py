"""A tiny OAuth platform for the connect and refresh tests, so they need no platform helper's
adapter: ``FakeOAuth`` (an ``OAuth2Auth``) and ``FakeAdapter`` (a ``PlatformAdapter`` whose
``refresh`` counts its calls). Register them with ``fake_platform(monkeypatch, "twitter")``.

Codes the fake understands: ``user:<id>`` connects platform account ``<id>``; ``refused`` is a code
the platform refuses (401); ``nothing`` is a login with nothing to connect (400, like
``facebook.pages.none``); ``down`` is the platform being unavailable (503).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx
import pytest

from crosspost.clock import now
from crosspost.errors import AuthExpiredError, ContentRejectedError, PlatformError, PlatformUnavailableError
from crosspost.platforms import registry
from crosspost.platforms.base import (
    Capabilities,
    ConnectedAccount,
    PlatformAdapter,
    PlatformConfig,
    PublishRequest,
    PublishResult,
    TokenSet,
)

AUTHORIZE_URL = "https://fake.example/oauth/authorize"


class FakeWorld:
    """What the fake platform saw and issued, shared by its strategy and adapter instances."""

    lock = threading.Lock()
    challenges: ClassVar[dict[str, str | None]] = {}  # state -> code_challenge sent at authorize
    exchanges: ClassVar[list[dict[str, Any]]] = []  # every complete() call
    issued: ClassVar[list[str]] = []  # every token ever issued (none may leak)
    refreshes: ClassVar[int] = 0
    refresh_delay: ClassVar[float] = 0.0
    refuse_refresh: ClassVar[bool] = False
    refresh_after: ClassVar[timedelta | None] = timedelta(days=50)
    connection_ttl: ClassVar[timedelta | None] = timedelta(days=60)

    @classmethod
    def reset(cls) -> None:
        cls.challenges = {}
        cls.exchanges = []
        cls.issued = []
        cls.refreshes = 0
        cls.refresh_delay = 0.0
        cls.refuse_refresh = False
        cls.refresh_after = timedelta(days=50)
        cls.connection_ttl = timedelta(days=60)

    @classmethod
    def tokens(cls, user: str) -> TokenSet:
        at = now()
        access, refresh = f"fake-access-{secrets.token_hex(12)}", f"fake-refresh-{secrets.token_hex(12)}"
        with cls.lock:
            cls.issued += [access, refresh]
        return TokenSet(
            access_token=access,
            refresh_token=refresh,
            access_expires_at=at + timedelta(hours=2),
            connection_expires_at=at + cls.connection_ttl if cls.connection_ttl else None,
            refresh_after=at + cls.refresh_after if cls.refresh_after else None,
            extra={"user": user},
        )


class FakeOAuth:
    platform = "twitter"
    uses_pkce = True

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig) -> None:
        self.http = http
        self.config = config

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None, extended_scopes: bool
    ) -> str:
        app = self.config.app()
        FakeWorld.challenges[state] = code_challenge
        query = {"client_id": app.client_id, "redirect_uri": redirect_uri, "state": state, "response_type": "code"}
        if code_challenge:
            query |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        query["scope"] = "read write offline" if extended_scopes else "read write"
        return f"{AUTHORIZE_URL}?{urlencode(query)}"

    async def complete(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> list[ConnectedAccount]:
        self.config.app()
        FakeWorld.exchanges.append({"code": code, "redirect_uri": redirect_uri, "code_verifier": code_verifier})
        if code == "refused":
            raise AuthExpiredError(
                "The authorization code is invalid or expired.",
                platform=self.platform,
                rule="fake.auth.code_invalid",
                platform_response={"error": "invalid_grant"},
            )
        if code == "nothing":
            raise ContentRejectedError(
                "The user manages no Pages.", platform=self.platform, rule="facebook.pages.none", platform_response={}
            )
        if code == "down":
            raise PlatformUnavailableError("The platform is down.", platform=self.platform)
        user = code.removeprefix("user:")
        return [
            ConnectedAccount(
                platform=self.platform,
                platform_account_id=user,
                username=f"{user}-name",
                tokens=FakeWorld.tokens(user),
                display_name=f"User {user}",
            )
        ]


class FakeAdapter(PlatformAdapter):
    capabilities = Capabilities(platform="twitter", text_max_graphemes=280)

    async def publish(self, tokens: TokenSet, request: PublishRequest) -> PublishResult:
        return PublishResult(uri=f"fake:{request.post_id}")

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        with FakeWorld.lock:
            FakeWorld.refreshes += 1
        if FakeWorld.refresh_delay:
            await asyncio.sleep(FakeWorld.refresh_delay)
        if FakeWorld.refuse_refresh:
            raise AuthExpiredError(
                "The refresh token was revoked.",
                platform=self.platform,
                rule="fake.auth.refresh_revoked",
                platform_response={"error": "invalid_grant"},
            )
        return FakeWorld.tokens(str(tokens.extra.get("user")))

    def classify(self, response: httpx.Response, *, creates: bool) -> PlatformError:
        return PlatformUnavailableError("unused", platform=self.platform)


def fake_platform(monkeypatch: pytest.MonkeyPatch, *platforms: str) -> type[FakeWorld]:
    """Register the fake as the OAuth strategy and adapter of ``platforms`` for one test."""
    FakeWorld.reset()
    for platform in platforms:
        monkeypatch.setitem(registry._OAUTH, platform, f"{__name__}:FakeOAuth")
        monkeypatch.setitem(registry._ADAPTERS, platform, f"{__name__}:FakeAdapter")
    return FakeWorld


def expires_soon(at: datetime | None = None) -> datetime:
    return (at or now()) + timedelta(minutes=1)

"""OAuth connect flows (API.md "Start a connect flow", "Finish a connect flow", "OAuth callback").

- ``start`` stores a random single-use state bound to the workspace, the profile and the
  platform (with the PKCE verifier where the platform uses PKCE, kept server-side) and returns
  the platform's authorization URL;
- ``complete`` (API key) and ``callback`` (browser, no key: the state names the workspace)
  consume the state exactly once with one conditional delete, exchange the code through the
  platform's ``OAuth2Auth`` and upsert the account rows as the credentials flow does.

The state is consumed before the code is exchanged: a second use of the same state (a replayed
callback, a double-submitted form) is refused even while the first exchange is running.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, TypeVar

from crosspost.aws.oauth_states import OAuthStateStore
from crosspost.aws.stores import WorkspaceStore
from crosspost.clock import now
from crosspost.errors import (
    AuthExpiredError,
    ConflictError,
    ContentRejectedError,
    CrosspostError,
    NotFoundError,
    ValidationFailedError,
)
from crosspost.models.domain import OAuthState
from crosspost.observability import logger
from crosspost.platforms.base import ConnectedAccount, OAuth2Auth, PlatformConfig, PlatformNotConfiguredError
from crosspost.services.accounts import AccountService, ConnectResult
from crosspost.services.redirects import check_redirect_uri
from crosspost.services.workspaces import resolve_profile
from crosspost.settings import Settings

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")
STATE_TTL: Final = timedelta(minutes=15)
STATE_INVALID_RULE: Final = "oauth.state_invalid"
NOT_CONFIGURED_RULE: Final = "platform.not_configured"
CALLBACK_PATH: Final = "/v1/oauth/{platform}/callback"
# Provider error codes (RFC 6749 §4.1.2.1) are short ASCII tokens; anything else is not echoed.
_PROVIDER_ERROR = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class StartedFlow:
    authorization_url: str
    state: str
    expires_at: datetime


@dataclass(frozen=True)
class CallbackOutcome:
    """What the browser callback shows: the connected rows, or the error; and where to send the
    browser (the app's redirectUri from start) when the state named one."""

    result: ConnectResult | None = None
    error: CrosspostError | None = None
    return_uri: str | None = None
    state: str | None = None


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def state_invalid() -> ConflictError:
    return ConflictError(
        "This connect flow is unknown, expired, already used, or belongs to another workspace or platform.",
        rule=STATE_INVALID_RULE,
        field="state",
        remediation="Start the connect flow again.",
    )


def not_configured(platform: str) -> NotFoundError:
    return NotFoundError(
        f"This deployment has no {platform} app configured.",
        rule=NOT_CONFIGURED_RULE,
        field="platform",
        platform=platform,
        remediation='Add the platform\'s OAuth client to the platform apps secret (README "Platform apps").',
    )


def _declined(platform: str, error: str) -> AuthExpiredError:
    """The provider sent the browser back with ``error=`` instead of a code (the user declined)."""
    provider_error = error if _PROVIDER_ERROR.match(error) else "invalid"
    if provider_error == "access_denied":
        message, rule = "The user declined to connect the account.", "oauth.access_denied"
    else:
        message, rule = "The platform did not authorize the connection.", "oauth.authorization_failed"
    return AuthExpiredError(
        message,
        platform=platform,
        rule=rule,
        platform_response={"error": provider_error},
        remediation="Start the connect flow again and approve the access.",
        http_status=401,
    )


def unsupported(platform: str) -> NotFoundError:
    return NotFoundError(
        f"Connecting {platform} is not available in this version yet.", rule="platform.unsupported", field="platform"
    )


class OAuthService:
    def __init__(
        self,
        settings: Settings,
        workspaces: WorkspaceStore,
        states: OAuthStateStore,
        accounts: AccountService,
        configs: Callable[[str], PlatformConfig],
    ) -> None:
        self.settings = settings
        self.workspaces = workspaces
        self.states = states
        self.accounts = accounts
        self.configs = configs

    # ---- start --------------------------------------------------------------------------------

    def start(
        self,
        workspace_id: str,
        platform: str,
        *,
        profile_id: str | None,
        redirect_uri: str | None,
        extended_scopes: bool,
        request_base_url: str,
    ) -> StartedFlow:
        """``request_base_url``: the API's origin as this request reached it, for the callback
        URL when the deployment does not set PUBLIC_BASE_URL."""
        self._require_oauth(platform)
        profile = resolve_profile(self.workspaces, workspace_id, profile_id)
        if redirect_uri is not None:
            check_redirect_uri(redirect_uri, self.settings.redirect_uri_allow_list)
        base = (self.settings.public_base_url or request_base_url).rstrip("/")
        sent_redirect_uri = redirect_uri or base + CALLBACK_PATH.format(platform=platform)
        state = secrets.token_urlsafe(32)  # 256 bits
        verifier = secrets.token_urlsafe(64)  # 86 characters, inside RFC 7636's 43..128

        async def authorization_url() -> tuple[str, bool]:
            async with self._client() as http:
                auth = self._auth(platform, http)
                url = auth.authorization_url(
                    state=state,
                    redirect_uri=sent_redirect_uri,
                    code_challenge=pkce_challenge(verifier) if auth.uses_pkce else None,
                    extended_scopes=extended_scopes,
                )
                return url, auth.uses_pkce

        url, uses_pkce = self._run(platform, authorization_url())
        at = now()
        flow = OAuthState(
            state=state,
            workspace_id=workspace_id,
            profile_id=profile.id,
            platform=platform,
            redirect_uri=sent_redirect_uri,
            return_uri=redirect_uri,
            code_verifier=verifier if uses_pkce else None,
            created_at=at,
            expires_at=at + STATE_TTL,
        )
        self.states.put(flow)
        logger.info("oauth flow started", extra={"platform": platform, "own_redirect": redirect_uri is not None})
        return StartedFlow(authorization_url=url, state=state, expires_at=flow.expires_at)

    # ---- finish -------------------------------------------------------------------------------

    def complete(
        self, workspace_id: str, platform: str, *, code: str, state: str, profile_id: str | None
    ) -> ConnectResult:
        """The API's complete call: the state must be this workspace's (and, when the body names
        a profile, that profile's)."""
        self._require_oauth(platform)
        flow = self.states.consume(state, platform=platform, at=now(), workspace_id=workspace_id, profile_id=profile_id)
        if flow is None:
            raise state_invalid()
        return self._finish(flow, code)

    def callback(self, platform: str, *, code: str | None, state: str | None, error: str | None) -> CallbackOutcome:
        """The browser callback: never raises a CrosspostError, it becomes the outcome's error
        (an HTML page or a redirect to the app carries it)."""
        flow: OAuthState | None = None
        try:
            if not state:
                raise ValidationFailedError("The callback needs the state parameter.", rule="state", field="state")
            self._require_oauth(platform)
            if not error and not code:
                raise ValidationFailedError("The callback needs the code parameter.", rule="code", field="code")
            flow = self.states.consume(state, platform=platform, at=now())
            if flow is None:
                raise state_invalid()
            if error:
                raise _declined(platform, error)
            assert code is not None
            return CallbackOutcome(result=self._finish(flow, code), return_uri=flow.return_uri, state=state)
        except CrosspostError as exc:
            logger.info("oauth callback refused", extra={"platform": platform, "error": exc.code, "rule": exc.rule})
            return CallbackOutcome(error=exc, return_uri=flow.return_uri if flow else None, state=state)

    def _finish(self, flow: OAuthState, code: str) -> ConnectResult:
        async def exchange() -> list[ConnectedAccount]:
            async with self._client() as http:
                auth = self._auth(flow.platform, http)
                return await auth.complete(code=code, redirect_uri=flow.redirect_uri, code_verifier=flow.code_verifier)

        try:
            found = self._run(flow.platform, exchange())
        except ContentRejectedError as exc:
            exc.http_status = 400  # at connect (facebook.pages.none), not the 502 of publish-now
            raise
        except AuthExpiredError as exc:
            exc.http_status = 401  # the code was refused: the user's own authorization failed
            raise
        if not found:
            raise ContentRejectedError(
                "The login yielded no account to connect.", platform=flow.platform, rule=f"{flow.platform}.account.none"
            )
        result = self.accounts.upsert_connected(flow.workspace_id, flow.profile_id, found)
        logger.info(
            "oauth connect finished",
            extra={"platform": flow.platform, "accounts": len(result.accounts), "skipped": len(result.skipped)},
        )
        return result

    # ---- plumbing -----------------------------------------------------------------------------

    def _require_oauth(self, platform: str) -> None:
        from crosspost.platforms.registry import oauth_platforms

        if platform not in oauth_platforms():
            raise unsupported(platform)

    def _auth(self, platform: str, http: httpx.AsyncClient) -> OAuth2Auth:
        """The platform's OAuth strategy; 404 when there is none or the deployment has no app for it."""
        from crosspost.platforms.registry import oauth_auth_for

        config = self.configs(platform)
        auth = oauth_auth_for(platform, http, config)
        if auth is None:
            raise unsupported(platform)
        try:
            config.app()  # a cached read; fails here, clearly, instead of inside the strategy
        except PlatformNotConfiguredError:
            raise not_configured(platform) from None
        return auth

    def _client(self) -> httpx.AsyncClient:
        from crosspost.platforms.http import new_client

        return new_client(self.settings.platform_timeout_seconds)

    @staticmethod
    def _run(platform: str, work: Coroutine[object, object, T]) -> T:
        try:
            return asyncio.run(work)
        except PlatformNotConfiguredError:  # a strategy that reads the app later than ``_auth`` does
            raise not_configured(platform) from None

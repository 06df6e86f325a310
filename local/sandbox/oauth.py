"""The OAuth 2 provider side every simulated OAuth platform shares: authorization codes, access
and refresh tokens, PKCE, expiry, rotation and revocation. Platform modules (facebook, threads,
linkedin, pinterest, twitter) keep their own URLs, parameter names and error bodies and call this
for the bookkeeping, so the rules are written once.

Fixtures a test can choose (README "OAuth"):
- ``sandbox_user=<fixture>`` on the authorize URL picks who consents (each platform names its
  users; the default when absent);
- ``POST /_sandbox/{platform}/expire-codes``: every code issued so far is expired;
- ``POST /_sandbox/{platform}/revoke-tokens`` ``{"user"?}``: every token issued so far (of that
  user) stops working, refresh tokens too, as when the user removes the app;
- ``POST /_sandbox/{platform}/settings`` ``{"accessTtlSeconds"?, "codeTtlSeconds"?}``: lifetimes of
  what is issued from now on (0 = already expired); a platform adds its own fields
  (``OAuthSandbox.own_settings``).

Callers hold their platform's lock.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Final
from urllib.parse import urlencode, urlsplit, urlunsplit

from local.sandbox.core import (
    SandboxPlatform,
    SandboxRequest,
    SandboxResponse,
    Setting,
    apply_settings,
    control_error,
    current_settings,
    html_page,
)

OAUTH_PLATFORMS: Final = ("facebook", "threads", "linkedin", "pinterest", "twitter")
# The provider's own ``/_sandbox/{platform}/settings`` fields.
SETTINGS: Final = {"accessTtlSeconds": Setting("access_ttl"), "codeTtlSeconds": Setting("code_ttl")}
# The platform apps the local stack seeds into its apps secret. Public test values, not secrets.
SANDBOX_APPS: Final = {
    p: {"clientId": f"sandbox-{p}-client", "clientSecret": f"sandbox-{p}-secret"} for p in OAUTH_PLATFORMS
}


class _Default:
    """The provider's own lifetime (``OAuthProvider.issue``)."""


DEFAULT: Final = _Default()


@dataclass
class Grant:
    """One authorization code."""

    code: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    user: str
    expires_at: float
    code_challenge: str | None = None
    challenge_method: str | None = None
    used: bool = False


@dataclass
class Token:
    value: str
    kind: str  # "access" | "refresh"
    user: str
    client_id: str
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float | None  # None: never
    revoked: bool = False

    def problem(self, now: float) -> str | None:
        """Why it does not work ("revoked", "expired"), or None."""
        if self.revoked:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return None


@dataclass
class Issued:
    access: Token
    refresh: Token | None

    def expires_in(self, now: float) -> int | None:
        return None if self.access.expires_at is None else max(0, int(self.access.expires_at - now))

    def refresh_expires_in(self, now: float) -> int | None:
        if self.refresh is None or self.refresh.expires_at is None:
            return None
        return max(0, int(self.refresh.expires_at - now))


class OAuthError(Exception):
    """A refused code or token exchange; ``reason`` is one of the names below, which each
    platform turns into its own error body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # invalid_client | invalid_code | expired_code | used_code |
        # redirect_mismatch | pkce_required | pkce_mismatch | invalid_token | expired_token | revoked_token


@dataclass
class OAuthProvider:
    platform: str
    users: tuple[str, ...]  # fixture names; the first is the default
    access_ttl: float | None = 3600.0
    refresh_ttl: float | None = None  # None: the platform issues no refresh tokens
    code_ttl: float = 600.0
    rotate_refresh: bool = True  # a refresh returns a new refresh token and kills the old one
    pkce: bool = False  # codes must carry a challenge (X)
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    _defaults: tuple[float | None, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        self._defaults = (self.access_ttl, self.code_ttl)

    @property
    def app(self) -> dict[str, str]:
        return SANDBOX_APPS[self.platform]

    # ---- authorize -------------------------------------------------------------------------

    def authorize(self, request: SandboxRequest) -> SandboxResponse:
        """The consent page, consented at once: 302 to ``redirect_uri`` with ``code`` and ``state``.
        Problems a real provider shows as an error page (unknown client, no redirect_uri) are
        a 400 page here; a fixture user that does not exist is a 400 too."""
        client_id = request.param("client_id")
        redirect_uri = request.param("redirect_uri")
        if client_id != self.app["clientId"]:
            return _page(400, "Invalid client_id")
        if not redirect_uri or urlsplit(redirect_uri).scheme not in ("http", "https"):
            return _page(400, "Invalid redirect_uri")
        user = request.param("sandbox_user") or self.users[0]
        if user not in self.users:
            return _page(400, f"No sandbox user {user!r}; choose one of {', '.join(self.users)}")
        challenge = request.param("code_challenge")
        if self.pkce and not challenge:
            return _redirect(redirect_uri, error="invalid_request", state=request.param("state"))
        raw_scope = request.param("scope") or ""
        scopes = tuple(s for s in raw_scope.replace(",", " ").split() if s)
        grant = Grant(
            code=secrets.token_urlsafe(24),
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            user=user,
            expires_at=time.time() + self.code_ttl,
            code_challenge=challenge,
            challenge_method=request.param("code_challenge_method") or ("plain" if challenge else None),
        )
        self.codes[grant.code] = grant
        return _redirect(redirect_uri, code=grant.code, state=request.param("state"))

    # ---- exchanges -------------------------------------------------------------------------

    def check_client(self, client_id: str | None, client_secret: str | None, *, secret_required: bool = True) -> None:
        if client_id != self.app["clientId"] or (secret_required and client_secret != self.app["clientSecret"]):
            raise OAuthError("invalid_client")

    def redeem(self, code: str | None, *, redirect_uri: str | None, code_verifier: str | None = None) -> Grant:
        """Use a code once. Reuse, expiry, another redirect_uri or a wrong PKCE verifier refuse."""
        grant = self.codes.get(code or "")
        if grant is None:
            raise OAuthError("invalid_code")
        if grant.used:
            raise OAuthError("used_code")
        if time.time() >= grant.expires_at:
            raise OAuthError("expired_code")
        if redirect_uri != grant.redirect_uri:
            raise OAuthError("redirect_mismatch")
        if grant.code_challenge is not None:
            if not code_verifier:
                raise OAuthError("pkce_required")
            if grant.challenge_method == "S256":
                digest = hashlib.sha256(code_verifier.encode("ascii", "replace")).digest()
                expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            else:
                expected = code_verifier
            if not secrets.compare_digest(expected, grant.code_challenge):
                raise OAuthError("pkce_mismatch")
        grant.used = True
        return grant

    def issue(
        self,
        user: str,
        scopes: tuple[str, ...],
        *,
        access_ttl: float | _Default | None = DEFAULT,
        refresh: bool = True,
        prefix: str = "",
    ) -> Issued:
        """New tokens for ``user``; ``access_ttl`` overrides the provider's (None = never expires)."""
        now = time.time()
        ttl = self.access_ttl if isinstance(access_ttl, _Default) else access_ttl
        access = Token(
            value=f"{prefix}{self.platform[:2]}at-{secrets.token_urlsafe(24)}",
            kind="access",
            user=user,
            client_id=self.app["clientId"],
            scopes=scopes,
            issued_at=now,
            expires_at=None if ttl is None else now + ttl,
        )
        self.tokens[access.value] = access
        refresh_token = None
        if refresh and self.refresh_ttl is not None:
            refresh_token = Token(
                value=f"{self.platform[:2]}rt-{secrets.token_urlsafe(24)}",
                kind="refresh",
                user=user,
                client_id=self.app["clientId"],
                scopes=scopes,
                issued_at=now,
                expires_at=now + self.refresh_ttl,
            )
            self.tokens[refresh_token.value] = refresh_token
        return Issued(access, refresh_token)

    def access(self, value: str | None) -> Token:
        """The access token behind ``value``, or OAuthError invalid/expired/revoked_token."""
        token = self.tokens.get(value or "")
        if token is None or token.kind != "access":
            raise OAuthError("invalid_token")
        problem = token.problem(time.time())
        if problem is not None:
            raise OAuthError(f"{problem}_token")
        return token

    def refresh(self, value: str | None) -> Issued:
        """A refresh grant: new access token (and, when rotating, a new refresh token)."""
        token = self.tokens.get(value or "")
        if token is None or token.kind != "refresh":
            raise OAuthError("invalid_token")
        problem = token.problem(time.time())
        if problem is not None:
            raise OAuthError(f"{problem}_token")
        if not self.rotate_refresh:
            issued = self.issue(token.user, token.scopes, refresh=False)
            return Issued(issued.access, token)
        token.revoked = True
        return self.issue(token.user, token.scopes)

    def exchange_access(self, value: str | None, *, access_ttl: float | None) -> Issued:
        """Trade a working access token for another one (Meta long-lived tokens, Threads
        ``th_refresh_token``): the old one keeps working until it expires, as on Meta."""
        token = self.access(value)
        return self.issue(token.user, token.scopes, access_ttl=access_ttl, refresh=False)

    # ---- control ---------------------------------------------------------------------------

    def control(self, action: str, request: SandboxRequest) -> SandboxResponse | None:
        if request.method != "POST":
            return None
        if action == "expire-codes":
            for grant in self.codes.values():
                grant.expires_at = 0.0
            return SandboxResponse.json(200, {"expired": len(self.codes)})
        if action == "revoke-tokens":
            body = _body(request)
            user = body.get("user") if isinstance(body, dict) else None
            hit = [t for t in self.tokens.values() if user is None or t.user == user]
            for token in hit:
                token.revoked = True
            return SandboxResponse.json(200, {"revoked": len(hit)})
        if action == "settings":
            return self.settings(request)
        return None

    def settings(
        self, request: SandboxRequest, *, platform: object = None, own: Mapping[str, Setting] | None = None
    ) -> SandboxResponse:
        """``/_sandbox/{platform}/settings``: the platform's ``own`` settings (attributes of
        ``platform``) and the token lifetimes, set from one JSON object (a GET sets nothing);
        answers every current value."""
        body = _body(request) if request.method == "POST" else {}
        if not isinstance(body, dict):
            return control_error(400, "InvalidSettings", "the body must be a JSON object")
        refused = apply_settings(platform, body, own or {}) or apply_settings(self, body, SETTINGS)
        if refused is not None:
            return refused
        return SandboxResponse.json(200, {**current_settings(self, SETTINGS), **current_settings(platform, own or {})})

    def reset(self) -> None:
        self.codes.clear()
        self.tokens.clear()
        self.access_ttl, self.code_ttl = self._defaults


def basic_auth(request: SandboxRequest) -> tuple[str | None, str | None]:
    """(client_id, client_secret) from an ``Authorization: Basic`` header."""
    header = request.header("authorization") or ""
    if not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None, None
    client_id, sep, client_secret = decoded.partition(":")
    return (client_id, client_secret) if sep else (None, None)


def bearer(request: SandboxRequest) -> str | None:
    header = request.header("authorization") or ""
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def form(request: SandboxRequest) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, merged over the query string (Meta and
    Threads take parameters in either)."""
    from urllib.parse import parse_qs

    values = {k: v[0] for k, v in request.query.items() if v}
    if request.body:
        try:
            parsed = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            parsed = {}
        values.update({k: v[0] for k, v in parsed.items() if v})
    return values


def _body(request: SandboxRequest) -> object:
    try:
        return request.json() or {}
    except ValueError:
        return None


def _redirect(redirect_uri: str, **params: str | None) -> SandboxResponse:
    parts = urlsplit(redirect_uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return SandboxResponse(302, b"", {"Location": urlunsplit(parts._replace(query=query))})


def _page(status: int, message: str) -> SandboxResponse:
    return html_page(status, "Sandbox OAuth", message)


class OAuthSandbox(SandboxPlatform):
    """A platform whose users sign in through its own ``OAuthProvider`` (``self.oauth``): a reset
    clears the login, the read-back and the platform's state (``reset_state``); the settings
    control takes the platform's ``own_settings`` with the token lifetimes, and every other
    control goes to the login (``expire-codes``, ``revoke-tokens``)."""

    own_settings: ClassVar[Mapping[str, Setting]] = {}

    def __init__(self, oauth: OAuthProvider) -> None:
        super().__init__()
        self.oauth = oauth
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.oauth.reset()
            self.records.clear()
            self.reset_state()

    @abstractmethod
    def reset_state(self) -> None:
        """Back to the seeded fixtures (the caller holds the lock)."""

    def control(self, action: str, request: SandboxRequest) -> SandboxResponse | None:
        if action == "settings" and request.method in ("GET", "POST"):
            return self.oauth.settings(request, platform=self, own=self.own_settings)
        return self.oauth.control(action, request)

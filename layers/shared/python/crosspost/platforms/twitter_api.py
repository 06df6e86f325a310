"""X API v2 on the wire: the transport (Bearer JSON calls, multipart uploads, the Basic-auth
token endpoint), error classification and token parsing. The adapter and the auth strategy are in
``crosspost.platforms.twitter``; facts in PLATFORMS.md §7.

X answers errors in two shapes: RFC 7807 problem JSON (``{"title", "detail", "type", "status"}``,
sometimes with ``errors: [{"parameters", "message"}]`` or a ``reason``) and the legacy
``{"errors": [{"code", "message"}]}``; the token endpoint uses OAuth's
``{"error", "error_description"}``. Classification reads the status, ``type``, ``title`` and the
legacy ``code``: never free text, with one documented exception (``is_duplicate``).
"""

from __future__ import annotations

import base64
import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Final

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    OutcomeUnknownError,
    PlatformError,
    PlatformUnavailableError,
    RateLimitedError,
)
from crosspost.lazy_imports import lazy_module
from crosspost.platforms.base import PlatformConfig, TokenSet
from crosspost.platforms.http import json_object

if TYPE_CHECKING:
    import httpx

    from crosspost.platforms import safe_http
else:  # loaded on first use: preflight reads this module without any HTTP (cold start)
    httpx = lazy_module("httpx")
    safe_http = lazy_module("crosspost.platforms.safe_http")

PLATFORM: Final = "twitter"
API_HOST: Final = "https://api.x.com"
WEB_HOST: Final = "https://x.com"
# X's 403 for a post whose text this account already posted (PLATFORMS.md §7.3).
DUPLICATE_DETAIL: Final = "You are not allowed to create a Tweet with duplicate content."
_LEGACY_DUPLICATE_CODE: Final = 187  # v1.1 "Status is a duplicate."
_LEGACY_RATE_LIMIT_CODES: Final = frozenset({88, 185})  # "Rate limit exceeded", "over daily status update limit"
_LEGACY_AUTH_CODES: Final = frozenset({32, 89, 215})  # could not authenticate, invalid/expired token, bad auth data
_USAGE_CAPPED_TYPE: Final = "https://api.twitter.com/2/problems/usage-capped"
_CLIENT_FORBIDDEN_TYPE: Final = "https://api.twitter.com/2/problems/client-forbidden"
_MESSAGE_MAX: Final = 300
_RATE_LIMIT_FAMILIES: Final = ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour")

# ---- classification ----------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value[:_MESSAGE_MAX] if isinstance(value, str) else None


def error_body(response: httpx.Response) -> dict[str, Any]:
    """The fields of X's error body that say what went wrong, and nothing that could echo the
    request (``parameters`` keep their names, not their values); ``{"status": N}`` when the body
    is not X's JSON."""
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return {"status": response.status_code}
    body: dict[str, Any] = {}
    for name in ("title", "detail", "type", "reason", "error", "error_description"):
        value = _text(parsed.get(name))
        if value is not None:
            body[name] = value
    if isinstance(parsed.get("status"), int) and not isinstance(parsed.get("status"), bool):
        body["status"] = parsed["status"]
    errors = parsed.get("errors")
    if isinstance(errors, list):
        kept = []
        for error in errors[:5]:
            if not isinstance(error, dict):
                continue
            entry: dict[str, Any] = {}
            if isinstance(error.get("code"), int) and not isinstance(error.get("code"), bool):
                entry["code"] = error["code"]
            if _text(error.get("message")) is not None:
                entry["message"] = _text(error.get("message"))
            if isinstance(error.get("parameters"), dict):
                entry["parameters"] = sorted(str(k) for k in error["parameters"])[:10]
            if entry:
                kept.append(entry)
        if kept:
            body["errors"] = kept
    return body or {"status": response.status_code}


def _legacy_codes(body: dict[str, Any]) -> set[int]:
    errors = body.get("errors")
    return {e["code"] for e in errors if "code" in e} if isinstance(errors, list) else set()


def is_duplicate(status: int, body: dict[str, Any]) -> bool:
    """X refused a post as a duplicate of one this account already has.

    The one place where a message is compared: X's v2 gives this refusal no code or ``type``
    (``"type": "about:blank"``, ``"title": "Forbidden"``, like every other 403), so the problem
    document's ``detail`` field, compared whole, is the only thing that tells it apart. The v1.1
    code 187 says the same where X still sends it."""
    if status != 403:
        return False
    return body.get("detail") == DUPLICATE_DETAIL or _LEGACY_DUPLICATE_CODE in _legacy_codes(body)


def _reset_in(response: httpx.Response, family: str, current: float) -> float | None:
    reset = response.headers.get(f"{family}-reset")
    try:
        return None if reset is None else max(0.0, float(reset) - current)
    except ValueError:
        return None


def retry_after(response: httpx.Response, *, current: float | None = None) -> float | None:
    """Seconds until X accepts again: ``Retry-After`` when sent, else the reset (unix seconds) of
    the window that ran out (``x-rate-limit-*``: 15 minutes; ``x-user-limit-24hour-*`` and
    ``x-app-limit-24hour-*``: a day), else the 15-minute window's reset; None when X said nothing."""
    current = time.time() if current is None else current
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(header).timestamp() - current)
            except (TypeError, ValueError):
                pass
    exhausted = [
        wait
        for family in _RATE_LIMIT_FAMILIES
        if response.headers.get(f"{family}-remaining") == "0"
        and (wait := _reset_in(response, family, current)) is not None
    ]
    if exhausted:
        return max(exhausted)
    return _reset_in(response, "x-rate-limit", current)


def classify_response(response: httpx.Response, *, creates: bool) -> PlatformError:
    """Map a non-2xx v2 response to the taxonomy. ``creates``: the call makes the post (not
    idempotent), so a 500/502/504 or 408 leaves the outcome unknown; 503 is X refusing before it
    did anything, whatever the call."""
    status = response.status_code
    body = error_body(response)
    said = body.get("detail") or body.get("title") or f"HTTP {status}"
    common: dict[str, Any] = {"platform": PLATFORM, "platform_response": body}
    codes = _legacy_codes(body)

    if status == 429 or codes & _LEGACY_RATE_LIMIT_CODES:
        wait = retry_after(response)
        capped = body.get("type") == _USAGE_CAPPED_TYPE
        after = f" for {round(wait)} s" if wait is not None else ""
        return RateLimitedError(
            "The X app has used up its monthly post cap; crosspost tries again later."
            if capped
            else f"X is rate limiting this account; crosspost waits{after} before trying again.",
            rule="twitter.usage_capped" if capped else "twitter.rate_limited",
            retry_after=wait,
            **common,
        )
    if status == 401 or codes & _LEGACY_AUTH_CODES:
        return AuthExpiredError(
            "X refused the access token.",
            rule="twitter.auth.expired",
            remediation="Reconnect the X account.",
            **common,
        )
    if is_duplicate(status, body):
        return ContentRejectedError(
            "X refused the post as a duplicate of one this account already posted.",
            rule="twitter.duplicate",
            remediation="Change the text; X refuses the same text twice from one account.",
            **common,
        )
    if status == 403 and body.get("type") == _CLIENT_FORBIDDEN_TYPE:
        return ContentRejectedError(
            f"X refused the app itself ({body.get('reason') or said}).",
            rule="twitter.client.forbidden",
            remediation="Attach the X app to a project in the X developer portal.",
            **common,
        )
    if status == 503:
        return PlatformUnavailableError(
            "X is unavailable (HTTP 503); crosspost tries again later.", rule="twitter.unavailable", **common
        )
    if status >= 500 or status == 408:
        if creates:
            return OutcomeUnknownError(
                f"X failed while creating the post (HTTP {status}); it may or may not be live.",
                rule="twitter.outcome_unknown",
                **common,
            )
        return PlatformUnavailableError(
            f"X is unavailable (HTTP {status}); crosspost tries again later.", rule="twitter.unavailable", **common
        )
    if status == 403:
        return ContentRejectedError(f"X refused the post: {said}", rule="twitter.request.forbidden", **common)
    if status == 413:
        return ContentRejectedError("X refused the upload as too large.", rule="twitter.media.too_large", **common)
    if status == 400:
        parameters = {p for e in body.get("errors", []) for p in e.get("parameters", [])}
        rule = "twitter.media.invalid" if any(p.startswith("media") for p in parameters) else "twitter.request.invalid"
        return ContentRejectedError(f"X refused the request: {said}", rule=rule, **common)
    return ContentRejectedError(
        f"X refused the request (HTTP {status}): {said}", rule="twitter.request.refused", **common
    )


# ---- tokens ------------------------------------------------------------------------------------


def token_set(data: dict[str, Any], *, issued_at: datetime, previous: TokenSet | None = None) -> TokenSet:
    """A ``TokenSet`` from ``POST /2/oauth2/token``. X renews the connection indefinitely (the
    refresh token rotates on every use), so ``connection_expires_at`` is None (API.md: X → null),
    and tokens are refreshed on demand (``refresh_after`` None). A refresh that returns no new
    refresh token keeps the old one."""
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise PlatformUnavailableError(
            "X answered the token request without an access token.", platform=PLATFORM, rule="twitter.unavailable"
        )
    expires_in = data.get("expires_in")
    access_expires = (
        issued_at + timedelta(seconds=expires_in)
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in >= 0
        else None
    )
    refresh = data.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        refresh = previous.refresh_token if previous else None
    extra = dict(previous.extra) if previous else {}
    if isinstance(data.get("scope"), str):
        extra["scope"] = data["scope"]
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=access_expires,
        connection_expires_at=None,
        refresh_after=None,
        extra=extra,
    )


# ---- transport ---------------------------------------------------------------------------------


class TwitterApi:
    """Calls ``{host}/2/...``; returns JSON objects or raises a ``PlatformError``."""

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig) -> None:
        self.http = http
        self.config = config

    @property
    def base(self) -> str:
        return self.config.host(API_HOST) + "/2"

    async def send(self, method: str, url: str, *, creates: bool, **kwargs: Any) -> httpx.Response:
        """One request; transport failures classified (sent or not)."""
        try:
            return await self.http.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # nothing was sent
            raise PlatformUnavailableError(
                "X could not be reached; crosspost tries again later.", platform=PLATFORM, rule="twitter.unreachable"
            ) from exc
        except httpx.TransportError as exc:
            # A read timeout or a dropped connection after the request went out: a create may
            # have happened. (An SSRF refusal is raised before sending: never a create.)
            if creates and not isinstance(exc, safe_http.UnsafeUrlError):
                raise OutcomeUnknownError(
                    "X did not answer after the post was sent; it may or may not be live.",
                    platform=PLATFORM,
                    rule="twitter.timeout",
                ) from exc
            raise PlatformUnavailableError(
                "X did not answer in time; crosspost tries again later.", platform=PLATFORM, rule="twitter.timeout"
            ) from exc

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str,
        creates: bool = False,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        response = await self.send(
            method,
            self.base + path,
            creates=creates,
            json=body,
            params=params,
            data=data,
            files=files,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        if not response.is_success:
            raise classify_response(response, creates=creates)
        if not response.content:
            return {}
        return json_object(response, platform=PLATFORM, label="X", creates=creates)

    async def token(self, form: dict[str, str], *, rule: str, remediation: str) -> dict[str, Any]:
        """``POST /2/oauth2/token`` as a confidential client (Basic auth, and ``client_id`` in the
        form as X asks). A refused grant (400/401) is ``AuthExpiredError`` with ``rule``; the
        app secret and the grant never appear in an error."""
        app = self.config.app()
        basic = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode("ascii")
        response = await self.send(
            "POST",
            self.base + "/oauth2/token",
            creates=False,
            data={**form, "client_id": app.client_id},
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        )
        if response.status_code in (400, 401, 403):
            body = error_body(response)
            said = body.get("error_description") or body.get("error") or f"HTTP {response.status_code}"
            raise AuthExpiredError(
                f"X refused the grant ({said}).",
                platform=PLATFORM,
                rule=rule,
                remediation=remediation,
                platform_response=body,
                http_status=401,
            )
        if not response.is_success:
            raise classify_response(response, creates=False)
        return json_object(response, platform=PLATFORM, label="X", creates=False)


def post_url(username: str, post_id: str) -> str:
    return f"{WEB_HOST}/{username}/status/{post_id}"


def profile_url(username: str) -> str:
    return f"{WEB_HOST}/{username}"

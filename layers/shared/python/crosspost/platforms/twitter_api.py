"""X API v2 on the wire: the calls (Bearer JSON, multipart uploads, the Basic-auth token endpoint;
their transport is ``crosspost.platforms.rest``), error classification and token parsing. The
adapter and the auth strategy are in ``crosspost.platforms.twitter``; facts in PLATFORMS.md §7.

X answers errors in two shapes: RFC 7807 problem JSON (``{"title", "detail", "type", "status"}``,
sometimes with ``errors: [{"parameters", "message"}]`` or a ``reason``) and the legacy
``{"errors": [{"code", "message"}]}``; the token endpoint uses OAuth's
``{"error", "error_description"}``. Classification reads the status, ``type``, ``title`` and the
legacy ``code``: never free text, with one documented exception (``is_duplicate``).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    PlatformError,
    RateLimitedError,
)
from crosspost.lazy_imports import lazy_module
from crosspost.platforms import rest
from crosspost.platforms.base import TokenSet
from crosspost.platforms.http import parsed_json

if TYPE_CHECKING:
    import httpx
else:  # loaded on first use: preflight reads this module without any HTTP (cold start)
    httpx = lazy_module("httpx")

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
    parsed = parsed_json(response)
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
    given = rest.retry_after(response, current=current)
    if given is not None:
        return given
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
    failed = rest.server_failure(status, platform=PLATFORM, label="X", creates=creates, platform_response=body)
    if failed is not None:
        return failed
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
    answer = rest.token_answer(data, issued_at=issued_at, platform=PLATFORM, label="X")
    extra = dict(previous.extra) if previous else {}
    if isinstance(data.get("scope"), str):
        extra["scope"] = data["scope"]
    return TokenSet(
        access_token=answer.access_token,
        refresh_token=answer.refresh_token or (previous.refresh_token if previous else None),
        access_expires_at=answer.access_expires_at,
        connection_expires_at=None,
        refresh_after=None,
        extra=extra,
    )


# ---- transport ---------------------------------------------------------------------------------


class TwitterApi(rest.OAuthJsonApi):
    """Calls ``{host}/2/...``; returns JSON objects or raises a ``PlatformError``."""

    platform = PLATFORM
    label = "X"
    api_host = API_HOST
    api_root = "/2"
    grant_path = "/oauth2/token"
    client_id_in_form = True  # as well as in the Basic auth, as X asks
    empty_answers = True
    unanswered_create = "X did not answer after the post was sent; it may or may not be live."

    def classify(self, response: httpx.Response, *, creates: bool, not_found_rule: str | None = None) -> PlatformError:
        return classify_response(response, creates=creates)  # X's 404 refuses the request, whatever it named

    def error_body(self, response: httpx.Response) -> dict[str, Any]:
        return error_body(response)

    def token_set(self, data: dict[str, Any], *, issued_at: datetime, previous: TokenSet | None) -> TokenSet:
        return token_set(data, issued_at=issued_at, previous=previous)


def post_url(username: str, post_id: str) -> str:
    return f"{WEB_HOST}/{username}/status/{post_id}"


def profile_url(username: str) -> str:
    return f"{WEB_HOST}/{username}"

"""Pinterest API v5 on the wire: the calls (Bearer, the Basic-auth token endpoint; their transport
is ``crosspost.platforms.rest``), error classification and token parsing. The adapter and the auth strategy are in
``crosspost.platforms.pinterest``; facts in PLATFORMS.md §6.

Errors are ``{"code": <int>, "message"}``. Pinterest documents its HTTP statuses per call but
not the inner codes, so classification reads the status (and what the call is), never the
message text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    PlatformError,
    PlatformUnavailableError,
    RateLimitedError,
)
from crosspost.lazy_imports import lazy_module
from crosspost.platforms import rest
from crosspost.platforms.base import TokenSet
from crosspost.platforms.http import parsed_json
from crosspost.platforms.rest import retry_after

if TYPE_CHECKING:
    import httpx
else:  # loaded on first use: preflight reads this module without any HTTP (cold start)
    httpx = lazy_module("httpx")

PLATFORM: Final = "pinterest"
API_HOST: Final = "https://api.pinterest.com"
# Renew this long before the access token expires (the refresher runs every few minutes; days of
# margin survive an outage of the refresher or of Pinterest).
REFRESH_AHEAD: Final = timedelta(days=5)
# Pinterest documents no rate-limit headers; without Retry-After, wait this long.
DEFAULT_RATE_LIMIT_WAIT: Final = 60.0
_MESSAGE_MAX: Final = 300

# ---- classification ----------------------------------------------------------------------------


def error_body(response: httpx.Response) -> dict[str, Any]:
    """Pinterest's error ``{"code", "message"}`` (only those fields: never anything that could
    echo a request); ``{"status": N}`` when the body is something else."""
    parsed = parsed_json(response)
    if isinstance(parsed, dict) and ("code" in parsed or "message" in parsed):
        body: dict[str, Any] = {}
        if isinstance(parsed.get("code"), int) and not isinstance(parsed.get("code"), bool):
            body["code"] = parsed["code"]
        if isinstance(parsed.get("message"), str):
            body["message"] = parsed["message"][:_MESSAGE_MAX]
        if body:
            return body
    return {"status": response.status_code}


def classify_response(response: httpx.Response, *, creates: bool, not_found_rule: str | None = None) -> PlatformError:
    """Map a non-2xx v5 response to the taxonomy from the HTTP status.

    ``creates``: the call makes a pin (not idempotent), so a server error other than 503 leaves
    the outcome unknown. ``not_found_rule``: what a 404 means for this call (creating a pin:
    ``pinterest.board.not_found``, the spec's "Board or section not found")."""
    status = response.status_code
    body = error_body(response)
    said = body.get("message") or f"HTTP {status}"
    common: dict[str, Any] = {"platform": PLATFORM, "platform_response": body}

    if status == 401:
        return AuthExpiredError(
            f"Pinterest refused the access token ({said}).",
            rule="pinterest.auth.expired",
            remediation="Reconnect the Pinterest account.",
            **common,
        )
    if status == 429:
        given = retry_after(response)
        wait = DEFAULT_RATE_LIMIT_WAIT if given is None else given
        return RateLimitedError(
            f"Pinterest is rate limiting this account; crosspost waits {round(wait)} s before trying again.",
            rule="pinterest.rate_limited",
            retry_after=wait,
            **common,
        )
    failed = rest.server_failure(
        status, platform=PLATFORM, label="Pinterest", made="pin", creates=creates, platform_response=body
    )
    if failed is not None:
        return failed
    if status == 404:
        return ContentRejectedError(
            f"Pinterest did not find what the pin refers to ({said}).",
            rule=not_found_rule or "pinterest.not_found",
            remediation="Check the board id (pinterest.boardId) or the account's default board.",
            **common,
        )
    if status == 403 and creates:
        # The spec's 403 on pin creation: "The Pin's image is too small, too large or is broken".
        return ContentRejectedError(
            f"Pinterest refused the pin's media ({said}).", rule="pinterest.media.invalid", **common
        )
    if status == 403:
        return AuthExpiredError(
            f"Pinterest says the app may not do this for the account ({said}).",
            rule="pinterest.permission.missing",
            remediation="Reconnect the Pinterest account and grant every permission crosspost asks for.",
            **common,
        )
    return ContentRejectedError(f"Pinterest refused the pin ({said}).", rule="pinterest.pin.invalid", **common)


# ---- tokens ------------------------------------------------------------------------------------


def token_set(data: dict[str, Any], *, issued_at: datetime, previous: TokenSet | None = None) -> TokenSet:
    """A ``TokenSet`` from a ``/v5/oauth/token`` answer. A refresh that returns no new refresh
    token (a legacy token) keeps the previous one and its expiry."""
    answer = rest.token_answer(data, issued_at=issued_at, platform=PLATFORM, label="Pinterest")
    refresh = answer.refresh_token
    connection_expires: datetime | None
    if refresh:
        at = rest.seconds(data.get("refresh_token_expires_at"))
        refresh_in = rest.seconds(data.get("refresh_token_expires_in"))
        if at is not None:
            connection_expires = datetime.fromtimestamp(at, UTC)
        elif refresh_in is not None:
            connection_expires = issued_at + timedelta(seconds=refresh_in)
        else:
            connection_expires = None
    else:
        refresh = previous.refresh_token if previous else None
        connection_expires = previous.connection_expires_at if previous else None
    scope = data.get("scope")
    extra = dict(previous.extra) if previous else {}
    if isinstance(scope, str):
        extra["scope"] = scope
    return TokenSet(
        access_token=answer.access_token,
        refresh_token=refresh,
        access_expires_at=answer.access_expires_at,
        connection_expires_at=connection_expires,
        refresh_after=answer.refresh_after(issued_at, REFRESH_AHEAD) if refresh else None,
        extra=extra,
    )


# ---- transport ---------------------------------------------------------------------------------


class PinterestApi(rest.OAuthJsonApi):
    """Calls the v5 API (``{host}/v5/...``) and the token endpoint; returns JSON objects or
    raises a ``PlatformError``."""

    platform = PLATFORM
    label = "Pinterest"
    api_host = API_HOST
    api_root = "/v5"
    grant_path = "/oauth/token"
    unanswered_create = "Pinterest did not answer after the pin was sent; it may or may not be live."

    def classify(self, response: httpx.Response, *, creates: bool, not_found_rule: str | None = None) -> PlatformError:
        return classify_response(response, creates=creates, not_found_rule=not_found_rule)

    def error_body(self, response: httpx.Response) -> dict[str, Any]:
        return error_body(response)

    def token_set(self, data: dict[str, Any], *, issued_at: datetime, previous: TokenSet | None) -> TokenSet:
        return token_set(data, issued_at=issued_at, previous=previous)

    def grant_error_text(self, body: dict[str, Any]) -> str | None:
        message = body.get("message")  # the token endpoint answers in v5's own error shape
        return message if isinstance(message, str) else None


def pin_url(pin_id: str) -> str:
    return f"https://www.pinterest.com/pin/{pin_id}/"


def profile_url(username: str) -> str:
    return f"https://www.pinterest.com/{username}/"


def upload_refused(response: httpx.Response) -> PlatformError:
    """The S3 upload's failure (``/v5/media`` upload URL). Nothing visible was made, so anything server-side is worth a
    retry (a new registration); a 4xx is the file itself (too large, wrong type)."""
    body = {"status": response.status_code}
    if response.status_code == 429 or response.status_code >= 500:
        return PlatformUnavailableError(
            f"Pinterest's media storage refused the upload (HTTP {response.status_code}); crosspost tries again later.",
            platform=PLATFORM,
            rule="pinterest.media.upload_failed",
            retry_after=retry_after(response),
            platform_response=body,
        )
    return ContentRejectedError(
        f"Pinterest's media storage refused the video (HTTP {response.status_code}).",
        platform=PLATFORM,
        rule="pinterest.media.upload_refused",
        field="media[0]",
        platform_response=body,
    )

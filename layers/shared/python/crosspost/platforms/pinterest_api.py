"""Pinterest API v5 on the wire: the transport (Bearer calls, the Basic-auth token endpoint),
error classification and token parsing. The adapter and the auth strategy are in
``crosspost.platforms.pinterest``; facts in PLATFORMS.md §6.

Errors are ``{"code": <int>, "message"}``. Pinterest documents its HTTP statuses per call but
not the inner codes, so classification reads the status (and what the call is), never the
message text.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
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
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and ("code" in parsed or "message" in parsed):
        body: dict[str, Any] = {}
        if isinstance(parsed.get("code"), int) and not isinstance(parsed.get("code"), bool):
            body["code"] = parsed["code"]
        if isinstance(parsed.get("message"), str):
            body["message"] = parsed["message"][:_MESSAGE_MAX]
        if body:
            return body
    return {"status": response.status_code}


def retry_after(response: httpx.Response, *, current: float | None = None) -> float | None:
    """``Retry-After`` in seconds or as an HTTP date; None when absent or unreadable."""
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, moment - (time.time() if current is None else current))


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
    if status == 503:  # refused before processing: nothing was made, whatever the call
        return PlatformUnavailableError(
            "Pinterest is unavailable (HTTP 503); crosspost tries again later.", rule="pinterest.unavailable", **common
        )
    if status >= 500 or status == 408:
        if creates:
            return OutcomeUnknownError(
                f"Pinterest failed while creating the pin (HTTP {status}); it may or may not be live.",
                rule="pinterest.outcome_unknown",
                **common,
            )
        return PlatformUnavailableError(
            f"Pinterest is unavailable (HTTP {status}); crosspost tries again later.",
            rule="pinterest.unavailable",
            **common,
        )
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


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def token_set(data: dict[str, Any], *, issued_at: datetime, previous: TokenSet | None = None) -> TokenSet:
    """A ``TokenSet`` from a ``/v5/oauth/token`` answer. A refresh that returns no new refresh
    token (a legacy token) keeps the previous one and its expiry."""
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise PlatformUnavailableError(
            "Pinterest answered the token request without an access token.",
            platform=PLATFORM,
            rule="pinterest.unavailable",
        )
    expires_in = _seconds(data.get("expires_in"))
    access_expires = issued_at + timedelta(seconds=expires_in) if expires_in is not None else None
    refresh = data.get("refresh_token")
    connection_expires: datetime | None
    if isinstance(refresh, str) and refresh:
        at = _seconds(data.get("refresh_token_expires_at"))
        refresh_in = _seconds(data.get("refresh_token_expires_in"))
        if at is not None:
            connection_expires = datetime.fromtimestamp(at, UTC)
        elif refresh_in is not None:
            connection_expires = issued_at + timedelta(seconds=refresh_in)
        else:
            connection_expires = None
    else:
        refresh = previous.refresh_token if previous else None
        connection_expires = previous.connection_expires_at if previous else None
    refresh_after = None
    if refresh and access_expires is not None:
        # Half the lifetime when it is short (tests, odd apps), else a few days ahead.
        lifetime = access_expires - issued_at
        refresh_after = access_expires - min(REFRESH_AHEAD, lifetime / 2)
    scope = data.get("scope")
    extra = dict(previous.extra) if previous else {}
    if isinstance(scope, str):
        extra["scope"] = scope
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=access_expires,
        connection_expires_at=connection_expires,
        refresh_after=refresh_after,
        extra=extra,
    )


# ---- transport ---------------------------------------------------------------------------------


class PinterestApi:
    """Calls the v5 API (``{host}/v5/...``) and the token endpoint; returns JSON objects or
    raises a ``PlatformError``."""

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig) -> None:
        self.http = http
        self.config = config

    @property
    def base(self) -> str:
        return self.config.host(API_HOST) + "/v5"

    async def send(self, method: str, url: str, *, creates: bool, **kwargs: Any) -> httpx.Response:
        """One request; transport failures classified (sent or not)."""
        try:
            return await self.http.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # nothing was sent
            raise PlatformUnavailableError(
                "Pinterest could not be reached; crosspost tries again later.",
                platform=PLATFORM,
                rule="pinterest.unreachable",
            ) from exc
        except httpx.TransportError as exc:
            # A read timeout or a dropped connection after the request went out: a create may
            # have happened. (An SSRF refusal is a TransportError too, raised before sending: it
            # only happens with a misconfigured base URL, and is then no create either.)
            if creates and not isinstance(exc, safe_http.UnsafeUrlError):
                raise OutcomeUnknownError(
                    "Pinterest did not answer after the pin was sent; it may or may not be live.",
                    platform=PLATFORM,
                    rule="pinterest.timeout",
                ) from exc
            raise PlatformUnavailableError(
                "Pinterest did not answer in time; crosspost tries again later.",
                platform=PLATFORM,
                rule="pinterest.timeout",
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
        not_found_rule: str | None = None,
    ) -> dict[str, Any]:
        response = await self.send(
            method,
            self.base + path,
            creates=creates,
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        if not response.is_success:
            raise classify_response(response, creates=creates, not_found_rule=not_found_rule)
        return json_object(response, platform=PLATFORM, label="Pinterest", creates=creates)

    async def token(self, form: dict[str, str], *, rule: str, remediation: str) -> dict[str, Any]:
        """``POST /v5/oauth/token`` with Basic client auth. A refused grant (400/401) is
        ``AuthExpiredError`` with ``rule``; the app secret never appears in an error."""
        app = self.config.app()
        basic = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode("ascii")
        response = await self.send(
            "POST",
            self.base + "/oauth/token",
            creates=False,
            data=form,
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        )
        if response.status_code in (400, 401, 403):
            raise AuthExpiredError(
                f"Pinterest refused the grant ({error_body(response).get('message') or response.status_code}).",
                platform=PLATFORM,
                rule=rule,
                remediation=remediation,
                platform_response=error_body(response),
                http_status=401,
            )
        if not response.is_success:
            raise classify_response(response, creates=False)
        return json_object(response, platform=PLATFORM, label="Pinterest", creates=False)


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

"""Meta's Graph API, the parts Facebook, Instagram and Threads share: the version, the error
object and how its codes map to crosspost's taxonomy (PLATFORMS.md §2.4, §3.4).

A Graph error is ``{"error": {"message", "type", "code", "error_subcode", "is_transient",
"error_user_title", "error_user_msg", "fbtrace_id"}}``, usually with HTTP 400 (token errors come
as 400 or 401, service errors as 500/503). Classification reads ``code`` and ``error_subcode``
and the HTTP status, never the message text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    ErrorDetail,
    OutcomeUnknownError,
    PlatformError,
    PlatformUnavailableError,
    RateLimitedError,
)
from crosspost.lazy_imports import lazy_module
from crosspost.platforms.base import Capabilities, MediaItem, PlatformConfig
from crosspost.platforms.http import json_object, parsed_json

if TYPE_CHECKING:
    import httpx

    from crosspost.platforms import safe_http
else:  # loaded on first use: preflight reads this module without any HTTP (cold start)
    httpx = lazy_module("httpx")
    safe_http = lazy_module("crosspost.platforms.safe_http")

GRAPH_VERSION: Final = "v21.0"
GRAPH_HOST: Final = "https://graph.facebook.com"

# When a rate limit gives no estimate: Meta's app and page windows are rolling hours, so a few
# minutes is the least that can help.
DEFAULT_RATE_LIMIT_WAIT: Final = 300.0
# The Instagram publishing quota (code 9 / 2207042) is per rolling 24 hours.
PUBLISHING_CAP_WAIT: Final = 3600.0

_MESSAGE_MAX: Final = 300
_URL: Final = re.compile(r"https?://\S+")
_DISPLAY_NAMES: Final = {"facebook": "Facebook", "instagram": "Instagram", "threads": "Threads"}

_AUTH_CODES: Final = frozenset({190, 102, 104})
_RATE_LIMIT_CODES: Final = frozenset({4, 17, 32, 613, 341, 80014, *range(80000, 80010)})
_TRANSIENT_CODES: Final = frozenset({1, 2})
_DUPLICATE_CODES: Final = frozenset({506, 368})
_DUPLICATE_SUBCODES: Final = frozenset({1366051})
_PUBLISHING_CAP_SUBCODE: Final = 2207042
# Subcodes that mean "slow down" whatever code they come with (1390008: posting too fast).
_RATE_LIMIT_SUBCODES: Final = frozenset({1390008})
# "Not ready yet" (the container is still processing): nothing was published, try again later.
_NOT_READY_SUBCODES: Final = frozenset({2207027})

# Media and container errors: (rule suffix, what to tell the user).
_MEDIA_SUBCODES: Final[dict[int, tuple[str, str]]] = {
    2207004: ("media.too_large", "The image is larger than the platform accepts."),
    2207005: ("media.mime_allowed", "The image format is not supported."),
    2207023: ("media.mime_allowed", "The media type is not supported."),
    2207026: ("media.mime_allowed", "The video format is not supported."),
    2207009: ("media.aspect_ratio", "The image's aspect ratio is outside the allowed range."),
    2207003: ("media.unreachable", "The platform could not download the media in time."),
    2207052: ("media.unreachable", "The platform could not fetch the media."),
    2207006: ("media.unreachable", "The media could not be found."),
    2207020: ("container.expired", "The media container expired; a new one is needed."),
    2207008: ("container.expired", "The media container expired; a new one is needed."),
    2207010: ("text.max_graphemes", "The caption is too long."),
    2207028: ("media.carousel", "The carousel is not valid."),
    2207057: ("media.thumbnail", "The video thumbnail offset is not valid."),
    2207050: ("account.restricted", "The account is restricted from publishing."),
    2207051: ("account.restricted", "The account's activity is restricted as suspected spam."),
    1366046: ("media.too_large", "The photo is too large or not a JPG/PNG."),
    2069019: ("media.invalid", "The file is not a valid media file."),
    1609005: ("link.invalid", "The link could not be read."),
    1404078: ("page.publishing_authorization", "The Page needs publishing authorization first."),
    1346003: ("content.abusive", "The content was flagged as abusive."),
}
_MEDIA_CODES: Final[dict[int, tuple[str, str]]] = {
    36000: ("media.too_large", "The image is larger than the platform accepts."),
    36001: ("media.resolution", "The image resolution is not supported."),
    36003: ("media.aspect_ratio", "The image's aspect ratio is outside the allowed range."),
    36002: ("media.invalid", "The media is not valid."),
    324: ("media.invalid", "The image file is missing or invalid."),
}


def media_error(subcode: int) -> tuple[str, str] | None:
    """(rule suffix, what to tell the user) for a media or container error subcode."""
    return _MEDIA_SUBCODES.get(subcode)


def display_name(platform: str) -> str:
    return _DISPLAY_NAMES.get(platform, platform.capitalize())


def graph_error(response: httpx.Response) -> dict[str, Any]:
    """The Graph error object, only the fields that describe the error (never anything that
    could echo a request or a token); ``{"status": N}`` when the body is not a Graph error."""
    parsed = parsed_json(response)
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return {"status": response.status_code}
    body: dict[str, Any] = {}
    for name in ("code", "error_subcode"):
        value = error.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            body[name] = value
    for name in ("type", "fbtrace_id", "error_user_title", "error_user_msg", "message"):
        value = error.get(name)
        if isinstance(value, str):
            # Meta quotes the media URL it could not fetch: a presigned URL carries a signature.
            body[name] = _URL.sub("<url>", value)[:_MESSAGE_MAX]
    if isinstance(error.get("is_transient"), bool):
        body["is_transient"] = error["is_transient"]
    return body or {"status": response.status_code}


def _buc_wait(header: str | None) -> float | None:
    """Seconds from ``X-Business-Use-Case-Usage``: the largest ``estimated_time_to_regain_access``
    (minutes) of any business, or None."""
    if not header:
        return None
    try:
        usage = json.loads(header)
    except ValueError:
        return None
    if not isinstance(usage, dict):
        return None
    minutes = [
        entry.get("estimated_time_to_regain_access")
        for entries in usage.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    waits = [float(m) for m in minutes if isinstance(m, int | float) and not isinstance(m, bool) and m > 0]
    return max(waits) * 60.0 if waits else None


def rate_limit_wait(response: httpx.Response) -> float:
    """How long to wait after a Graph rate limit: the BUC estimate, else a ``Retry-After`` (Meta
    does not send one, a proxy might), else a default."""
    wait = _buc_wait(response.headers.get("X-Business-Use-Case-Usage"))
    if wait is not None:
        return wait
    header = response.headers.get("Retry-After")
    if header:
        try:
            seconds = float(header)
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return DEFAULT_RATE_LIMIT_WAIT


def classify_graph(response: httpx.Response, *, platform: str, creates: bool) -> PlatformError:
    """Map a non-success Graph response to the taxonomy.

    ``creates`` is True for calls that make something visible or are not idempotent (a post,
    ``media_publish``): a server error there leaves the outcome unknown. Meta's 500s are known to
    produce duplicate posts, so they are never "not sent" on a create. A 503 is the service
    refusing before it processed anything: not sent, whatever the call.
    """
    status = response.status_code
    body = graph_error(response)
    code = body.get("code")
    subcode = body.get("error_subcode")
    name = display_name(platform)
    said = body.get("error_user_msg") or body.get("message") or f"HTTP {status}"
    common: dict[str, Any] = {"platform": platform, "platform_response": body}

    if code in _AUTH_CODES:
        return AuthExpiredError(
            f"{name} refused the access token ({said}).",
            rule=f"{platform}.auth.expired",
            remediation="Reconnect the account.",
            **common,
        )
    if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
        return AuthExpiredError(
            f"{name} says the app lacks a permission it needs ({said}).",
            rule=f"{platform}.permission.missing",
            remediation="Reconnect the account and grant every permission crosspost asks for.",
            **common,
        )
    if subcode == _PUBLISHING_CAP_SUBCODE or code == 9:
        return RateLimitedError(
            f"{name} says the account reached its daily publishing limit; crosspost tries again later.",
            rule=f"{platform}.publishing_limit",
            retry_after=PUBLISHING_CAP_WAIT,
            **common,
        )
    # Before the rate-limit codes: 2207051 (spam restriction) comes with code 4, and waiting
    # does not lift it.
    known = _MEDIA_SUBCODES.get(subcode) if isinstance(subcode, int) else None
    if known is None and isinstance(code, int):
        known = _MEDIA_CODES.get(code)
    if known is not None:
        suffix, what = known
        return ContentRejectedError(f"{name} refused the post: {what} ({said})", rule=f"{platform}.{suffix}", **common)
    if code in _RATE_LIMIT_CODES or subcode in _RATE_LIMIT_SUBCODES or status == 429:
        wait = rate_limit_wait(response)
        return RateLimitedError(
            f"{name} is rate limiting this app or account; crosspost waits {round(wait)} s before trying again.",
            rule=f"{platform}.rate_limited",
            retry_after=wait,
            **common,
        )
    if subcode in _NOT_READY_SUBCODES:
        return PlatformUnavailableError(
            f"{name} is still processing the media; crosspost tries again later.",
            rule=f"{platform}.container.not_ready",
            **common,
        )
    if code in _DUPLICATE_CODES or subcode in _DUPLICATE_SUBCODES:
        return ContentRejectedError(
            f"{name} refused the post as a duplicate ({said}).", rule=f"{platform}.duplicate", **common
        )
    if status == 503:
        return PlatformUnavailableError(
            f"{name} is unavailable (HTTP 503); crosspost tries again later.", rule=f"{platform}.unavailable", **common
        )
    if isinstance(subcode, int) and 2207000 <= subcode <= 2207999:
        return ContentRejectedError(
            f"{name} could not process the media ({said}).", rule=f"{platform}.container.error", **common
        )
    if code in _TRANSIENT_CODES or body.get("is_transient") is True or status >= 500:
        if creates:
            return OutcomeUnknownError(
                f"{name} failed while creating the post (HTTP {status}); it may or may not be live.",
                rule=f"{platform}.outcome_unknown",
                **common,
            )
        return PlatformUnavailableError(
            f"{name} is unavailable (HTTP {status}); crosspost tries again later.",
            rule=f"{platform}.unavailable",
            **common,
        )
    if status == 401:
        return AuthExpiredError(
            f"{name} refused the access token.",
            rule=f"{platform}.auth.expired",
            remediation="Reconnect the account.",
            **common,
        )
    return ContentRejectedError(f"{name} refused the request ({said}).", rule=f"{platform}.rejected", **common)


# ---- finding a post after an outcome-unknown failure -------------------------------------------

# A platform post made for a request is at most this much older than the stored post (clocks).
LOOKUP_SKEW: Final = timedelta(minutes=5)
LOOKUP_LIMIT: Final = 25


def same_text(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.strip() == b.strip()


def published_after(value: Any, created_at: datetime) -> bool:
    """True when the Graph timestamp ``value`` is no earlier than ``created_at`` (less the skew)."""
    at = parse_graph_time(value)
    return at is not None and at >= created_at - LOOKUP_SKEW


# ---- transport ---------------------------------------------------------------------------------


def graph_base(config: PlatformConfig) -> str:
    """``https://graph.facebook.com/v21.0`` (or the sandbox override)."""
    return f"{config.host(GRAPH_HOST)}/{GRAPH_VERSION}"


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """HMAC-SHA256 of the token keyed with the app secret (PLATFORMS.md §2.1): proves the call
    comes from the app's server when the app requires it."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def parse_graph_time(value: Any) -> datetime | None:
    """Graph timestamps: ``2026-05-08T12:00:00+0000``."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None


class GraphClient:
    """Calls ``{base}/{path}`` with a token in the Authorization header (never in the URL) and
    returns the JSON object, or raises a ``PlatformError``.

    ``creates`` marks calls that make something visible or cannot be repeated safely: when such a
    call went out and no usable answer came back, the outcome is unknown."""

    def __init__(self, http: httpx.AsyncClient, base: str, *, platform: str) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.platform = platform

    async def get(self, path: str, *, token: str | None, params: dict[str, str] | None = None) -> dict[str, Any]:
        return await self.call("GET", path, token=token, params=params, creates=False)

    async def post(
        self, path: str, *, token: str | None, data: dict[str, str] | None = None, creates: bool
    ) -> dict[str, Any]:
        return await self.call("POST", path, token=token, data=data, creates=creates)

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        creates: bool,
    ) -> dict[str, Any]:
        response = await self.send(method, path, token=token, params=params, data=data, creates=creates)
        if not response.is_success:
            raise classify_graph(response, platform=self.platform, creates=creates)
        return self.json(response, creates=creates)

    async def send(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        creates: bool,
    ) -> httpx.Response:
        """The raw response, whatever its status; transport failures raised as ``PlatformError``."""
        name = display_name(self.platform)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = f"{self.base}/{path.lstrip('/')}"
        try:
            return await self.http.request(method, url, params=params, data=data, headers=headers)
        # safe_http.UnsafeUrlError: the SSRF guard refused the host before connecting.
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, safe_http.UnsafeUrlError) as exc:
            raise PlatformUnavailableError(
                f"{name} could not be reached; crosspost tries again later.",
                platform=self.platform,
                rule=f"{self.platform}.unreachable",
            ) from exc
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            # The request may have been processed: on a create that is "outcome unknown".
            if creates:
                raise OutcomeUnknownError(
                    f"{name} did not answer while creating the post; it may or may not be live.",
                    platform=self.platform,
                    rule=f"{self.platform}.outcome_unknown",
                ) from exc
            raise PlatformUnavailableError(
                f"{name} did not answer in time; crosspost tries again later.",
                platform=self.platform,
                rule=f"{self.platform}.timeout",
            ) from exc

    def json(self, response: httpx.Response, *, creates: bool) -> dict[str, Any]:
        """The JSON object of a success; an unreadable one is unknown (creates) or unavailable."""
        return json_object(response, platform=self.platform, label=display_name(self.platform), creates=creates)


def required_id(data: dict[str, Any], key: str, *, platform: str, creates: bool) -> str:
    """``data[key]`` as a string id (Graph ids are strings, sometimes numbers)."""
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value:
        return value
    kind = OutcomeUnknownError if creates else PlatformUnavailableError
    raise kind(
        f"{display_name(platform)} answered without an {key}.",
        platform=platform,
        rule=f"{platform}.{'outcome_unknown' if creates else 'unavailable'}",
    )


# ---- media limits ------------------------------------------------------------------------------


def media_problems(capabilities: Capabilities, media: tuple[MediaItem, ...]) -> list[ErrorDetail]:
    """Stage-B checks of what is known about each item (type, size, dimensions) against the
    platform's limits; run at preflight where the facts are known and again before any call."""
    p = capabilities.platform
    name = display_name(p)
    found: list[ErrorDetail] = []
    for index, item in enumerate(media):
        field = f"media[{index}]"
        if item.kind == "image":
            allowed, max_bytes = capabilities.image_mime_types, capabilities.image_max_bytes
        elif item.kind == "video":
            allowed, max_bytes = capabilities.video_mime_types, capabilities.video_max_bytes
        else:
            found.append(ErrorDetail(f"{p}.media.kind", f"{name} takes images and videos only.", field))
            continue
        mime = (item.content_type or "").split(";")[0].strip().lower()
        if mime and mime not in allowed:
            kinds = ", ".join(sorted(allowed))
            found.append(ErrorDetail(f"{p}.media.mime_allowed", f"{name} accepts {kinds} for {item.kind}s.", field))
        if max_bytes is not None and item.size is not None and item.size > max_bytes:
            limit = f"{max_bytes / (1024 * 1024):g} MiB"
            found.append(ErrorDetail(f"{p}.media.too_large", f"{name} accepts {item.kind}s up to {limit}.", field))
        ratio = capabilities.image_aspect_ratio
        if item.kind == "image" and ratio is not None and item.width and item.height:
            aspect = item.width / item.height
            if not ratio[0] - 0.005 <= aspect <= ratio[1] + 0.005:
                found.append(
                    ErrorDetail(
                        f"{p}.media.aspect_ratio",
                        f"{name} accepts images with an aspect ratio from {ratio[0]:g} to {ratio[1]:g} "
                        f"(width / height); this one is {aspect:.2f}.",
                        field,
                    )
                )
    return found


def reject_media_problems(capabilities: Capabilities, media: tuple[MediaItem, ...]) -> None:
    problems = media_problems(capabilities, media)
    if problems:
        first = problems[0]
        raise ContentRejectedError(
            first.message, platform=capabilities.platform, rule=first.rule, field=first.field, details=problems
        )


def media_url(item: MediaItem, index: int, platform: str) -> str:
    """The URL the platform fetches (``media_transfer="url"``: the publishing service sets it)."""
    if not item.url:
        raise ContentRejectedError(
            f"{display_name(platform)} fetches media from a URL and this item has none.",
            platform=platform,
            rule=f"{platform}.media.url_required",
            field=f"media[{index}]",
        )
    return item.url

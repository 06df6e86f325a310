"""LinkedIn on the wire: the transport (versioned REST calls, the OAuth token endpoint), error
classification, token parsing, the "little text" escaping of post commentary and what a post URN
says. The adapter and the auth strategy are in ``crosspost.platforms.linkedin``; facts in
PLATFORMS.md §5.

Error bodies are ``{"status", "serviceErrorCode"?, "code"?, "message"}`` (auth, permissions,
versions) or the Rest.li validation shape ``{"errorDetailType", "message", "errorDetails":
{"inputErrors": [{"code", "description", "input"}]}, "status"}`` (duplicates, invalid fields).
Classification reads the HTTP status and those ``code`` fields, never the message text; the one
thing taken from a message is the URN a ``DUPLICATE_POST`` refusal names (LinkedIn puts it
nowhere else), and only to reconcile, never to classify.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Final

from crosspost.clock import now
from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    OutcomeUnknownError,
    PlatformError,
    PlatformUnavailableError,
    RateLimitedError,
)
from crosspost.lazy_imports import lazy_module
from crosspost.platforms.base import TokenSet
from crosspost.platforms.http import json_object as read_json

if TYPE_CHECKING:
    import httpx

    from crosspost.platforms import safe_http
else:  # loaded on first use: preflight reads this module without any HTTP (cold start)
    httpx = lazy_module("httpx")
    safe_http = lazy_module("crosspost.platforms.safe_http")

PLATFORM: Final = "linkedin"
API_HOST: Final = "https://api.linkedin.com"
AUTH_HOST: Final = "https://www.linkedin.com"
# One version for every call. LinkedIn supports a monthly version for about a year, then answers
# 426 NONEXISTENT_VERSION: bump this (and run the sandbox tests) at least once a year.
LINKEDIN_VERSION: Final = "202607"
RESTLI_PROTOCOL_VERSION: Final = "2.0.0"
# LinkedIn's limits reset at midnight UTC and its 429 carries no Retry-After (PLATFORMS.md §5.3):
# a daily quota that is used up comes back then, so waiting less only burns attempts.
RESET_MARGIN: Final = timedelta(seconds=60)
_MESSAGE_MAX: Final = 300

# ---- commentary ("little text") ----------------------------------------------------------------

# Characters LinkedIn's little text format reserves: unescaped, the post is cut off at the first
# one (silently: the API answers 201). PLATFORMS.md §5.2.
RESERVED: Final = frozenset("\\<>#~_|[]*(){}@")
# What may come right before a hashtag: the start, a space or an opening bracket or quote (not a
# letter or "/": "a#b" and "https://x.test/#frag" are plain text).
_HASHTAG_LEAD: Final = frozenset("([{\"'“‘«")
_HASHTAG: Final = re.compile(r"#([^\W_]+)")


def escape_commentary(text: str) -> str:
    """``text`` as post commentary: every reserved character backslash-escaped, except the ``#``
    of a hashtag (``#word`` after a space, the start or an opening bracket), which stays a
    clickable LinkedIn hashtag. ``@`` is always escaped: a LinkedIn mention names a member or
    page URN (``@[Name](urn:li:person:…)``), which crosspost's text has no way to carry, and a
    user's ``@[x](…)`` must not turn into a mention of someone else."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "#" and (i == 0 or text[i - 1].isspace() or text[i - 1] in _HASHTAG_LEAD):
            tag = _HASHTAG.match(text, i)
            if tag is not None:
                out.append(tag.group(0))
                i = tag.end()
                continue
        out.append("\\" + char if char in RESERVED else char)
        i += 1
    return "".join(out)


# ---- post URNs ---------------------------------------------------------------------------------

_POST_URN: Final = re.compile(r"urn:li:(?:share|ugcPost):(\d{1,20})")


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}"


def urn_time(urn: str) -> datetime | None:
    """When a share/ugcPost was created: its id's top bits are milliseconds since the epoch
    (``id >> 22``, like a snowflake id; observed on real URNs, not documented). None when the
    URN is not a post URN or the time is implausible."""
    match = _POST_URN.fullmatch(urn)
    if match is None:
        return None
    millis = int(match.group(1)) >> 22
    if not 1_262_304_000_000 <= millis <= 4_102_444_800_000:  # 2010 .. 2100
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


def duplicate_of(body: Any) -> str | None:
    """The URN of the existing post a ``DUPLICATE_POST`` refusal names, from its message (the
    only place LinkedIn says it); None for any other body."""
    if not isinstance(body, dict) or "DUPLICATE_POST" not in input_error_codes(body):
        return None
    message = body.get("message")
    found = _POST_URN.search(message) if isinstance(message, str) else None
    return found.group(0) if found else None


# ---- classification ----------------------------------------------------------------------------


def error_body(response: httpx.Response) -> dict[str, Any]:
    """The fields of a LinkedIn error worth keeping (never an ``input`` echo of the request):
    ``status``, ``serviceErrorCode``, ``code``, ``message``, the input errors' ``code`` /
    ``description`` / field path, and the OAuth ``error`` / ``error_description``."""
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return {"status": response.status_code}
    body: dict[str, Any] = {"status": response.status_code}
    for name in ("serviceErrorCode", "code", "message", "errorDetailType", "error", "error_description"):
        value = parsed.get(name)
        if isinstance(value, str):
            body[name] = value[:_MESSAGE_MAX]
        elif isinstance(value, int) and not isinstance(value, bool):
            body[name] = value
    details = parsed.get("errorDetails")
    inputs = details.get("inputErrors") if isinstance(details, dict) else None
    if isinstance(inputs, list):
        kept = []
        for entry in inputs[:10]:
            if not isinstance(entry, dict):
                continue
            item = {k: entry[k][:_MESSAGE_MAX] for k in ("code", "description") if isinstance(entry.get(k), str)}
            path = entry.get("input", {}).get("inputPath") if isinstance(entry.get("input"), dict) else None
            if isinstance(path, dict) and isinstance(path.get("fieldPath"), str):
                item["fieldPath"] = path["fieldPath"][:_MESSAGE_MAX]
            kept.append(item)
        body["errorDetails"] = {"inputErrors": kept}
    return body


def input_error_codes(body: dict[str, Any]) -> list[str]:
    details = body.get("errorDetails")
    inputs = details.get("inputErrors") if isinstance(details, dict) else None
    if not isinstance(inputs, list):
        return []
    return [e["code"] for e in inputs if isinstance(e, dict) and isinstance(e.get("code"), str)]


def seconds_until_reset(at: datetime | None = None) -> float:
    """Until just after the next midnight UTC, when LinkedIn's daily limits reset."""
    current = at or now()
    midnight = datetime.combine(current.date() + timedelta(days=1), datetime.min.time(), UTC)
    return (midnight - current + RESET_MARGIN).total_seconds()


def _retry_after(response: httpx.Response) -> float:
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(1.0, float(header))
        except ValueError:
            try:
                return max(1.0, (parsedate_to_datetime(header) - now()).total_seconds())
            except (TypeError, ValueError):
                pass
    return seconds_until_reset()


_AUTH_RULES: Final = {
    65600: "linkedin.auth.invalid",
    65601: "linkedin.auth.revoked",
    65602: "linkedin.auth.expired",
    "INVALID_ACCESS_TOKEN": "linkedin.auth.invalid",
    "REVOKED_ACCESS_TOKEN": "linkedin.auth.revoked",
    "EXPIRED_ACCESS_TOKEN": "linkedin.auth.expired",
}
_VERSION_CODES: Final = frozenset({"NONEXISTENT_VERSION", "VERSION_MISSING", "INVALID_VERSION"})


def classify_response(response: httpx.Response, *, creates: bool) -> PlatformError:
    """Map a non-2xx LinkedIn response to the taxonomy from the status and the ``code`` fields.

    ``creates``: the call creates the post (``POST /rest/posts``, not idempotent), so a server
    error other than 503 leaves the outcome unknown. Uploads and reads are repeatable: a new
    upload only leaves an unused image or video behind."""
    status = response.status_code
    body = error_body(response)
    code = body.get("code")
    said = body.get("message") or body.get("error_description") or f"HTTP {status}"
    common: dict[str, Any] = {"platform": PLATFORM, "platform_response": body}

    if status == 401:
        rule = _AUTH_RULES.get(body.get("serviceErrorCode", "")) or _AUTH_RULES.get(code or "")
        return AuthExpiredError(
            f"LinkedIn refused the access token ({said}).",
            rule=rule or "linkedin.auth.invalid",
            remediation="Reconnect the LinkedIn account.",
            **common,
        )
    if status == 403:
        return AuthExpiredError(
            f"LinkedIn says this account may not do that ({said}).",
            rule="linkedin.auth.forbidden",
            remediation="Reconnect the LinkedIn account, granting 'Share on LinkedIn' (w_member_social).",
            **common,
        )
    if status == 429:
        wait = _retry_after(response)
        return RateLimitedError(
            "LinkedIn's daily limit for this account or app is used up; crosspost tries again after it resets "
            f"(in {round(wait / 60)} min).",
            rule="linkedin.rate_limited",
            retry_after=wait,
            **common,
        )
    if status == 426 or code in _VERSION_CODES:
        return ContentRejectedError(
            f"LinkedIn refused crosspost's API version {LINKEDIN_VERSION} ({said}).",
            rule="linkedin.version.unsupported",
            remediation="Upgrade crosspost: LinkedIn retires each API version about a year after its release.",
            **common,
        )
    if status == 503:  # refused before processing: nothing was made, whatever the call
        return PlatformUnavailableError(
            "LinkedIn is unavailable (HTTP 503); crosspost tries again later.", rule="linkedin.unavailable", **common
        )
    if status >= 500:
        if creates:
            return OutcomeUnknownError(
                f"LinkedIn failed while creating the post (HTTP {status}); it may or may not be live.",
                rule="linkedin.outcome_unknown",
                **common,
            )
        return PlatformUnavailableError(
            f"LinkedIn is unavailable (HTTP {status}); crosspost tries again later.",
            rule="linkedin.unavailable",
            **common,
        )
    if status == 408:
        return PlatformUnavailableError(
            "LinkedIn timed out reading the request; crosspost tries again later.",
            rule="linkedin.unavailable",
            **common,
        )
    if "DUPLICATE_POST" in input_error_codes(body):
        return ContentRejectedError(
            "LinkedIn refused the post as a duplicate of one already on this account.",
            rule="linkedin.duplicate",
            remediation="Change the text: LinkedIn refuses a post identical to a recent one.",
            **common,
        )
    if status == 413:
        return ContentRejectedError(
            f"LinkedIn refused the upload as too large ({said}).", rule="linkedin.media.too_large", **common
        )
    if status in (400, 422):
        return ContentRejectedError(f"LinkedIn refused the post ({said}).", rule="linkedin.post.invalid", **common)
    return ContentRejectedError(
        f"LinkedIn refused the request (HTTP {status}): {said}", rule="linkedin.request.refused", **common
    )


def classify_token_response(response: httpx.Response, *, rule: str) -> PlatformError:
    """The OAuth token endpoint: a refused code or refresh token (400/401) means the user must
    connect again; a 5xx is "try later"."""
    body = error_body(response)
    common: dict[str, Any] = {"platform": PLATFORM, "platform_response": body}
    if response.status_code in (400, 401, 403):
        said = body.get("error_description") or body.get("error") or f"HTTP {response.status_code}"
        return AuthExpiredError(
            f"LinkedIn refused the authorization ({said}).",
            rule=rule,
            remediation="Connect the LinkedIn account again.",
            http_status=401,
            **common,
        )
    if response.status_code == 429:
        return classify_response(response, creates=False)
    return PlatformUnavailableError(
        f"LinkedIn's sign-in is unavailable (HTTP {response.status_code}); try again later.",
        rule="linkedin.unavailable",
        **common,
    )


# ---- tokens ------------------------------------------------------------------------------------

# The refresher renews a refreshable token this long before it expires (days of margin survive an
# outage of the refresher or of LinkedIn; a 60-day token is renewed after ~53 days).
REFRESH_AHEAD: Final = timedelta(days=7)


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def granted_scopes(data: dict[str, Any]) -> tuple[str, ...] | None:
    """The ``scope`` of a token answer (LinkedIn separates with commas; spaces accepted too)."""
    scope = data.get("scope")
    if not isinstance(scope, str):
        return None
    return tuple(sorted({s for s in scope.replace(",", " ").split() if s}))


def token_set(data: dict[str, Any], *, issued_at: datetime, previous: TokenSet | None = None) -> TokenSet:
    """A ``TokenSet`` from an ``/oauth/v2/accessToken`` answer.

    Without a refresh token (every app that is not an approved partner) the connection ends when
    the access token does: ``connection_expires_at`` is its expiry and nothing renews it early.
    With one, the connection lasts as long as the refresh token (365 days, not extended by
    refreshing), and the refresher renews the access token ``REFRESH_AHEAD`` of its expiry."""
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise PlatformUnavailableError(
            "LinkedIn answered the token request without an access token.",
            platform=PLATFORM,
            rule="linkedin.unavailable",
        )
    expires_in = _seconds(data.get("expires_in"))
    access_expires = issued_at + timedelta(seconds=expires_in) if expires_in is not None else None
    refresh = data.get("refresh_token")
    connection_expires: datetime | None
    if isinstance(refresh, str) and refresh:
        refresh_in = _seconds(data.get("refresh_token_expires_in"))
        connection_expires = issued_at + timedelta(seconds=refresh_in) if refresh_in is not None else None
        if connection_expires is None and previous is not None:
            connection_expires = previous.connection_expires_at
    elif previous is not None and previous.refresh_token:
        refresh, connection_expires = previous.refresh_token, previous.connection_expires_at
    else:
        refresh, connection_expires = None, access_expires
    refresh_after = None
    if refresh and access_expires is not None:
        lifetime = access_expires - issued_at
        refresh_after = access_expires - min(REFRESH_AHEAD, lifetime / 2)
    extra = dict(previous.extra) if previous else {}
    scopes = granted_scopes(data)
    if scopes is not None:
        extra["scopes"] = list(scopes)
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=access_expires,
        connection_expires_at=connection_expires,
        refresh_after=refresh_after,
        extra=extra,
    )


# ---- transport ---------------------------------------------------------------------------------


class LinkedInApi:
    """Calls LinkedIn: the versioned REST API, upload URLs, OpenID userinfo and the token
    endpoint. Returns the response of a 2xx call or raises a ``PlatformError``."""

    def __init__(self, http: httpx.AsyncClient, api_host: str, auth_host: str) -> None:
        self.http = http
        self.api_host = api_host
        self.auth_host = auth_host

    async def rest(
        self,
        method: str,
        path: str,
        token: str,
        *,
        creates: bool = False,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """``{api}/rest/...`` with the version headers every versioned call needs."""
        headers = {
            "Authorization": f"Bearer {token}",
            "Linkedin-Version": LINKEDIN_VERSION,
            "X-Restli-Protocol-Version": RESTLI_PROTOCOL_VERSION,
        }
        return await self.send(
            method, f"{self.api_host}{path}", creates=creates, headers=headers, params=params, json=body
        )

    async def upload(self, url: str, token: str, data: bytes) -> httpx.Response:
        """PUT bytes to an upload URL LinkedIn handed out (another host than the API)."""
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"}
        return await self.send("PUT", url, creates=False, headers=headers, content=data)

    async def userinfo(self, token: str) -> dict[str, Any]:
        response = await self.send(
            "GET", f"{self.api_host}/v2/userinfo", creates=False, headers={"Authorization": f"Bearer {token}"}
        )
        return json_object(response)

    async def token(self, form: dict[str, str], *, rule: str) -> dict[str, Any]:
        """POST the token endpoint (client id and secret in the form, as LinkedIn wants them)."""
        url = f"{self.auth_host}/oauth/v2/accessToken"
        try:
            response = await self.http.post(url, data=form, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:  # nothing was granted that we know of: the user can retry
            raise PlatformUnavailableError(
                "LinkedIn's sign-in could not be reached; try again later.",
                platform=PLATFORM,
                rule="linkedin.unreachable",
            ) from exc
        if not response.is_success:
            raise classify_token_response(response, rule=rule)
        return json_object(response)

    async def send(self, method: str, url: str, *, creates: bool, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.http.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, safe_http.UnsafeUrlError) as exc:
            raise PlatformUnavailableError(
                "LinkedIn could not be reached; crosspost tries again later.",
                platform=PLATFORM,
                rule="linkedin.unreachable",
            ) from exc
        except httpx.TransportError as exc:
            # The request went out (or may have): for the post itself that is "outcome unknown".
            if creates:
                raise OutcomeUnknownError(
                    "LinkedIn did not answer the post in time; it may or may not be live.",
                    platform=PLATFORM,
                    rule="linkedin.timeout",
                ) from exc
            raise PlatformUnavailableError(
                "LinkedIn did not answer in time; crosspost tries again later.",
                platform=PLATFORM,
                rule="linkedin.timeout",
            ) from exc
        if not response.is_success:
            raise classify_response(response, creates=creates)
        return response


def json_object(response: httpx.Response) -> dict[str, Any]:
    """LinkedIn's JSON object; a reply that is not one is "not sent" (no creating call reads a body)."""
    return read_json(response, platform=PLATFORM, label="LinkedIn", creates=False)

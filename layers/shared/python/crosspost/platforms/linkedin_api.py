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
from typing import TYPE_CHECKING, Any, Final

from crosspost.clock import now
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
from crosspost.platforms.http import json_object as read_json
from crosspost.platforms.http import parsed_json

if TYPE_CHECKING:
    import httpx
else:  # loaded on first use: preflight reads this module without any HTTP (cold start)
    httpx = lazy_module("httpx")

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
    parsed = parsed_json(response)
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
    given = rest.retry_after(response, current=now().timestamp())
    return seconds_until_reset() if given is None else max(1.0, given)


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
    if status == 408:  # LinkedIn's 408 comes before it read the whole request: nothing was made
        return PlatformUnavailableError(
            "LinkedIn timed out reading the request; crosspost tries again later.",
            rule="linkedin.unavailable",
            **common,
        )
    failed = rest.server_failure(status, platform=PLATFORM, label="LinkedIn", creates=creates, platform_response=body)
    if failed is not None:
        return failed
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
    answer = rest.token_answer(data, issued_at=issued_at, platform=PLATFORM, label="LinkedIn")
    refresh = answer.refresh_token
    connection_expires: datetime | None
    if refresh:
        refresh_in = rest.seconds(data.get("refresh_token_expires_in"))
        connection_expires = issued_at + timedelta(seconds=refresh_in) if refresh_in is not None else None
        if connection_expires is None and previous is not None:
            connection_expires = previous.connection_expires_at
    elif previous is not None and previous.refresh_token:
        refresh, connection_expires = previous.refresh_token, previous.connection_expires_at
    else:
        refresh, connection_expires = None, answer.access_expires_at
    extra = dict(previous.extra) if previous else {}
    scopes = granted_scopes(data)
    if scopes is not None:
        extra["scopes"] = list(scopes)
    return TokenSet(
        access_token=answer.access_token,
        refresh_token=refresh,
        access_expires_at=answer.access_expires_at,
        connection_expires_at=connection_expires,
        refresh_after=answer.refresh_after(issued_at, REFRESH_AHEAD) if refresh else None,
        extra=extra,
    )


# ---- transport ---------------------------------------------------------------------------------


class LinkedInApi(rest.RestApi):
    """Calls LinkedIn: the versioned REST API, upload URLs, OpenID userinfo and the token
    endpoint. Returns the response of a 2xx call or raises a ``PlatformError``."""

    platform = PLATFORM
    label = "LinkedIn"
    api_host = API_HOST
    unanswered_create = "LinkedIn did not answer the post in time; it may or may not be live."

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
        return await self._succeeded(
            method, f"{self.base}{path}", creates=creates, headers=headers, params=params, json=body
        )

    async def upload(self, url: str, token: str, data: bytes) -> httpx.Response:
        """PUT bytes to an upload URL LinkedIn handed out (another host than the API)."""
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"}
        return await self._succeeded("PUT", url, creates=False, headers=headers, content=data)

    async def userinfo(self, token: str) -> dict[str, Any]:
        response = await self._succeeded(
            "GET", f"{self.base}/v2/userinfo", creates=False, headers={"Authorization": f"Bearer {token}"}
        )
        return json_object(response)

    async def token(self, form: dict[str, str], *, rule: str) -> dict[str, Any]:
        """POST the token endpoint (client id and secret in the form, as LinkedIn wants them).
        Not ``rest.OAuthJsonApi.grant``: no Basic auth, and the sign-in host's failures read as such
        (its answers other than a refusal or a rate limit all mean "sign-in unavailable")."""
        url = f"{self.config.host(AUTH_HOST)}/oauth/v2/accessToken"
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

    async def _succeeded(self, method: str, url: str, *, creates: bool, **kwargs: Any) -> httpx.Response:
        """The response of a 2xx call; any other answer raised as LinkedIn's classification."""
        response = await self.send(method, url, creates=creates, **kwargs)
        if not response.is_success:
            raise classify_response(response, creates=creates)
        return response


def json_object(response: httpx.Response) -> dict[str, Any]:
    """LinkedIn's JSON object; a reply that is not one is "not sent" (no creating call reads a body)."""
    return read_json(response, platform=PLATFORM, label="LinkedIn", creates=False)

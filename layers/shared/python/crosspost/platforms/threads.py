"""Threads (graph.threads.net): OAuth connect with long-lived tokens, and container publishing.

Facts used here are in PLATFORMS.md §4 (and §2.4 for the Graph error object). What matters:

- Connect: the authorization code gives a short-lived token (1 h), traded at once for a
  long-lived one (60 days). There is no refresh token: a long-lived token that is at least 24 h
  old and not expired is renewed with ``th_refresh_token`` for another 60 days. So the
  connection lasts as long as the server keeps renewing, and ``tokenExpiresAt`` (API.md) is the
  current long-lived token's expiry. ``refresh_after`` asks the refresher to renew once about
  30 days are left (``RENEW_AHEAD``, never before the 24 h minimum age): every renewal happens
  weeks before the account could read ``expiring_soon`` (7 days), leaving room for retries.
- Publishing is two steps: a *container* (``POST /{user}/threads``; carousels: one per item
  with ``is_carousel_item``, then a ``CAROUSEL`` parent naming them) that Threads processes
  (``status``: IN_PROGRESS → FINISHED, or ERROR / EXPIRED), then ``threads_publish``, which
  makes the post. Containers are invisible and expire on their own, so creating one again is
  harmless; ``threads_publish`` is the only step that is not idempotent, and it is sent only
  after this attempt saw the container FINISHED (never PUBLISHED).
- Processing that outlasts ``request.deadline`` returns ``PublishProgress`` with the container
  ids; the next attempt resumes from them (a container already PUBLISHED is looked up, not
  published again).
- Reconciling (``find_published``): the container's own status when the progress names it
  (anything but PUBLISHED means "not published"), else the account's recent posts (or replies)
  since the post was created, matched on the text.
- Failures are classified from the Graph error's ``code``/``error_subcode`` and the HTTP
  status (``crosspost.platforms.graph``), never from message text.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

import regex

from crosspost.clock import iso, now, parse_iso
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
from crosspost.observability import logger
from crosspost.platforms.base import (
    Capabilities,
    ConnectedAccount,
    MediaItem,
    PlatformAdapter,
    PlatformConfig,
    PublishProgress,
    PublishRequest,
    PublishResult,
    TokenSet,
)
from crosspost.platforms.graph import classify_graph
from crosspost.platforms.http import json_object
from crosspost.platforms.text import graphemes, utf8_len

if TYPE_CHECKING:
    import httpx

    from crosspost.platforms import safe_http
else:  # loaded on first use: preflight reads this module without any HTTP (cold start)
    httpx = lazy_module("httpx")
    safe_http = lazy_module("crosspost.platforms.safe_http")

PLATFORM: Final = "threads"
GRAPH_HOST: Final = "https://graph.threads.net"
AUTHORIZE_HOST: Final = "https://threads.net"
API_VERSION: Final = "v1.0"
PROFILE_URL: Final = "https://www.threads.net/@{username}"

SCOPES: Final = ("threads_basic", "threads_content_publish", "threads_manage_replies")
EXTENDED_SCOPES: Final = ("threads_read_replies", "threads_manage_insights")

TEXT_MAX: Final = 500
MAX_MEDIA: Final = 20  # carousel items, images and videos mixed
ALT_TEXT_MAX: Final = 1000
IMAGE_MAX_BYTES: Final = 8 * 1024 * 1024
VIDEO_MAX_BYTES: Final = 1024 * 1024 * 1024
IMAGE_ASPECT_RATIO: Final = (0.1, 10.0)  # "aspect ratio limit 10:1"

REFRESH_MIN_AGE: Final = timedelta(hours=24)  # Threads refuses to renew a younger token
RENEW_AHEAD: Final = timedelta(days=30)

# Polling a container within one attempt: quick at first (text and images are usually done at
# once), then slower; the publisher's next look (``check_after``) follows Meta's advice for
# video (about 30 s, then about once a minute).
POLL_FIRST_SECONDS: Final = 0.5
POLL_MAX_SECONDS: Final = 5.0
CHECK_AFTER_SECONDS: Final = 10.0
CHECK_AFTER_VIDEO_SECONDS: Final = 30.0

# Reconciling: posts from this long before the crosspost post was created still count (clock
# skew between crosspost and Threads); at most this many pages of the account's list are read.
LOOKUP_SLACK: Final = timedelta(minutes=5)
LOOKUP_PAGE_SIZE: Final = 50
LOOKUP_MAX_PAGES: Final = 4

_POST_FIELDS: Final = "id,text,timestamp,permalink"
_ME_FIELDS: Final = "id,username,name,threads_profile_picture_url"
# Graph "object does not exist" (code 100, subcode 33): for ``reply_to_id``, the parent post.
_NO_SUCH_OBJECT: Final = (100, 33)
# A grapheme Threads counts as its UTF-8 bytes: an emoji (presentation emoji, flags, keycaps,
# anything with the emoji variation selector). Plain ©, ❤ (text presentation) count as one.
_EMOJI: Final = regex.compile(r"[\p{Emoji_Presentation}\p{Regional_Indicator}\uFE0F\u20E3]")


def threads_text_length(text: str) -> int:
    """Length as Threads counts it (PLATFORMS.md §4.3): graphemes, except that an emoji counts
    as the number of its UTF-8 bytes (😀 = 4, 👍🏽 = 8)."""
    return sum(utf8_len(g) if _EMOJI.search(g) else 1 for g in graphemes(text))


# ---- tokens ------------------------------------------------------------------------------------


def renewal_time(issued_at: datetime, expires_at: datetime) -> datetime | None:
    """When the refresher should renew a long-lived token: ``RENEW_AHEAD`` before it expires, but
    not before Threads allows it (24 h after issue); None when that leaves no window."""
    at = max(issued_at + REFRESH_MIN_AGE, expires_at - RENEW_AHEAD)
    return at if at < expires_at else None


def long_lived_tokens(data: dict[str, Any], *, issued_at: datetime, extra: dict[str, Any]) -> TokenSet:
    """A ``TokenSet`` from a long-lived token answer ``{access_token, token_type, expires_in}``."""
    access = data.get("access_token")
    expires_in = data.get("expires_in")
    if not isinstance(access, str) or not access:
        raise PlatformUnavailableError(
            "Threads answered without an access token.", platform=PLATFORM, rule="threads.unavailable"
        )
    expires_at = None
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        expires_at = issued_at + timedelta(seconds=float(expires_in))
    return TokenSet(
        access_token=access,
        access_expires_at=expires_at,
        connection_expires_at=expires_at,
        refresh_after=renewal_time(issued_at, expires_at) if expires_at else None,
        extra={**extra, "issuedAt": iso(issued_at)},
    )


# ---- transport ---------------------------------------------------------------------------------


class _Graph:
    """Calls graph.threads.net (or the configured override); returns the JSON object or raises a
    ``PlatformError``. The token travels as the ``access_token`` parameter, as Threads documents;
    messages are built from parsed error fields only, never from the request."""

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig) -> None:
        self.http = http
        self.config = config

    def url(self, path: str) -> str:
        return self.config.host(GRAPH_HOST) + path

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        creates: bool = False,
    ) -> dict[str, Any]:
        """``creates``: the call makes the post (``threads_publish``): an answer lost after the
        request went out leaves the outcome unknown."""
        try:
            response = await self.http.request(method, self.url(path), params=params, data=data)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, safe_http.UnsafeUrlError) as exc:
            # Nothing was sent (safe_http.UnsafeUrlError: the SSRF guard refused the configured host).
            raise PlatformUnavailableError(
                "Threads could not be reached; crosspost tries again later.",
                platform=PLATFORM,
                rule="threads.unreachable",
            ) from exc
        except httpx.TransportError as exc:
            if creates:
                raise OutcomeUnknownError(
                    "Threads did not answer while publishing the post; it may or may not be live.",
                    platform=PLATFORM,
                    rule="threads.outcome_unknown",
                ) from exc
            raise PlatformUnavailableError(
                "Threads did not answer in time; crosspost tries again later.",
                platform=PLATFORM,
                rule="threads.timeout",
            ) from exc
        if not response.is_success:
            raise classify_graph(response, platform=PLATFORM, creates=creates)
        return json_object(response, platform=PLATFORM, label="Threads", creates=creates)


def _string(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value else None


def _login_refused(exc: PlatformError, what: str, rule: str) -> PlatformError:
    """At connect, a refused code or token is the caller's (401 ``platform_auth_failed``); a
    rate limit or an outage stays what it is."""
    if isinstance(exc, RateLimitedError | PlatformUnavailableError | OutcomeUnknownError):
        return exc
    body = exc.platform_response if isinstance(exc.platform_response, dict) else {}
    if body.get("code") == 101:  # "Error validating client secret / application"
        return AuthExpiredError(
            "Threads refused crosspost's app credentials; check the Threads app id and secret of this deployment.",
            platform=PLATFORM,
            rule="threads.app.invalid",
            platform_response=exc.platform_response,
            http_status=401,
        )
    return AuthExpiredError(
        f"Threads refused the {what}; start the connect flow again.",
        platform=PLATFORM,
        rule=rule,
        remediation="Start the connect flow again and finish it within a few minutes.",
        platform_response=exc.platform_response,
        http_status=401,
    )


# ---- auth strategy -----------------------------------------------------------------------------


class ThreadsAuth:
    """Connect a Threads account (``OAuth2Auth``): code → short-lived → long-lived token → ``/me``."""

    platform: str = PLATFORM
    uses_pkce: bool = False

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig) -> None:
        self.config = config
        self._graph = _Graph(http, config)

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None, extended_scopes: bool
    ) -> str:
        scopes = SCOPES + (EXTENDED_SCOPES if extended_scopes else ())
        query = urlencode(
            {
                "client_id": self.config.app().client_id,
                "redirect_uri": redirect_uri,
                "scope": ",".join(scopes),
                "response_type": "code",
                "state": state,
            }
        )
        return f"{self.config.host(AUTHORIZE_HOST)}/oauth/authorize?{query}"

    async def complete(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> list[ConnectedAccount]:
        app = self.config.app()
        try:
            short = await self._graph.call(
                "POST",
                "/oauth/access_token",
                data={
                    "client_id": app.client_id,
                    "client_secret": app.client_secret,
                    "code": code,
                    "grant_type": "authorization_code",
                    "redirect_uri": redirect_uri,
                },
            )
        except PlatformError as exc:
            raise _login_refused(exc, "authorization code", "threads.auth.code_invalid") from None
        short_token = _string(short, "access_token")
        if short_token is None:
            raise PlatformUnavailableError(
                "Threads answered the code exchange without a token.", platform=PLATFORM, rule="threads.unavailable"
            )
        issued_at = now()
        try:
            long = await self._graph.call(
                "GET",
                "/access_token",
                params={
                    "grant_type": "th_exchange_token",
                    "client_secret": app.client_secret,
                    "access_token": short_token,
                },
            )
            me = await self._graph.call(
                "GET",
                f"/{API_VERSION}/me",
                params={"fields": _ME_FIELDS, "access_token": _string(long, "access_token") or ""},
            )
        except PlatformError as exc:
            raise _login_refused(exc, "new access token", "threads.auth.invalid") from None
        user_id = _string(me, "id") or _string(short, "user_id")
        username = _string(me, "username")
        if user_id is None or username is None:
            raise PlatformUnavailableError(
                "Threads answered without the account's id and username.", platform=PLATFORM, rule="threads.unavailable"
            )
        tokens = long_lived_tokens(long, issued_at=issued_at, extra={"userId": user_id, "username": username})
        return [
            ConnectedAccount(
                platform=PLATFORM,
                platform_account_id=user_id,
                username=username,
                tokens=tokens,
                display_name=_string(me, "name"),
                profile_image_url=_string(me, "threads_profile_picture_url"),
                profile_url=PROFILE_URL.format(username=username),
            )
        ]


# ---- publishing helpers ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Session:
    user_id: str
    username: str | None
    token: str

    @classmethod
    def of(cls, tokens: TokenSet) -> _Session:
        user_id = tokens.extra.get("userId")
        if not isinstance(user_id, str) or not user_id:
            raise AuthExpiredError(
                "The stored Threads connection is incomplete; reconnect the account.",
                platform=PLATFORM,
                rule="threads.auth.expired",
            )
        username = tokens.extra.get("username")
        return cls(user_id, username if isinstance(username, str) else None, tokens.access_token)


@dataclass
class _Progress:
    """What an attempt leaves for the next one (``PublishProgress.state``): the container ids."""

    children: list[str] = field(default_factory=list)
    container: str | None = None

    @classmethod
    def of(cls, state: dict[str, Any] | None) -> _Progress:
        state = state or {}
        children = state.get("children")
        container = state.get("container")
        return cls(
            children=[c for c in children if isinstance(c, str)] if isinstance(children, list) else [],
            container=container if isinstance(container, str) and container else None,
        )

    def state(self) -> dict[str, Any]:
        return {"children": list(self.children), "container": self.container}


class _ContainerExpired(Exception):
    """A container of this post expired before it was published: start again."""


def reply_to_id(request: PublishRequest) -> str | None:
    block = request.options.get(PLATFORM)
    value = block.get("replyToId") if isinstance(block, dict) else None
    return value if isinstance(value, str) and value else None


def _media_params(index: int, item: MediaItem) -> dict[str, str]:
    """The container fields of one image or video (a single post's, or a carousel item's)."""
    if item.kind not in ("image", "video"):
        raise ContentRejectedError(
            f"Threads accepts images and videos, not '{item.kind}'.",
            platform=PLATFORM,
            rule="threads.media.kind",
            field=f"media[{index}]",
        )
    if not item.url:
        raise ContentRejectedError(
            "Threads fetches media from a URL, and this item has none.",
            platform=PLATFORM,
            rule="threads.media.url_missing",
            field=f"media[{index}]",
        )
    params = {"media_type": "IMAGE", "image_url": item.url}
    if item.kind == "video":
        params = {"media_type": "VIDEO", "video_url": item.url}
    if item.alt_text:
        params["alt_text"] = item.alt_text
    return params


def _timestamp(value: Any) -> datetime | None:
    """Threads timestamps: ``2026-05-08T12:00:00+0000``."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
    except ValueError:
        try:
            return parse_iso(value)
        except ValueError:
            return None


def _same_text(published: Any, text: str) -> bool:
    if not isinstance(published, str):
        return False
    return published.replace("\r\n", "\n").strip() == text.replace("\r\n", "\n").strip()


# ---- the adapter -------------------------------------------------------------------------------


class ThreadsAdapter(PlatformAdapter):
    capabilities = Capabilities(
        platform=PLATFORM,
        text_max_graphemes=TEXT_MAX,
        max_images=MAX_MEDIA,
        max_videos=MAX_MEDIA,
        image_video_exclusive=False,
        max_media=MAX_MEDIA,
        alt_text_max_graphemes=ALT_TEXT_MAX,
        idempotent_create=False,
        # The container's status, or the account's recent posts, tell for sure.
        lookup=True,
        # th_refresh_token renews the connection for another 60 days, as long as the server keeps at it.
        renews_indefinitely=True,
        media_transfer="url",
        image_mime_types=frozenset({"image/jpeg", "image/png"}),
        image_max_bytes=IMAGE_MAX_BYTES,
        video_mime_types=frozenset({"video/mp4", "video/quicktime"}),
        video_max_bytes=VIDEO_MAX_BYTES,
        image_aspect_ratio=IMAGE_ASPECT_RATIO,
    )

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig | None = None) -> None:
        super().__init__(http, config)
        self._graph = _Graph(http, self.config)

    @classmethod
    def text_length(cls, text: str) -> int:
        return threads_text_length(text)

    @classmethod
    def preflight(cls, request: PublishRequest) -> list[ErrorDetail]:
        found: list[ErrorDetail] = []
        block = request.options.get(PLATFORM)
        reply = block.get("replyToId") if isinstance(block, dict) else None
        if reply is not None and not (isinstance(reply, str) and reply.isascii() and reply.isdigit()):
            found.append(
                ErrorDetail(
                    "threads.reply_to.invalid",
                    "threads.replyToId must be a Threads media id (digits).",
                    "threads.replyToId",
                )
            )
        return found

    def classify(self, response: httpx.Response, *, creates: bool) -> PlatformError:
        return classify_graph(response, platform=PLATFORM, creates=creates)

    # ---- refresh ---------------------------------------------------------------------------

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        issued_at = now()
        try:
            data = await self._graph.call(
                "GET",
                "/refresh_access_token",
                params={"grant_type": "th_refresh_token", "access_token": tokens.access_token},
            )
        except (AuthExpiredError, ContentRejectedError) as exc:
            # Expired (older than 60 days), revoked, or not renewable: only a new connect helps.
            raise AuthExpiredError(
                "Threads refused to renew the access token; reconnect the account.",
                platform=PLATFORM,
                rule="threads.auth.expired",
                remediation="Reconnect the Threads account.",
                platform_response=exc.platform_response,
            ) from None
        return long_lived_tokens(data, issued_at=issued_at, extra=tokens.extra)

    # ---- publish ---------------------------------------------------------------------------

    async def publish(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | PublishProgress:
        session = _Session.of(tokens)
        for index, item in enumerate(request.media):
            _media_params(index, item)  # refuse before anything is sent
        progress = _Progress.of(request.progress)
        restarted = False
        while True:
            try:
                outcome = await self._advance(session, request, progress)
            except _ContainerExpired:
                if restarted:
                    raise ContentRejectedError(
                        "Threads let this post's containers expire twice.",
                        platform=PLATFORM,
                        rule="threads.container.expired",
                    ) from None
                logger.info("threads container expired, starting again", extra={"post_id": request.post_id})
                progress, restarted = _Progress(), True
                continue
            if outcome is None:
                return PublishProgress(state=progress.state(), check_after=self._check_after(request))
            return outcome

    async def _advance(self, session: _Session, request: PublishRequest, progress: _Progress) -> PublishResult | None:
        """Take the post as far as it goes before the deadline: the result, or None when a
        container is still processing (``progress`` then names every container made)."""
        carousel = len(request.media) > 1
        if progress.container is None:
            if carousel:
                if not progress.children:
                    progress.children = [
                        await self._create({**_media_params(i, item), "is_carousel_item": "true"}, session)
                        for i, item in enumerate(request.media)
                    ]
                if await self._wait(session, progress.children, request.deadline) is None:
                    return None
                params = {"media_type": "CAROUSEL", "children": ",".join(progress.children), "text": request.text}
            elif request.media:
                params = {**_media_params(0, request.media[0]), "text": request.text}
            else:
                params = {"media_type": "TEXT", "text": request.text}
            progress.container = await self._create(params, session, reply_to=reply_to_id(request))
        status = await self._wait(session, [progress.container], request.deadline)
        if status is None:
            return None
        if status == "PUBLISHED":  # an earlier attempt published it and lost the answer
            found = await self._lookup(session, request)
            if found is None:
                raise OutcomeUnknownError(
                    "Threads shows this post's container as published, but the post is not among the "
                    "account's recent posts.",
                    platform=PLATFORM,
                    rule="threads.outcome_unknown",
                )
            return found
        published = await self._graph.call(
            "POST",
            f"/{API_VERSION}/{session.user_id}/threads_publish",
            data={"creation_id": progress.container, "access_token": session.token},
            creates=True,
        )
        media_id = _string(published, "id")
        if media_id is None:
            raise OutcomeUnknownError(
                "Threads answered the publish call without the post's id.",
                platform=PLATFORM,
                rule="threads.outcome_unknown",
                platform_response={"keys": sorted(published)},
            )
        return PublishResult(uri=media_id, url=await self._permalink(session, media_id))

    async def _create(self, params: dict[str, str], session: _Session, *, reply_to: str | None = None) -> str:
        """A container's id. Not a post: a 5xx or a lost answer here is "not sent" (retrying
        only leaves an unused container, which Threads expires)."""
        data = {**params, "access_token": session.token}
        if reply_to is not None:
            data["reply_to_id"] = reply_to
        try:
            created = await self._graph.call("POST", f"/{API_VERSION}/{session.user_id}/threads", data=data)
        except ContentRejectedError as exc:
            body = exc.platform_response if isinstance(exc.platform_response, dict) else {}
            if reply_to is not None and (body.get("code"), body.get("error_subcode")) == _NO_SUCH_OBJECT:
                raise ContentRejectedError(
                    "Threads has no post with the id in threads.replyToId (or it cannot be replied to).",
                    platform=PLATFORM,
                    rule="threads.reply_to.not_found",
                    field="threads.replyToId",
                    platform_response=exc.platform_response,
                ) from None
            raise
        container = _string(created, "id")
        if container is None:
            raise PlatformUnavailableError(
                "Threads answered without the container's id.", platform=PLATFORM, rule="threads.unavailable"
            )
        return container

    async def _status(self, session: _Session, container: str) -> tuple[str, dict[str, Any]]:
        data = await self._graph.call(
            "GET",
            f"/{API_VERSION}/{container}",
            params={"fields": "status,error_message", "access_token": session.token},
        )
        status = data.get("status")
        return (status if isinstance(status, str) else "IN_PROGRESS"), data

    async def _wait(self, session: _Session, containers: list[str], deadline: float | None) -> str | None:
        """Poll until every container is FINISHED (→ "FINISHED"), one is PUBLISHED (→ "PUBLISHED"),
        or the deadline comes (→ None). ERROR refuses the post; EXPIRED raises ``_ContainerExpired``."""
        interval = POLL_FIRST_SECONDS
        while True:
            statuses = []
            for container in containers:
                status, data = await self._status(session, container)
                if status == "ERROR":
                    reason = data.get("error_message")
                    said = reason if isinstance(reason, str) else "no reason given"
                    raise ContentRejectedError(
                        f"Threads could not process the media ({said}).",
                        platform=PLATFORM,
                        rule="threads.container.error",
                        platform_response={
                            "status": "ERROR",
                            **({"error_message": reason[:300]} if isinstance(reason, str) else {}),
                        },
                    )
                if status == "EXPIRED":
                    raise _ContainerExpired(container)
                statuses.append(status)
            if "PUBLISHED" in statuses:
                return "PUBLISHED"
            if all(s == "FINISHED" for s in statuses):
                return "FINISHED"
            if deadline is None or time.monotonic() + interval > deadline:
                return None
            await asyncio.sleep(interval)
            interval = min(interval * 2, POLL_MAX_SECONDS)

    async def _permalink(self, session: _Session, media_id: str) -> str | None:
        """The post's URL. The post is live already: a failure here costs only the URL."""
        try:
            data = await self._graph.call(
                "GET", f"/{API_VERSION}/{media_id}", params={"fields": "id,permalink", "access_token": session.token}
            )
        except PlatformError as exc:
            logger.warning("threads permalink unavailable", extra={"rule": exc.rule})
            return None
        return _string(data, "permalink")

    @staticmethod
    def _check_after(request: PublishRequest) -> float:
        videos = any(item.kind == "video" for item in request.media)
        return CHECK_AFTER_VIDEO_SECONDS if videos else CHECK_AFTER_SECONDS

    # ---- reconcile -------------------------------------------------------------------------

    async def find_published(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | None:
        session = _Session.of(tokens)
        progress = _Progress.of(request.progress)
        if progress.container is not None:
            try:
                status, _ = await self._status(session, progress.container)
            except (ContentRejectedError, AuthExpiredError):
                status = None  # gone (containers are kept 24 h): the account's posts must tell
            if status is not None and status != "PUBLISHED":
                return None  # a container makes exactly one post, when it is published
        return await self._lookup(session, request)

    async def _lookup(self, session: _Session, request: PublishRequest) -> PublishResult | None:
        """The oldest of the account's posts (replies, for a reply) since the post was created
        whose text is this post's."""
        since = request.created_at - LOOKUP_SLACK
        edge = "replies" if reply_to_id(request) else "threads"
        params: dict[str, str] = {
            "fields": _POST_FIELDS,
            "since": str(int(since.timestamp())),
            "limit": str(LOOKUP_PAGE_SIZE),
            "access_token": session.token,
        }
        match: dict[str, Any] | None = None
        for _ in range(LOOKUP_MAX_PAGES):
            try:
                page = await self._graph.call("GET", f"/{API_VERSION}/{session.user_id}/{edge}", params=params)
            except AuthExpiredError as exc:
                if exc.rule != f"{PLATFORM}.permission.missing":
                    raise
                # Listing replies takes threads_read_replies (asked for with extendedScopes only):
                # without it nobody can tell, and a refresh would not change that.
                raise OutcomeUnknownError(
                    f"Threads does not let crosspost list this account's {edge} (permission not granted), so "
                    "whether the post went out cannot be checked.",
                    platform=PLATFORM,
                    rule="threads.lookup.not_permitted",
                    platform_response=exc.platform_response,
                ) from None
            items = page.get("data")
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict):
                    continue
                at = _timestamp(item.get("timestamp"))
                if _same_text(item.get("text"), request.text) and (at is None or at >= since):
                    match = item  # newest first: the last match is the oldest
            paging = page.get("paging")
            cursors = paging.get("cursors") if isinstance(paging, dict) else None
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if not (isinstance(paging, dict) and paging.get("next") and isinstance(after, str)):
                break
            params = {**params, "after": after}
        if match is None:
            return None
        media_id = _string(match, "id")
        if media_id is None:
            return None
        return PublishResult(uri=media_id, url=_string(match, "permalink") or await self._permalink(session, media_id))

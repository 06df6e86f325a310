"""X (formerly Twitter), API v2: OAuth 2.0 with PKCE and rotating refresh tokens, posts with up
to four images or one video/GIF, weighted text. Facts: PLATFORMS.md §7.

What matters for correctness:

- Connect: the OAuth core makes the PKCE verifier and keeps it server-side; the authorize URL
  carries its S256 challenge, and the code exchange sends the verifier, as a confidential client
  (Basic auth). ``/2/users/me`` names the account. The access token lives 2 hours; the refresh
  token (``offline.access``) rotates on every use and X sets no end to it, so the connection
  renews indefinitely (``tokenExpiresAt`` null) and tokens are refreshed on demand, when a
  publish finds them expired (``refresh_after`` None), inside the publisher's refresh lease.
- Text is counted as X counts it (``twitter_text``: 280 weighted, URLs 23, CJK and emoji 2).
- Media go up as bytes (``media_transfer="bytes"``): images in one ``POST /2/media/upload``,
  GIFs and videos chunked (initialize, append, finalize) and then processed by X; alt text
  through ``/2/media/metadata``. Processing that outlasts ``request.deadline`` returns
  ``PublishProgress`` with the media ids; the next attempt polls them (``STATUS``) instead of
  uploading again. Media ids are not posts: re-uploading one X lost is harmless.
- ``POST /2/tweets`` is not idempotent and X has no idempotency key. A timeout or a 500/502/504
  is ``OutcomeUnknownError``; ``find_published`` then reads the account's posts since the post
  was created and matches the text (as X shows it back) and the media count. The read goes back
  to that time page by page, so it is conclusive (``lookup``): None means X does not show the
  post. A 403 "duplicate content" is ``ContentRejectedError`` ``twitter.duplicate``: on a first
  attempt it is a real duplicate; on a later one the publishing service asks ``find_published``
  before giving up (a conclusive lookup), which finds the post if an earlier attempt made it.
- The wire (transport, classification, tokens) is in ``twitter_api``.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    ErrorDetail,
    PlatformError,
    PlatformUnavailableError,
)
from crosspost.lazy_imports import lazy_module
from crosspost.media import normalize_content_type, sniff
from crosspost.platforms.base import (
    Capabilities,
    ConnectedAccount,
    MediaItem,
    PlatformAdapter,
    PlatformConfig,
    PublishProgress,
    PublishRequest,
    PublishResult,
    PublishWarning,
    TokenSet,
)
from crosspost.platforms.twitter_api import (
    PLATFORM,
    WEB_HOST,
    TwitterApi,
    classify_response,
    post_url,
    profile_url,
)
from crosspost.platforms.twitter_text import MAX_WEIGHTED_LENGTH, has_invalid_characters, url_spans, weighted_length

if TYPE_CHECKING:
    import httpx
else:  # loaded on first use: preflight reads this module without any HTTP (cold start)
    httpx = lazy_module("httpx")

SCOPES: Final = ("tweet.read", "tweet.write", "users.read", "offline.access", "media.write")
MiB: Final = 1024 * 1024
IMAGE_MAX_BYTES: Final = 5 * MiB
GIF_MAX_BYTES: Final = 15 * MiB
VIDEO_MAX_BYTES: Final = 512 * MiB
ALT_TEXT_MAX: Final = 1000
CHUNK_BYTES: Final = 4 * MiB  # X takes append segments of up to 5 MB
IMAGE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
VIDEO_TYPES: Final = frozenset({"video/mp4", "video/quicktime"})
DEFAULT_CHECK_AFTER: Final = 5.0
MAX_CHECK_AFTER: Final = 60.0
# find_published reads the account's posts from the post's creation on (X's ``created_at`` has
# whole seconds: from the second it began), less this margin for X's clock against ours. Kept
# short: an identical text posted inside it would pass for this post.
LOOKUP_CLOCK_SKEW: Final = timedelta(seconds=2)
LOOKUP_PAGE_SIZE: Final = 100
LOOKUP_PAGES_MAX: Final = 5
_SPACES: Final = re.compile(r"\s+")


# ---- auth strategy -----------------------------------------------------------------------------


class TwitterAuth:
    """Connect through X's OAuth 2.0 (``OAuth2Auth``): PKCE (S256), confidential client."""

    platform: str = PLATFORM
    uses_pkce: bool = True

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig) -> None:
        self.http = http
        self.config = config
        self._api = TwitterApi(http, config)

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None, extended_scopes: bool
    ) -> str:
        """X's consent page. ``extended_scopes`` adds nothing: posting needs every scope asked."""
        if not code_challenge:
            raise ValueError("X requires a PKCE code challenge")
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.config.app().client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(SCOPES),
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            },
            quote_via=quote,  # scopes joined by %20, as X documents
        )
        return f"{self.config.host(WEB_HOST)}/i/oauth2/authorize?{query}"

    async def complete(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> list[ConnectedAccount]:
        tokens = await self._api.exchange_code(
            code,
            redirect_uri,
            rule="twitter.auth.code_invalid",
            remediation="Start the connection again; X's codes are single-use and expire within seconds.",
            code_verifier=code_verifier or "",
        )
        me = await self._api.call(
            "GET",
            "/users/me",
            token=tokens.access_token,
            params={"user.fields": "profile_image_url,verified,verified_type"},
        )
        user = me.get("data")
        if (
            not isinstance(user, dict)
            or not isinstance(user.get("id"), str)
            or not isinstance(user.get("username"), str)
        ):
            raise PlatformUnavailableError(
                "X answered /2/users/me without the account.", platform=PLATFORM, rule="twitter.unavailable"
            )
        username: str = user["username"]
        tokens.extra.update({"userId": user["id"], "username": username})
        image = user.get("profile_image_url")
        name = user.get("name")
        return [
            ConnectedAccount(
                platform=PLATFORM,
                platform_account_id=user["id"],
                username=username,
                tokens=tokens,
                display_name=name if isinstance(name, str) and name else None,
                profile_image_url=image if isinstance(image, str) and image else None,
                profile_url=profile_url(username),
            )
        ]


# ---- media -------------------------------------------------------------------------------------


def _content_type(item: MediaItem) -> str | None:
    if item.content_type:
        return normalize_content_type(item.content_type)
    return sniff(item.data).content_type if item.data is not None else None


def _is_gif(item: MediaItem) -> bool:
    return item.kind == "image" and _content_type(item) == "image/gif"


def _media_problems(index: int, item: MediaItem) -> list[ErrorDetail]:
    """X's own media limits beyond the capabilities, as far as type and size are known: a still
    image is 5 MiB at most (a GIF 15), and only these types go up."""
    field = f"media[{index}]"
    kind = _content_type(item)
    found: list[ErrorDetail] = []
    allowed = IMAGE_TYPES if item.kind == "image" else VIDEO_TYPES
    if kind is not None and kind not in allowed:
        found.append(
            ErrorDetail(
                "twitter.media.mime_allowed",
                f"X accepts {', '.join(sorted(allowed))} for {item.kind}s; this one is {kind}.",
                field,
            )
        )
    size = item.size if item.size is not None else (len(item.data) if item.data is not None else None)
    limit = VIDEO_MAX_BYTES if item.kind == "video" else GIF_MAX_BYTES if _is_gif(item) else IMAGE_MAX_BYTES
    if size is not None and size > limit:
        what = "videos" if item.kind == "video" else "GIFs" if _is_gif(item) else "images"
        found.append(
            ErrorDetail(
                "twitter.media.too_large", f"X {what} are limited to {limit:,} bytes; this one has {size:,}.", field
            )
        )
    return found


@dataclass
class _Processing:
    """Media ids of one post, in order, and those X is still processing."""

    ids: list[str]
    pending: list[str]
    check_after: float | None = None  # the longest wait X asked for (check_after_secs)

    def state(self) -> dict[str, Any]:
        return {"mediaIds": list(self.ids), "pending": list(self.pending)}

    def wait(self) -> float:
        return DEFAULT_CHECK_AFTER if self.check_after is None else self.check_after

    @classmethod
    def resumed(cls, progress: dict[str, Any] | None, count: int) -> _Processing | None:
        """The media an earlier attempt uploaded, if its state fits this post."""
        if not isinstance(progress, dict):
            return None
        ids, pending = progress.get("mediaIds"), progress.get("pending")
        if not (isinstance(ids, list) and isinstance(pending, list) and len(ids) == count):
            return None
        if not all(isinstance(i, str) and i for i in ids) or not set(pending) <= set(ids):
            return None
        return cls(list(ids), [str(p) for p in pending])


def _check_after(info: dict[str, Any]) -> float:
    value = info.get("check_after_secs")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return min(float(value), MAX_CHECK_AFTER)
    return DEFAULT_CHECK_AFTER


# ---- matching a post in X's listing ------------------------------------------------------------


def comparable_text(text: str) -> str:
    """Text as X may show it back, reduced to what survives the trip: X escapes ``&<>``, wraps
    every link in t.co and appends one for the media, and trims whitespace; so links go,
    entities are unescaped, whitespace runs become one space."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    kept, position = [], 0
    for start, end in url_spans(text):
        kept.append(text[position:start])
        position = end
    kept.append(text[position:])
    return _SPACES.sub(" ", " ".join(kept)).strip()


def _media_count(tweet: dict[str, Any]) -> int:
    attachments = tweet.get("attachments")
    keys = attachments.get("media_keys") if isinstance(attachments, dict) else None
    return len(keys) if isinstance(keys, list) else 0


# ---- the adapter -------------------------------------------------------------------------------


class TwitterAdapter(PlatformAdapter):
    capabilities = Capabilities(
        platform=PLATFORM,
        text_max_graphemes=MAX_WEIGHTED_LENGTH,  # weighted: see text_length
        max_images=4,
        max_videos=1,
        image_video_exclusive=True,
        alt_text_max_graphemes=ALT_TEXT_MAX,
        idempotent_create=False,
        lookup=True,  # the account's posts since the post was created, read to the end
        renews_indefinitely=True,
        media_transfer="bytes",
        image_mime_types=IMAGE_TYPES,
        image_max_bytes=GIF_MAX_BYTES,  # still images: 5 MiB, checked in preflight
        video_mime_types=VIDEO_TYPES,
        video_max_bytes=VIDEO_MAX_BYTES,
    )

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig | None = None) -> None:
        super().__init__(http, config)
        self._api = TwitterApi(http, self.config)

    @classmethod
    def text_length(cls, text: str) -> int:
        return weighted_length(text)

    @classmethod
    def preflight(cls, request: PublishRequest) -> list[ErrorDetail]:
        found: list[ErrorDetail] = []
        if has_invalid_characters(request.text):
            found.append(
                ErrorDetail(
                    "twitter.text.invalid_characters",
                    "X refuses text with the characters U+FFFE, U+FEFF or U+FFFF.",
                    "text",
                )
            )
        has_video = any(m.kind == "video" for m in request.media)
        if any(_is_gif(m) for m in request.media) and len(request.media) > 1 and not has_video:
            found.append(
                ErrorDetail(
                    "twitter.media.image_video_exclusive",
                    "X posts carry up to 4 images, or one GIF, or one video.",
                    "media",
                )
            )
        for index, item in enumerate(request.media):
            found += _media_problems(index, item)
        return found

    def classify(self, response: httpx.Response, *, creates: bool) -> PlatformError:
        return classify_response(response, creates=creates)

    # ---- refresh ---------------------------------------------------------------------------

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        return await self._api.refresh(
            tokens,
            missing="The X connection has no refresh token; reconnect the account.",
            rule="twitter.auth.refresh_failed",
            remediation="Reconnect the X account (the app was removed, or the refresh token was used elsewhere).",
        )

    # ---- publish ---------------------------------------------------------------------------

    async def publish(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | PublishProgress:
        _, username = _account(tokens)
        problems = self.preflight(request)  # stage B: the bytes are known now
        if problems:
            raise ContentRejectedError(
                problems[0].message, platform=PLATFORM, rule=problems[0].rule, field=problems[0].field
            )
        warnings: list[PublishWarning] = []
        media_ids: list[str] = []
        if request.media:
            processing = await self._media(tokens.access_token, request, warnings)
            if processing.pending:
                return PublishProgress(state=processing.state(), check_after=processing.wait())
            media_ids = processing.ids
        body: dict[str, Any] = {"text": request.text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        created = await self._api.call("POST", "/tweets", token=tokens.access_token, creates=True, body=body)
        data = created.get("data")
        post_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(post_id, str) or not post_id:
            raise PlatformUnavailableError(
                "X answered the post without its id.", platform=PLATFORM, rule="twitter.outcome_unknown"
            )
        return PublishResult(uri=post_id, url=post_url(username, post_id), warnings=tuple(warnings))

    async def find_published(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | None:
        user_id, username = _account(tokens)
        return await self._find(tokens.access_token, user_id, username, request)

    async def _find(self, token: str, user_id: str, username: str, request: PublishRequest) -> PublishResult | None:
        """This post among the account's posts since it was created: same text (as X shows it)
        and as many media. Reads every page back to that time, so None means "not there"; too
        many posts to read is "cannot tell" (a ``PlatformUnavailableError``)."""
        created = request.created_at if request.created_at.tzinfo else request.created_at.replace(tzinfo=UTC)
        since = created.astimezone(UTC).replace(microsecond=0) - LOOKUP_CLOCK_SKEW
        params: dict[str, Any] = {
            "max_results": LOOKUP_PAGE_SIZE,
            "start_time": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tweet.fields": "created_at,attachments",
        }
        wanted = comparable_text(request.text)
        for _ in range(LOOKUP_PAGES_MAX):
            page = await self._api.call("GET", f"/users/{user_id}/tweets", token=token, params=params)
            tweets = page.get("data")
            for tweet in tweets if isinstance(tweets, list) else []:
                if not isinstance(tweet, dict) or not isinstance(tweet.get("id"), str):
                    continue
                text, at = tweet.get("text"), _created_at(tweet)
                if at is not None and at < since:
                    continue  # X's start_time is coarse; older posts are not this one
                if (
                    isinstance(text, str)
                    and comparable_text(text) == wanted
                    and _media_count(tweet) == len(request.media)
                ):
                    return PublishResult(uri=tweet["id"], url=post_url(username, tweet["id"]))
            meta = page.get("meta")
            next_token = meta.get("next_token") if isinstance(meta, dict) else None
            if not isinstance(next_token, str) or not next_token:
                return None
            params["pagination_token"] = next_token
        raise PlatformUnavailableError(
            "The X account posted too much since this post was created to tell whether it went out.",
            platform=PLATFORM,
            rule="twitter.lookup.inconclusive",
        )

    # ---- media -----------------------------------------------------------------------------

    async def _media(self, token: str, request: PublishRequest, warnings: list[PublishWarning]) -> _Processing:
        """The media ids of ``request.media``, in order: those an earlier attempt uploaded (while X
        still knows them), else fresh uploads; then X's processing, waited for until the deadline."""
        processing = _Processing.resumed(request.progress, len(request.media))
        if processing is not None:
            try:
                await self._check(token, processing)
            except _MediaGone:
                processing = None  # expired or unknown to X: upload again (media ids are not posts)
        if processing is None:
            processing = _Processing([], [])
            for index, item in enumerate(request.media):
                media_id, pending = await self._upload(token, index, item)
                processing.ids.append(media_id)
                if pending is not None:
                    processing.pending.append(media_id)
                    processing.check_after = max(processing.check_after or 0.0, pending)
                if item.alt_text and item.kind == "video":
                    warnings.append(
                        PublishWarning("media.alt_text_unsupported", "X takes alt text for images and GIFs only.")
                    )
                elif item.alt_text:
                    await self._alt_text(token, media_id, item.alt_text)
        while processing.pending:
            if request.deadline is None or time.monotonic() + processing.wait() >= request.deadline:
                break
            await asyncio.sleep(processing.wait())
            await self._check(token, processing)
        return processing

    async def _upload(self, token: str, index: int, item: MediaItem) -> tuple[str, float | None]:
        """Upload one item: (media id, seconds to wait when X is still processing it, else None)."""
        if item.data is None:
            raise ContentRejectedError(
                "X needs the media's bytes; this item has none.",
                platform=PLATFORM,
                rule="twitter.media.unavailable",
                field=f"media[{index}]",
            )
        kind = _content_type(item) or ("video/mp4" if item.kind == "video" else "image/jpeg")
        if item.kind == "image" and kind != "image/gif":
            answer = await self._api.call(
                "POST",
                "/media/upload",
                token=token,
                data={"media_category": "tweet_image", "media_type": kind},
                files={"media": (f"media{index}", item.data, kind)},
            )
            return _media_answer(answer)
        category = "tweet_gif" if kind == "image/gif" else "tweet_video"
        started = await self._api.call(
            "POST",
            "/media/upload/initialize",
            token=token,
            body={"media_type": kind, "total_bytes": len(item.data), "media_category": category},
        )
        media_id, _ = _media_answer(started)
        for segment, offset in enumerate(range(0, len(item.data), CHUNK_BYTES)):
            await self._api.call(
                "POST",
                f"/media/upload/{media_id}/append",
                token=token,
                data={"segment_index": str(segment)},
                files={"media": ("blob", item.data[offset : offset + CHUNK_BYTES], "application/octet-stream")},
            )
        finished = await self._api.call("POST", f"/media/upload/{media_id}/finalize", token=token)
        _, pending = _media_answer(finished)
        return media_id, pending

    async def _alt_text(self, token: str, media_id: str, alt_text: str) -> None:
        body = {"id": media_id, "metadata": {"alt_text": {"text": alt_text}}}
        await self._api.call("POST", "/media/metadata", token=token, body=body)

    async def _check(self, token: str, processing: _Processing) -> None:
        """Ask X about each pending media id once (``STATUS``): done ones leave ``pending``, a
        failed one refuses the post, an unknown one is ``_MediaGone``."""
        check_after: float | None = None
        for media_id in list(processing.pending):
            try:
                answer = await self._api.call(
                    "GET", "/media/upload", token=token, params={"command": "STATUS", "media_id": media_id}
                )
            except ContentRejectedError as exc:  # 400/404: X no longer knows the id
                raise _MediaGone() from exc
            data = answer.get("data")
            found = data.get("processing_info") if isinstance(data, dict) else None
            info: dict[str, Any] = found if isinstance(found, dict) else {}
            state = info.get("state", "succeeded")
            if state == "failed":
                error: dict[str, Any] = info["error"] if isinstance(info.get("error"), dict) else {}
                raise ContentRejectedError(
                    f"X could not process the media: {error.get('message') or error.get('name') or 'failed'}.",
                    platform=PLATFORM,
                    rule="twitter.media.processing_failed",
                    field=f"media[{processing.ids.index(media_id)}]",
                    platform_response={"processing_info": {"state": "failed", "error": error}},
                )
            if state == "succeeded":
                processing.pending.remove(media_id)
            else:
                check_after = max(check_after or 0.0, _check_after(info))
        processing.check_after = check_after


class _MediaGone(Exception):
    """X no longer knows a media id an earlier attempt uploaded."""


def _media_answer(answer: dict[str, Any]) -> tuple[str, float | None]:
    """(media id, seconds to wait when X is still processing it, else None)."""
    data = answer.get("data")
    media_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(media_id, str) or not media_id:
        raise PlatformUnavailableError(
            "X answered the media upload without a media id.", platform=PLATFORM, rule="twitter.unavailable"
        )
    assert isinstance(data, dict)
    info = data.get("processing_info")
    if isinstance(info, dict) and info.get("state") in ("pending", "in_progress"):
        return media_id, _check_after(info)
    return media_id, None


def _account(tokens: TokenSet) -> tuple[str, str]:
    user_id, username = tokens.extra.get("userId"), tokens.extra.get("username")
    if not (isinstance(user_id, str) and user_id and isinstance(username, str) and username):
        raise AuthExpiredError(
            "The stored X connection is incomplete; reconnect the account.",
            platform=PLATFORM,
            rule="twitter.auth.expired",
            remediation="Reconnect the X account.",
        )
    return user_id, username


def _created_at(tweet: dict[str, Any]) -> datetime | None:
    value = tweet.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None

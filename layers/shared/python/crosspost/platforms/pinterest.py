"""Pinterest (API v5): OAuth with Basic client auth and continuous refresh tokens, and pins made
from an image URL or an uploaded video on a board. Facts: PLATFORMS.md §6.

What matters for correctness:

- Connect exchanges the code with ``Authorization: Basic`` client auth (and
  ``continuous_refresh=true``, which apps activated before 2025-09-25 must send), then reads
  ``/v5/user_account`` and the first board of ``/v5/boards``: that board becomes the account's
  default (``platform_block``: ``defaultBoardId``/``defaultBoardName``).
- Tokens: the access token lives ~30 days; the continuous refresh token 60 days and rotates on
  every refresh, so the server can keep the connection alive indefinitely. ``tokenExpiresAt``
  (API.md) is the refresh token's expiry, and ``refresh_after`` asks the refresher to renew a
  few days before the access token runs out.
- A pin is ``POST /v5/pins`` with ``board_id`` (the post's ``pinterest.boardId``, else the
  account's default board) and a ``media_source``: images by URL (Pinterest fetches the
  presigned GET itself: ``media_transfer="url"``), videos through ``/v5/media`` (register, an
  S3 presigned multipart POST of the bytes, which the publishing service hands over:
  ``video_transfer="bytes"``; poll until ``succeeded``), then ``video_id``.
  Video processing that outlasts ``request.deadline`` returns ``PublishProgress`` with the
  media id; the next attempt resumes from it and never uploads twice.
- Pin creation is not idempotent: a 5xx (other than 503) or a timeout after sending is
  ``OutcomeUnknownError``. ``find_published`` looks for the pin among the board's newest pins
  (description, link, title, created after the post); it is not conclusive (the listing can lag
  and a pin may have moved), so ``lookup`` stays False.
- The wire (transport, error classification, token parsing) is in ``pinterest_api``.
"""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, Final
from urllib.parse import urlencode, urlsplit

from crosspost.errors import (
    ContentRejectedError,
    ErrorDetail,
    OutcomeUnknownError,
    PlatformError,
    PlatformUnavailableError,
)
from crosspost.lazy_imports import lazy_module
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
from crosspost.platforms.pinterest_api import (
    PLATFORM,
    PinterestApi,
    classify_response,
    pin_url,
    profile_url,
    upload_refused,
)
from crosspost.platforms.text import grapheme_count

if TYPE_CHECKING:
    import httpx
else:  # loaded on first use: preflight reads this module without any HTTP (cold start)
    httpx = lazy_module("httpx")

WEB_HOST: Final = "https://www.pinterest.com"
SCOPES: Final = ("boards:read", "boards:write", "pins:read", "pins:write", "user_accounts:read")
# ``extendedScopes``: secret boards too (listing and pinning to them needs these).
SECRET_SCOPES: Final = ("boards:read_secret", "boards:write_secret", "pins:read_secret", "pins:write_secret")

TITLE_MAX: Final = 100
DESCRIPTION_MAX: Final = 800  # the OpenAPI spec; Pinterest's own guidance says 500 show well
ALT_TEXT_MAX: Final = 500
LINK_MAX: Final = 2048
IMAGE_MAX_BYTES: Final = 20 * 1024 * 1024
VIDEO_MAX_BYTES: Final = 2 * 1024 * 1024 * 1024
BASE64_IMAGE_TYPES: Final = frozenset({"image/jpeg", "image/png"})  # PinMediaSourceImageBase64

BOARD_PAGE_SIZE: Final = 25
BOARD_PAGES_MAX: Final = 4  # pages to skip while they come back empty (a bookmark with no items)
LOOKUP_PAGE_SIZE: Final = 50
LOOKUP_PAGES_MAX: Final = 3
# A pin's created_at is Pinterest's clock; the post's created_at is ours.
LOOKUP_CLOCK_SKEW: Final = timedelta(minutes=5)
VIDEO_POLL_FIRST: Final = 1.0
VIDEO_POLL_MAX: Final = 5.0
VIDEO_CHECK_AFTER: Final = 10.0
# The cover of a video pin: the frame at 1 s (milliseconds; Pinterest's minimum video is 4 s).
COVER_KEY_FRAME_MS: Final = 1000
_DOWNLOAD_SPOOL: Final = 8 * 1024 * 1024  # video bytes kept in memory before spilling to a file


# ---- auth strategy -----------------------------------------------------------------------------


class PinterestAuth:
    """Connect through Pinterest's OAuth (``OAuth2Auth``): no PKCE, Basic client auth."""

    platform: str = PLATFORM
    uses_pkce: bool = False

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig) -> None:
        self.http = http
        self.config = config
        self._api = PinterestApi(http, config)

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None, extended_scopes: bool
    ) -> str:
        scopes = SCOPES + SECRET_SCOPES if extended_scopes else SCOPES
        query = urlencode(
            {
                "client_id": self.config.app().client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": ",".join(scopes),
                "state": state,
            }
        )
        return f"{self.config.host(WEB_HOST)}/oauth/?{query}"

    async def complete(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> list[ConnectedAccount]:
        tokens = await self._api.exchange_code(
            code,
            redirect_uri,
            rule="pinterest.auth.code_invalid",
            remediation="Start the connect flow again; authorization codes work once and expire quickly.",
            continuous_refresh="true",
        )
        user = await self._api.call("GET", "/user_account", token=tokens.access_token)
        username = user.get("username")
        if not isinstance(username, str) or not username:
            raise PlatformUnavailableError(
                "Pinterest answered /user_account without a username.", platform=PLATFORM, rule="pinterest.unavailable"
            )
        account_id = user.get("id")
        board = await self._first_board(tokens.access_token)
        business = user.get("business_name")
        image = user.get("profile_image")
        return [
            ConnectedAccount(
                platform=PLATFORM,
                platform_account_id=account_id if isinstance(account_id, str) and account_id else username,
                username=username,
                tokens=tokens,
                display_name=business if isinstance(business, str) and business else username,
                profile_image_url=image if isinstance(image, str) and image else None,
                profile_url=profile_url(username),
                platform_block={
                    "defaultBoardId": board[0] if board else None,
                    "defaultBoardName": board[1] if board else None,
                },
            )
        ]

    async def _first_board(self, token: str) -> tuple[str, str] | None:
        """(id, name) of the first board the account lists, or None (an account without boards
        connects; its posts then need ``pinterest.boardId``)."""
        bookmark: str | None = None
        for _ in range(BOARD_PAGES_MAX):
            params: dict[str, Any] = {"page_size": BOARD_PAGE_SIZE}
            if bookmark:
                params["bookmark"] = bookmark
            page = await self._api.call("GET", "/boards", token=token, params=params)
            items = page.get("items")
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    name = item.get("name")
                    return item["id"], name if isinstance(name, str) else item["id"]
            next_bookmark = page.get("bookmark")
            if not isinstance(next_bookmark, str) or not next_bookmark:
                return None
            bookmark = next_bookmark
        return None


# ---- preflight ---------------------------------------------------------------------------------


def _options(request: PublishRequest) -> dict[str, Any]:
    block = request.options.get(PLATFORM)
    return block if isinstance(block, dict) else {}


def _option(request: PublishRequest, name: str) -> str | None:
    value = _options(request).get(name)
    return value if isinstance(value, str) and value else None


def board_id(request: PublishRequest) -> str | None:
    """The post's ``pinterest.boardId``, else the account's default board."""
    chosen = _option(request, "boardId")
    if chosen:
        return chosen
    default = request.account_block.get("defaultBoardId")
    return default if isinstance(default, str) and default else None


def _link_problem(link: str) -> ErrorDetail | None:
    field = "pinterest.destinationUrl"
    if len(link) > LINK_MAX:
        return ErrorDetail(
            "pinterest.destination_url.max_length", f"Pinterest links are limited to {LINK_MAX} characters.", field
        )
    try:
        parts = urlsplit(link)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return ErrorDetail("pinterest.destination_url.invalid", "The destination URL must be an http(s) URL.", field)
    return None


# ---- the adapter -------------------------------------------------------------------------------


class PinterestAdapter(PlatformAdapter):
    capabilities = Capabilities(
        platform=PLATFORM,
        text_max_graphemes=DESCRIPTION_MAX,
        max_images=1,
        max_videos=1,
        max_media=1,
        image_video_exclusive=True,
        alt_text_max_graphemes=ALT_TEXT_MAX,
        media_required=True,
        idempotent_create=False,
        lookup=False,  # the board listing can lag: not finding a pin does not prove it is absent
        renews_indefinitely=True,  # continuous refresh tokens, renewed by the refresher
        media_transfer="url",
        video_transfer="bytes",  # videos go through /v5/media with their bytes
        image_mime_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"}),
        image_max_bytes=IMAGE_MAX_BYTES,
        video_mime_types=frozenset({"video/mp4", "video/quicktime", "video/x-m4v"}),
        video_max_bytes=VIDEO_MAX_BYTES,
    )

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig | None = None) -> None:
        super().__init__(http, config)
        self._api = PinterestApi(http, self.config)

    @classmethod
    def preflight(cls, request: PublishRequest) -> list[ErrorDetail]:
        found: list[ErrorDetail] = []
        if len(request.media) > 1:
            found.append(
                ErrorDetail(
                    "pinterest.media.single_only", "A Pinterest pin carries exactly one image or video.", "media"
                )
            )
        chosen = _option(request, "boardId")
        if chosen is not None and not chosen.isdigit():
            found.append(
                ErrorDetail(
                    "pinterest.board.invalid", "A Pinterest board id is a string of digits.", "pinterest.boardId"
                )
            )
        if board_id(request) is None:
            found.append(
                ErrorDetail(
                    "pinterest.board.required",
                    "Pinterest pins go on a board: give pinterest.boardId (the account has no default board).",
                    "pinterest.boardId",
                )
            )
        title = _option(request, "title")
        if title is not None and (n := grapheme_count(title)) > TITLE_MAX:
            found.append(
                ErrorDetail(
                    "pinterest.title.max_graphemes",
                    f"Pinterest titles are limited to {TITLE_MAX} characters; this has {n}.",
                    "pinterest.title",
                )
            )
        link = _option(request, "destinationUrl")
        if link is not None and (problem := _link_problem(link)) is not None:
            found.append(problem)
        return found

    def classify(self, response: httpx.Response, *, creates: bool) -> PlatformError:
        return classify_response(response, creates=creates, not_found_rule="pinterest.board.not_found")

    # ---- refresh ---------------------------------------------------------------------------

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        return await self._api.refresh(
            tokens,
            missing="No Pinterest refresh token is stored; reconnect the account.",
            rule="pinterest.auth.expired",
            remediation="Reconnect the Pinterest account.",
        )

    # ---- publish ---------------------------------------------------------------------------

    async def publish(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | PublishProgress:
        item, board = self._checked(request)
        if item.kind == "video":
            progress = await self._video(tokens, request, item)
            if isinstance(progress, PublishProgress):
                return progress
            source: dict[str, Any] = {
                "source_type": "video_id",
                "media_id": progress,
                "cover_image_key_frame_time": COVER_KEY_FRAME_MS,
            }
        else:
            source = self._image_source(item)
        pin = await self._api.call(
            "POST",
            "/pins",
            token=tokens.access_token,
            creates=True,
            body=self._pin_body(request, board, item, source),
            not_found_rule="pinterest.board.not_found",
        )
        pin_id = pin.get("id")
        if not isinstance(pin_id, str) or not pin_id:
            raise OutcomeUnknownError(
                "Pinterest answered the pin creation without a pin id.",
                platform=PLATFORM,
                rule="pinterest.outcome_unknown",
            )
        return PublishResult(uri=pin_id, url=pin_url(pin_id))

    async def find_published(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | None:
        board = board_id(request)
        if board is None or not board.isdigit():
            return None
        cutoff = request.created_at - LOOKUP_CLOCK_SKEW
        link, title = _option(request, "destinationUrl"), _option(request, "title")
        found: str | None = None
        bookmark: str | None = None
        for _ in range(LOOKUP_PAGES_MAX):
            params: dict[str, Any] = {"page_size": LOOKUP_PAGE_SIZE}
            if bookmark:
                params["bookmark"] = bookmark
            page = await self._api.call(
                "GET",
                f"/boards/{board}/pins",
                token=tokens.access_token,
                params=params,
                not_found_rule="pinterest.board.not_found",
            )
            items = page.get("items")
            older = False
            for pin in items if isinstance(items, list) else []:  # newest first
                if not isinstance(pin, dict):
                    continue
                created = _pin_time(pin.get("created_at"))
                if created is not None and created < cutoff:
                    older = True
                    break
                if _same_pin(pin, request.text, link, title) and isinstance(pin.get("id"), str):
                    found = pin["id"]  # keep going: the oldest match is the earliest attempt's
            next_bookmark = page.get("bookmark")
            if older or not isinstance(next_bookmark, str) or not next_bookmark:
                break
            bookmark = next_bookmark
        return PublishResult(uri=found, url=pin_url(found)) if found else None

    # ---- pieces ----------------------------------------------------------------------------

    def _checked(self, request: PublishRequest) -> tuple[MediaItem, str]:
        """The single media item and the board, or the stage-A/B problem as a refusal."""
        problems = self.preflight(request)
        if not request.media:
            problems.insert(0, ErrorDetail("pinterest.media.required", "A Pinterest pin needs an image or a video."))
        if problems:
            first = problems[0]
            raise ContentRejectedError(first.message, platform=PLATFORM, rule=first.rule, field=first.field)
        board = board_id(request)
        assert board is not None  # preflight refused a post without one
        return request.media[0], board

    def _image_source(self, item: MediaItem) -> dict[str, Any]:
        if item.url:
            return {"source_type": "image_url", "url": item.url}
        if item.data is not None and item.content_type in BASE64_IMAGE_TYPES:
            return {
                "source_type": "image_base64",
                "content_type": item.content_type,
                "data": base64.b64encode(item.data).decode("ascii"),
            }
        raise ContentRejectedError(
            "Pinterest needs the image as a URL it can fetch (or JPEG/PNG bytes).",
            platform=PLATFORM,
            rule="pinterest.media.mime_allowed" if item.data is not None else "pinterest.media.unavailable",
            field="media[0]",
        )

    @staticmethod
    def _pin_body(request: PublishRequest, board: str, item: MediaItem, source: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"board_id": board, "description": request.text, "media_source": source}
        title, link = _option(request, "title"), _option(request, "destinationUrl")
        if title:
            body["title"] = title
        if link:
            body["link"] = link
        if item.alt_text:
            body["alt_text"] = item.alt_text
        return body

    # ---- video -----------------------------------------------------------------------------

    async def _video(self, tokens: TokenSet, request: PublishRequest, item: MediaItem) -> str | PublishProgress:
        """The media id of the processed video, or ``PublishProgress`` while Pinterest is still
        processing at the deadline. Resumes from ``request.progress["mediaId"]``: an upload that
        was made is never made again (unless Pinterest no longer knows the media)."""
        progress = request.progress or {}
        media_id = progress.get("mediaId") if isinstance(progress.get("mediaId"), str) else None
        status: str | None = None
        if media_id is not None:
            status = await self._media_status(tokens, media_id)
        if media_id is None or status is None:
            media_id = await self._upload_video(tokens, item)
            status = await self._media_status(tokens, media_id)
            if status is None:
                raise PlatformUnavailableError(
                    "Pinterest lost the uploaded video; crosspost tries again later.",
                    platform=PLATFORM,
                    rule="pinterest.media.not_found",
                )
        wait = VIDEO_POLL_FIRST
        while True:
            if status == "succeeded":
                return media_id
            if status == "failed":
                raise ContentRejectedError(
                    "Pinterest could not process the video.",
                    platform=PLATFORM,
                    rule="pinterest.media.processing_failed",
                    field="media[0]",
                    remediation="Check that the file is an MP4, MOV or M4V video of at least 4 seconds.",
                )
            remaining = request.deadline - time.monotonic() if request.deadline is not None else 0.0
            if remaining <= 0:
                return PublishProgress(state={"mediaId": media_id}, check_after=VIDEO_CHECK_AFTER)
            await asyncio.sleep(min(wait, remaining))
            wait = min(wait * 2, VIDEO_POLL_MAX)
            polled = await self._media_status(tokens, media_id)
            if polled is None:
                raise PlatformUnavailableError(
                    "Pinterest lost the uploaded video; crosspost tries again later.",
                    platform=PLATFORM,
                    rule="pinterest.media.not_found",
                )
            status = polled

    async def _media_status(self, tokens: TokenSet, media_id: str) -> str | None:
        """``registered | processing | succeeded | failed``, or None when Pinterest does not
        know the media (404)."""
        try:
            data = await self._api.call(
                "GET", f"/media/{media_id}", token=tokens.access_token, not_found_rule="pinterest.media.not_found"
            )
        except ContentRejectedError as exc:
            if exc.rule == "pinterest.media.not_found":
                return None
            raise
        status = data.get("status")
        return status if isinstance(status, str) else "processing"

    async def _upload_video(self, tokens: TokenSet, item: MediaItem) -> str:
        if item.data is None:  # video_transfer="bytes": the publishing service always sets them
            raise ContentRejectedError(
                "The video's bytes are missing.",
                platform=PLATFORM,
                rule="pinterest.media.unavailable",
                field="media[0]",
            )
        registered = await self._api.call("POST", "/media", token=tokens.access_token, body={"media_type": "video"})
        media_id, upload_url = registered.get("media_id"), registered.get("upload_url")
        fields = registered.get("upload_parameters")
        if not (isinstance(media_id, str) and isinstance(upload_url, str) and isinstance(fields, dict)):
            raise PlatformUnavailableError(
                "Pinterest answered the media registration without an upload URL.",
                platform=PLATFORM,
                rule="pinterest.unavailable",
            )
        form = {str(k): str(v) for k, v in fields.items()}
        content_type = item.content_type or "video/mp4"
        response = await self._post_upload(upload_url, form, item.data, content_type)
        if not response.is_success:
            raise upload_refused(response)
        return media_id

    async def _post_upload(
        self, upload_url: str, form: dict[str, str], content: bytes | IO[bytes], content_type: str
    ) -> httpx.Response:
        # An S3 presigned POST: every upload parameter as a form field, then the file.
        return await self._api.send(
            "POST", upload_url, creates=False, data=form, files={"file": ("video", content, content_type)}
        )


def _pin_time(value: Any) -> datetime | None:
    """A pin's ``created_at`` ("2022-10-13T01:40:29", UTC without a zone)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _same_pin(pin: dict[str, Any], text: str, link: str | None, title: str | None) -> bool:
    return pin.get("description") == text and (pin.get("link") or None) == link and (pin.get("title") or None) == title

"""LinkedIn: OAuth 2 connect (member accounts), token refresh, and publishing through the
versioned Posts API with images and video. Facts in PLATFORMS.md §5; the wire details
(transport, classification, commentary escaping) are in ``crosspost.platforms.linkedin_api``.

Decisions worth knowing:

- Connect asks for ``openid profile email w_member_social``; the account is the member
  (``urn:li:person:{sub}`` from OpenID userinfo), which is the post's ``author``. LinkedIn gives
  no profile URL without the restricted ``r_basicprofile`` (vanityName), so it is null.
- Refresh tokens exist only for approved partner apps. Without one the connection ends with the
  60-day access token (``tokenExpiresAt``, then ``expiring_soon``/``expired``) and ``refresh``
  says "reconnect". With one, the refresher renews ahead of expiry until the refresh token's own
  fixed 365 days run out. Either way the server cannot renew forever (``renews_indefinitely``
  False).
- Commentary is escaped (``escape_commentary``): LinkedIn silently cuts a post at the first
  unescaped reserved character. Hashtags stay clickable; ``@`` never becomes a mention.
- A 429 carries no Retry-After; LinkedIn's limits are daily and reset at midnight UTC, so the
  retry waits until then (``linkedin_api.seconds_until_reset``).
- Video: initializeUpload → PUT parts (ETags) → finalizeUpload → wait for ``AVAILABLE``. Beyond
  ``request.deadline`` the video URN goes into ``PublishProgress`` and the next attempt resumes
  by polling that video, never uploading it again.
- Outcome unknown (a timeout or 5xx on ``POST /rest/posts``): LinkedIn offers a member app no way
  to list the member's posts (reading them needs ``r_member_social``, a closed permission), so
  ``lookup`` is False and there is no ``find_published``: a post whose create lost its answer
  fails as ``publish.outcome_unknown`` (with a remediation) rather than being sent again, because
  the only other signal, LinkedIn's 422 ``DUPLICATE_POST`` for an identical recent post, would
  need a re-send and LinkedIn does not say how long it remembers duplicates. The one place a
  duplicate refusal is used is ``publish`` resuming from progress (minutes after an interrupted
  attempt): a refusal naming a post created since this one is this post.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

from crosspost.clock import now
from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    ErrorDetail,
    OutcomeUnknownError,
    PlatformError,
    PlatformUnavailableError,
)
from crosspost.lazy_imports import lazy_module
from crosspost.media import normalize_content_type, sniff, sniff_image
from crosspost.platforms.base import (
    Capabilities,
    ConnectedAccount,
    MediaItem,
    PlatformAdapter,
    PlatformConfig,
    PlatformNotConfiguredError,
    PublishProgress,
    PublishRequest,
    PublishResult,
    TokenSet,
)
from crosspost.platforms.linkedin_api import (
    AUTH_HOST,
    PLATFORM,
    LinkedInApi,
    classify_response,
    duplicate_of,
    escape_commentary,
    granted_scopes,
    json_object,
    post_url,
    token_set,
    urn_time,
)

if TYPE_CHECKING:
    import httpx
else:  # loaded on first use: preflight reads this module without any HTTP (cold start)
    httpx = lazy_module("httpx")

SCOPES: Final = ("openid", "profile", "email", "w_member_social")
POSTING_SCOPE: Final = "w_member_social"
TEXT_MAX: Final = 3000
IMAGE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif"})
# LinkedIn documents a pixel limit for the Images API; the byte limit is the one vendors quote.
IMAGE_MAX_BYTES: Final = 5 * 1024 * 1024
IMAGE_MAX_PIXELS: Final = 36_152_320
VIDEO_TYPES: Final = frozenset({"video/mp4"})
VIDEO_MIN_BYTES: Final = 75 * 1024
VIDEO_MAX_BYTES: Final = 500 * 1024 * 1024
ALT_TEXT_MAX: Final = 4086
MAX_IMAGES: Final = 20  # multiImage takes 2-20
VIDEO_POLL_SECONDS: Final = 2.0
VIDEO_CHECK_AFTER: Final = 15.0  # LinkedIn processes videos for seconds to minutes
# A duplicate's URN older than this post by more than this is another post with the same text.
_CLOCK_SKEW: Final = timedelta(minutes=5)


# ---- auth strategy -----------------------------------------------------------------------------


class LinkedInAuth:
    """Connect a LinkedIn member (``OAuth2Auth``): authorization code, client secret in the token
    form, no PKCE (LinkedIn's web flow authenticates the app with its secret)."""

    platform: str = PLATFORM
    uses_pkce: bool = False

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig) -> None:
        self.config = config
        self._api = LinkedInApi(http, config)

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None, extended_scopes: bool
    ) -> str:
        """LinkedIn's consent page. ``extended_scopes`` adds nothing: a member app's other scopes
        (organization pages, ads) need LinkedIn's approval and are not used by crosspost."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.config.app().client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "scope": " ".join(SCOPES),
            }
        )
        return f"{self.config.host(AUTH_HOST)}/oauth/v2/authorization?{query}"

    async def complete(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> list[ConnectedAccount]:
        app = self.config.app()
        issued_at = now()
        data = await self._api.token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": app.client_id,
                "client_secret": app.client_secret,
            },
            rule="linkedin.auth.code_invalid",
        )
        scopes = granted_scopes(data)
        if scopes is not None and POSTING_SCOPE not in scopes:
            raise ContentRejectedError(
                "LinkedIn did not grant the 'Share on LinkedIn' permission (w_member_social), so crosspost "
                "could not post for this member.",
                platform=PLATFORM,
                rule="linkedin.scope.missing",
                remediation="Add the 'Share on LinkedIn' product to the LinkedIn app, then connect again.",
                http_status=400,
                platform_response={"scope": list(scopes)},
            )
        tokens = token_set(data, issued_at=issued_at)
        try:
            me = await self._api.userinfo(tokens.access_token)
        except AuthExpiredError as exc:  # a token refused right after it was issued: connect again
            raise AuthExpiredError(
                exc.message, platform=PLATFORM, rule=exc.rule, platform_response=exc.platform_response, http_status=401
            ) from None
        sub = me.get("sub")
        if not isinstance(sub, str) or not sub:
            raise PlatformUnavailableError(
                "LinkedIn answered userinfo without the member's id.", platform=PLATFORM, rule="linkedin.unavailable"
            )
        author = f"urn:li:person:{sub}"
        tokens.extra["author"] = author
        name = _text(me.get("name")) or " ".join(
            part for part in (_text(me.get("given_name")), _text(me.get("family_name"))) if part
        )
        email = _text(me.get("email"))
        return [
            ConnectedAccount(
                platform=PLATFORM,
                platform_account_id=author,
                username=name or email or sub,
                display_name=name or None,
                profile_image_url=_text(me.get("picture")) or None,
                profile_url=None,
                tokens=tokens,
            )
        ]


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


# ---- media -------------------------------------------------------------------------------------


def _media_quirks(index: int, item: MediaItem) -> list[ErrorDetail]:
    """LinkedIn rules beyond the Capabilities limits (which the shared preflight checks)."""
    field = f"media[{index}]"
    size = len(item.data) if item.data is not None else item.size
    width, height = item.width, item.height
    if item.kind == "image" and not (width and height) and item.data is not None:
        _, width, height = sniff_image(item.data)
    found = []
    if item.kind == "image" and width and height and width * height > IMAGE_MAX_PIXELS:
        found.append(
            ErrorDetail(
                "linkedin.media.too_many_pixels",
                f"LinkedIn images must have fewer than {IMAGE_MAX_PIXELS:,} pixels; this one has {width * height:,}.",
                field,
            )
        )
    if item.kind == "video" and size is not None and size < VIDEO_MIN_BYTES:
        found.append(
            ErrorDetail(
                "linkedin.media.too_small", f"LinkedIn videos must be at least {VIDEO_MIN_BYTES:,} bytes.", field
            )
        )
    return found


def _media_problems(index: int, item: MediaItem) -> list[ErrorDetail]:
    """Every LinkedIn rule for one item whose bytes are here (publish time, stage B)."""
    field = f"media[{index}]"
    if item.data is None:
        return [
            ErrorDetail("linkedin.media.unavailable", "The media's bytes did not reach the LinkedIn adapter.", field)
        ]
    image = item.kind == "image"
    allowed, limit = (IMAGE_TYPES, IMAGE_MAX_BYTES) if image else (VIDEO_TYPES, VIDEO_MAX_BYTES)
    found = []
    content_type = normalize_content_type(item.content_type) or sniff(item.data).content_type
    if content_type not in allowed:
        found.append(
            ErrorDetail(
                "linkedin.media.mime_allowed",
                f"LinkedIn accepts {', '.join(sorted(allowed))} {'images' if image else 'videos'}.",
                field,
            )
        )
    if len(item.data) > limit:
        found.append(
            ErrorDetail("linkedin.media.too_large", f"LinkedIn takes {item.kind}s up to {limit:,} bytes.", field)
        )
    return found + _media_quirks(index, item)


@dataclass(frozen=True)
class _Media:
    images: tuple[MediaItem, ...] = ()
    video: MediaItem | None = None


def _checked_media(media: tuple[MediaItem, ...]) -> _Media:
    """The post's media, refused before anything is sent when LinkedIn would refuse it."""

    def refuse(rule: str, message: str, field: str = "media") -> ContentRejectedError:
        return ContentRejectedError(message, platform=PLATFORM, rule=rule, field=field)

    for index, item in enumerate(media):
        if item.kind not in ("image", "video"):
            raise refuse("linkedin.media.kind", "LinkedIn posts take images or a video.", f"media[{index}]")
        problems = _media_problems(index, item)
        if problems:
            raise refuse(problems[0].rule, problems[0].message, problems[0].field or "media")
    images = tuple(m for m in media if m.kind == "image")
    videos = [m for m in media if m.kind == "video"]
    if images and videos:
        raise refuse("linkedin.media.image_video_exclusive", "A LinkedIn post takes images or one video, not both.")
    if len(videos) > 1:
        raise refuse("linkedin.media.count_max", "A LinkedIn post takes one video.")
    if len(images) > MAX_IMAGES:
        raise refuse("linkedin.media.count_max", f"A LinkedIn post takes up to {MAX_IMAGES} images.")
    return _Media(images=images, video=videos[0] if videos else None)


# ---- the adapter -------------------------------------------------------------------------------


class LinkedInAdapter(PlatformAdapter):
    capabilities = Capabilities(
        platform=PLATFORM,
        text_max_graphemes=TEXT_MAX,
        max_images=MAX_IMAGES,
        max_videos=1,
        image_video_exclusive=True,
        alt_text_max_graphemes=ALT_TEXT_MAX,
        first_comment=False,
        idempotent_create=False,
        lookup=False,  # no way to list a member's posts (module docstring)
        renews_indefinitely=False,
        media_transfer="bytes",
        image_mime_types=IMAGE_TYPES,
        image_max_bytes=IMAGE_MAX_BYTES,
        video_mime_types=VIDEO_TYPES,
        video_max_bytes=VIDEO_MAX_BYTES,
    )

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig | None = None) -> None:
        super().__init__(http, config)
        self._api = LinkedInApi(http, self.config)

    @classmethod
    def preflight(cls, request: PublishRequest) -> list[ErrorDetail]:
        found: list[ErrorDetail] = []
        for index, item in enumerate(request.media):
            found += _media_quirks(index, item)
        return found

    def classify(self, response: httpx.Response, *, creates: bool) -> PlatformError:
        return classify_response(response, creates=creates)

    # ---- refresh ---------------------------------------------------------------------------

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            raise AuthExpiredError(
                "LinkedIn issues this app no refresh tokens: the member has to connect the account again.",
                platform=PLATFORM,
                rule="linkedin.auth.expired",
                remediation="Reconnect the LinkedIn account (LinkedIn tokens last 60 days).",
            )
        try:
            app = self.config.app()
        except PlatformNotConfiguredError:
            raise AuthExpiredError(
                "This deployment has no LinkedIn app credentials, so the token cannot be refreshed.",
                platform=PLATFORM,
                rule="platform.not_configured",
            ) from None
        issued_at = now()
        data = await self._api.token(
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens.refresh_token,
                "client_id": app.client_id,
                "client_secret": app.client_secret,
            },
            rule="linkedin.auth.refresh_failed",
        )
        return token_set(data, issued_at=issued_at, previous=tokens)

    # ---- publish ---------------------------------------------------------------------------

    async def publish(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | PublishProgress:
        author = _author(tokens)
        media = _checked_media(request.media)
        video = _progress_video(request) if media.video is not None else None
        if media.video is not None:
            if video is None:
                video = await self._upload_video(tokens, author, media.video)
            if not await self._video_ready(tokens, video, request.deadline):
                return PublishProgress(state={"video": video}, check_after=VIDEO_CHECK_AFTER)
        images = [await self._upload_image(tokens, author, item) for item in media.images]
        content = _content(
            images=[(urn, item.alt_text) for urn, item in zip(images, media.images, strict=True)], video=video
        )
        body = _post_body(author, request.text, content)
        return await self._create(tokens, body, request, retry=request.progress is not None)

    async def _create(
        self, tokens: TokenSet, body: dict[str, Any], request: PublishRequest, *, retry: bool
    ) -> PublishResult:
        """``POST /rest/posts``: 201 with an empty body and the URN in ``x-restli-id``. With
        ``retry`` (an earlier attempt may have created it), a duplicate refusal naming a post
        made since this one was created is this post."""
        try:
            response = await self._api.rest("POST", "/rest/posts", tokens.access_token, creates=True, body=body)
        except ContentRejectedError as exc:
            existing = duplicate_of(exc.platform_response) if retry else None
            created = urn_time(existing) if existing else None
            if existing and (created is None or created >= request.created_at - _CLOCK_SKEW):
                return PublishResult(uri=existing, url=post_url(existing))
            raise
        urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id")
        if not urn:
            raise OutcomeUnknownError(
                "LinkedIn accepted the post without naming it.",
                platform=PLATFORM,
                rule="linkedin.outcome_unknown",
                platform_response={"status": response.status_code},
            )
        return PublishResult(uri=urn, url=post_url(urn))

    # ---- media -----------------------------------------------------------------------------

    async def _upload_image(self, tokens: TokenSet, author: str, item: MediaItem) -> str:
        assert item.data is not None  # _checked_media
        response = await self._api.rest(
            "POST",
            "/rest/images",
            tokens.access_token,
            params={"action": "initializeUpload"},
            body={"initializeUploadRequest": {"owner": author}},
        )
        value = _value(response)
        upload_url, urn = value.get("uploadUrl"), value.get("image")
        if not (isinstance(upload_url, str) and isinstance(urn, str)):
            raise _unreadable("image upload")
        await self._api.upload(upload_url, tokens.access_token, item.data)
        # Images are processed asynchronously, but a post may name one at once (member tokens
        # cannot even read an image's status: PLATFORMS.md §5.2).
        return urn

    async def _upload_video(self, tokens: TokenSet, author: str, item: MediaItem) -> str:
        data = item.data
        assert data is not None  # _checked_media
        response = await self._api.rest(
            "POST",
            "/rest/videos",
            tokens.access_token,
            params={"action": "initializeUpload"},
            body={
                "initializeUploadRequest": {
                    "owner": author,
                    "fileSizeBytes": len(data),
                    "uploadCaptions": False,
                    "uploadThumbnail": False,
                }
            },
        )
        value = _value(response)
        video, instructions = value.get("video"), value.get("uploadInstructions")
        if not isinstance(video, str) or not isinstance(instructions, list) or not instructions:
            raise _unreadable("video upload")
        etags = []
        for part in instructions:  # in order: finalizeUpload takes the ETags in part order
            first, last, url = (
                part.get(k) if isinstance(part, dict) else None for k in ("firstByte", "lastByte", "uploadUrl")
            )
            if not (isinstance(first, int) and isinstance(last, int) and isinstance(url, str) and 0 <= first <= last):
                raise _unreadable("video upload")
            uploaded = await self._api.upload(url, tokens.access_token, data[first : last + 1])
            etag = uploaded.headers.get("etag")
            if not etag:
                raise _unreadable("video part upload")
            etags.append(etag)
        await self._api.rest(
            "POST",
            "/rest/videos",
            tokens.access_token,
            params={"action": "finalizeUpload"},
            body={
                "finalizeUploadRequest": {
                    "video": video,
                    "uploadToken": value.get("uploadToken") or "",
                    "uploadedPartIds": etags,
                }
            },
        )
        return video

    async def _video_ready(self, tokens: TokenSet, video: str, deadline: float | None) -> bool:
        """Poll the video until ``AVAILABLE`` (True) or the deadline (False)."""
        while True:
            response = await self._api.rest("GET", f"/rest/videos/{quote(video, safe='')}", tokens.access_token)
            data = json_object(response)
            status = data.get("status")
            if status == "AVAILABLE":
                return True
            if status == "PROCESSING_FAILED":
                reason = data.get("processingFailureReason")
                raise ContentRejectedError(
                    f"LinkedIn could not process the video ({reason or 'no reason given'}).",
                    platform=PLATFORM,
                    rule="linkedin.video.processing_failed",
                    field="media[0]",
                    platform_response={"status": status, "processingFailureReason": reason},
                )
            left = (deadline - time.monotonic()) if deadline is not None else 0.0
            if left <= VIDEO_POLL_SECONDS / 2:
                return False
            await asyncio.sleep(min(VIDEO_POLL_SECONDS, left - VIDEO_POLL_SECONDS / 2))


def _author(tokens: TokenSet) -> str:
    author = tokens.extra.get("author")
    if not isinstance(author, str) or not author.startswith("urn:li:"):
        raise AuthExpiredError(
            "The stored LinkedIn connection does not name its member; reconnect the account.",
            platform=PLATFORM,
            rule="linkedin.auth.invalid",
        )
    return author


def _progress_video(request: PublishRequest) -> str | None:
    video = (request.progress or {}).get("video")
    return video if isinstance(video, str) and video.startswith("urn:li:video:") else None


def _content(*, images: list[tuple[str, str | None]], video: str | None) -> dict[str, Any] | None:
    if video is not None:
        return {"media": {"id": video}}
    if len(images) == 1:
        urn, alt = images[0]
        return {"media": {"id": urn, **({"altText": alt} if alt else {})}}
    if images:
        return {"multiImage": {"images": [{"id": urn, **({"altText": alt} if alt else {})} for urn, alt in images]}}
    return None


def _post_body(author: str, text: str, content: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "author": author,
        "commentary": escape_commentary(text),
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    if content is not None:
        body["content"] = content
    return body


def _value(response: httpx.Response) -> dict[str, Any]:
    value = json_object(response).get("value")
    if not isinstance(value, dict):
        raise _unreadable("upload")
    return value


def _unreadable(what: str) -> PlatformUnavailableError:
    return PlatformUnavailableError(
        f"LinkedIn answered the {what} in a shape crosspost cannot read.",
        platform=PLATFORM,
        rule="linkedin.unavailable",
    )

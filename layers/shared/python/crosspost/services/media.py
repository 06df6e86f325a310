"""Media: uploads (POST /v1/media), a post's media at create (checked, inline bytes stored), and the
media an adapter gets at publish (``MediaResolver``).

Three ways a post names a medium (API.md "Posts"), and when each is checked:
- ``mediaId``: an uploaded medium of the same workspace, ready (a pending upload is looked at in S3
  first); its stored type, size and dimensions go through stage B at create;
- ``bytesBase64``: sniffed and checked at create, then stored as a medium (S3 object + media row),
  so the post keeps only the id (a post row stays far below DynamoDB's 400 KB item limit);
- ``url``: must be public https at create (``media.url.forbidden``); fetched at publish through the
  SSRF-safe fetcher, sniffed, then stage B; a refused file ends the post ``rejected`` with the rule.

At publish every medium reaches the adapter as its ``media_transfer`` asks: ``"bytes"`` → the
object's bytes; ``"url"`` → a presigned GET (1 h) of our stored copy (a fetched URL is stored first,
so the platform fetches what was checked, from us).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from crosspost.aws.media import MediaBucket, MediaStorageError, MediaStore, fetched_key, upload_key
from crosspost.clock import now
from crosspost.errors import (
    ContentRejectedError,
    ErrorDetail,
    NotFoundError,
    PlatformUnavailableError,
    ValidationFailedError,
)
from crosspost.ids import new_media_id
from crosspost.media import SNIFF_BYTES, Sniffed, kind_of, normalize_content_type, sniff
from crosspost.models.domain import Media, MediaError, MediaStatus, Post, PostMedia
from crosspost.observability import logger
from crosspost.platforms.base import Capabilities, MediaItem
from crosspost.services.preflight import MEDIA_UNKNOWN, media_limits
from crosspost.services.url_guard import check_public_url
from crosspost.settings import Settings

if TYPE_CHECKING:
    import httpx

    # the publisher imports this module for MediaResolver: it never loads the API models
    from crosspost.models.api.media import CreateMediaRequest
    from crosspost.models.api.posts import MediaInput

P = ParamSpec("P")
T = TypeVar("T")

UPLOAD_URL_SECONDS = 15 * 60
PLATFORM_URL_SECONDS = 60 * 60
# A pending row nobody uploaded to is dropped by DynamoDB's TTL after this (its URL expired long ago).
PENDING_ROW_SECONDS = 7 * 24 * 3600
# The upload URL expires after 15 minutes, but S3 checks that when a PUT starts, and a large upload
# may take a while after: a pending medium still empty after this never fills.
_UPLOAD_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class CreatedMedia:
    media: Media
    upload_url: str | None = None
    upload_url_expires_at: datetime | None = None


@dataclass(frozen=True)
class PreparedMedia:
    """One media item of a post request after the checks: ``item`` is what the preflight sees;
    ``stored`` the post's entry (None for inline bytes until they are stored at create)."""

    item: MediaItem
    stored: PostMedia | None
    inline: bytes | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class MediaCheck:
    media: list[PreparedMedia]
    details: list[ErrorDetail]


def _refusal(rule: str, message: str, field: str) -> ValidationFailedError:
    return ValidationFailedError(message, rule=rule, field=field, details=[ErrorDetail(rule, message, field)])


def decode_base64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def content_problems(kind: str, sniffed: Sniffed, *, field: str, declared: str | None = None) -> list[ErrorDetail]:
    """What is wrong with bytes of ``kind`` that sniff as ``sniffed`` (and were declared as
    ``declared``, when a content type was given): not a supported type, another type than declared,
    another kind than declared."""
    if sniffed.kind is None:
        what = sniffed.content_type or "not a recognised image or video format"
        return [
            ErrorDetail(
                "media.type_unsupported",
                f"The file is {what}; crosspost accepts JPEG, PNG, GIF, WebP, MP4 and QuickTime.",
                field,
            )
        ]
    if declared is not None and normalize_content_type(declared) != sniffed.content_type:
        return [
            ErrorDetail(
                "media.content_type_mismatch",
                f"contentType says {normalize_content_type(declared)} but the bytes are {sniffed.content_type}.",
                field,
            )
        ]
    if sniffed.kind != kind:
        return [
            ErrorDetail(
                "media.kind_mismatch",
                f"kind is {kind} but the file is {sniffed.kind} ({sniffed.content_type}).",
                field,
            )
        ]
    return []


class MediaService:
    """Uploads and the media of a post at create. Blocking (the API's request thread)."""

    def __init__(self, settings: Settings, store: MediaStore, bucket: MediaBucket) -> None:
        self.settings = settings
        self.store = store
        self.bucket = bucket

    # ---- POST /v1/media ------------------------------------------------------------------------

    def create(self, workspace_id: str, request: CreateMediaRequest) -> CreatedMedia:
        content_type = normalize_content_type(request.content_type)
        declared_kind = kind_of(content_type)
        if declared_kind is None:
            raise _refusal(
                "media.type_unsupported",
                f"contentType {content_type} is not accepted; crosspost accepts JPEG, PNG, GIF, WebP, MP4 "
                "and QuickTime.",
                "contentType",
            )
        if declared_kind != request.kind:
            raise _refusal(
                "media.kind_mismatch", f"kind is {request.kind} but {content_type} is {declared_kind}.", "kind"
            )
        at = now()
        media_id = new_media_id()
        key = upload_key(workspace_id, media_id)
        if request.bytes_base64 is not None:
            data = decode_base64(request.bytes_base64)
            if data is None or not data:
                raise _refusal("bytesBase64", "bytesBase64 is not valid base64 (or is empty).", "bytesBase64")
            sniffed = sniff(data)
            problems = content_problems(request.kind, sniffed, field="bytesBase64", declared=content_type)
            if problems:
                raise ValidationFailedError.from_details(problems)
            media = self._store_bytes(workspace_id, media_id, request.kind, data, sniffed, at)
            return CreatedMedia(media)
        assert request.size is not None  # the request model wants bytesBase64 or size
        if request.size > self.settings.media_max_upload_bytes:
            raise _refusal(
                "size",
                f"size is over the upload limit of {self.settings.media_max_upload_bytes:,} bytes.",
                "size",
            )
        media = Media(
            id=media_id,
            workspace_id=workspace_id,
            kind=request.kind,
            content_type=content_type,
            size=request.size,
            status=MediaStatus.PENDING,
            object_key=key,
            created_at=at,
            updated_at=at,
            ttl=int(at.timestamp()) + PENDING_ROW_SECONDS,
        )
        url = self.bucket.presign_put(
            key, content_type=content_type, size=request.size, expires_seconds=UPLOAD_URL_SECONDS
        )
        self.store.create(media)
        return CreatedMedia(media, url, at + timedelta(seconds=UPLOAD_URL_SECONDS))

    def _store_bytes(
        self, workspace_id: str, media_id: str, kind: str, data: bytes, sniffed: Sniffed, at: datetime
    ) -> Media:
        assert sniffed.content_type is not None
        media = Media(
            id=media_id,
            workspace_id=workspace_id,
            kind=kind,
            content_type=sniffed.content_type,
            size=len(data),
            status=MediaStatus.READY,
            object_key=upload_key(workspace_id, media_id),
            created_at=at,
            updated_at=at,
            width=sniffed.width,
            height=sniffed.height,
        )
        # the object first: a row always points at bytes that exist
        self.bucket.put(media.object_key, data, media.content_type)
        self.store.create(media)
        return media

    # ---- GET /v1/media/{id} --------------------------------------------------------------------

    def get(self, workspace_id: str, media_id: str) -> Media:
        media = self.store.get(media_id)
        if media is None or media.workspace_id != workspace_id:
            raise NotFoundError("No such media.", rule=MEDIA_UNKNOWN, field="id")
        return self._settle(media) if media.status is MediaStatus.PENDING else media

    def _settle(self, media: Media) -> Media:
        """A pending upload: has the object arrived, and is it what was declared?"""
        at = now()
        head = self.bucket.head(media.object_key)
        if head is None:
            if at - media.created_at <= _UPLOAD_GRACE:
                return media
            return self._fail(media, "media.upload_expired", "Nothing was uploaded before the upload URL expired.")
        if head.size != media.size:
            return self._fail(
                media, "media.size_mismatch", f"The upload has {head.size:,} bytes; {media.size:,} were declared."
            )
        start = self.bucket.get_start(media.object_key, SNIFF_BYTES) or b""
        sniffed = sniff(start)
        problems = content_problems(media.kind, sniffed, field="contentType", declared=media.content_type)
        if problems:
            return self._fail(media, problems[0].rule, problems[0].message)
        ready = replace(
            media,
            status=MediaStatus.READY,
            width=sniffed.width,
            height=sniffed.height,
            ttl=None,
            updated_at=at,
        )
        return ready if self.store.settle(ready) else (self.store.get(media.id) or ready)

    def _fail(self, media: Media, rule: str, message: str) -> Media:
        failed = replace(
            media, status=MediaStatus.FAILED, error=MediaError(rule=rule, message=message), updated_at=now()
        )
        if not self.store.settle(failed):
            return self.store.get(media.id) or failed
        logger.info("media upload refused", extra={"media_id": media.id, "rule": rule})
        # the object (if any) can never be used: do not keep paying for it
        self.bucket.delete(media.object_key)
        return failed

    # ---- a post's media at create --------------------------------------------------------------

    def check(self, workspace_id: str, inputs: list[MediaInput]) -> MediaCheck:
        """Every media item of a post request, checked without storing anything: unknown or
        unusable media ids, URLs that are not public https, inline bytes of the wrong type."""
        prepared: list[PreparedMedia] = []
        details: list[ErrorDetail] = []
        for index, given in enumerate(inputs):
            field = f"media[{index}]"
            if given.media_id is not None:
                found, problems = self._check_media_id(workspace_id, given, field)
                details += problems
                if found is not None:
                    prepared.append(found)
                    continue
            elif given.url is not None:
                try:
                    url = check_public_url(
                        given.url,
                        rule="media.url.forbidden",
                        field=f"{field}.url",
                        allowed_origins=self.settings.local_allowed_origins,
                    )
                except ValidationFailedError as exc:
                    details.append(ErrorDetail(exc.rule or "media.url.forbidden", exc.message, exc.field))
                    url = given.url
                stored = PostMedia(kind=given.kind, url=url, alt_text=given.alt_text)
                prepared.append(
                    PreparedMedia(item=MediaItem(kind=given.kind, url=url, alt_text=given.alt_text), stored=stored)
                )
                continue
            elif given.bytes_base64 is not None:
                data = decode_base64(given.bytes_base64)
                if not data:
                    rule = f"{field}.bytesBase64"
                    details.append(ErrorDetail(rule, "bytesBase64 is not valid base64 (or is empty).", rule))
                else:
                    sniffed = sniff(data)
                    problems = content_problems(given.kind, sniffed, field=f"{field}.bytesBase64")
                    details += problems
                    if not problems:
                        item = MediaItem(
                            kind=given.kind,
                            content_type=sniffed.content_type,
                            data=data,
                            alt_text=given.alt_text,
                            width=sniffed.width,
                            height=sniffed.height,
                            size=len(data),
                        )
                        prepared.append(PreparedMedia(item, None, inline=data, content_type=sniffed.content_type))
                        continue
            # Unusable: still counted by the preflight (counts, alt text), with its declared kind.
            prepared.append(PreparedMedia(MediaItem(kind=given.kind, alt_text=given.alt_text), None))
        return MediaCheck(prepared, details)

    def _check_media_id(
        self, workspace_id: str, given: MediaInput, field: str
    ) -> tuple[PreparedMedia | None, list[ErrorDetail]]:
        assert given.media_id is not None
        try:
            media = self.get(workspace_id, given.media_id)
        except NotFoundError:
            return None, [
                ErrorDetail(MEDIA_UNKNOWN, f"No media {given.media_id} in this workspace.", f"{field}.mediaId")
            ]
        if media.status is MediaStatus.PENDING:
            message = "The media's upload has not arrived yet: PUT the bytes to its uploadUrl first."
            return None, [ErrorDetail("media.not_ready", message, f"{field}.mediaId")]
        if media.status is MediaStatus.FAILED:
            reason = media.error.message if media.error else "its upload failed the checks"
            return None, [ErrorDetail("media.failed", f"The media cannot be used: {reason}", f"{field}.mediaId")]
        if media.kind != given.kind:
            message = f"kind is {given.kind} but media {media.id} is {media.kind}."
            return None, [ErrorDetail("media.kind_mismatch", message, f"{field}.kind")]
        stored = PostMedia(
            kind=media.kind,
            media_id=media.id,
            alt_text=given.alt_text,
            object_key=media.object_key,
            content_type=media.content_type,
            size=media.size,
            width=media.width,
            height=media.height,
        )
        return PreparedMedia(item=described(stored), stored=stored), []

    def store_post_media(self, workspace_id: str, prepared: list[PreparedMedia]) -> list[PostMedia]:
        """At create, after the preflight passed: store inline bytes as media; the post's entries."""
        entries = []
        at = now()
        for medium in prepared:
            if medium.stored is not None:
                entries.append(medium.stored)
                continue
            assert medium.inline is not None and medium.content_type is not None, "checked before storing"
            item = medium.item
            sniffed = Sniffed(medium.content_type, item.width, item.height)
            media = self._store_bytes(workspace_id, new_media_id(), item.kind, medium.inline, sniffed, at)
            entries.append(
                PostMedia(
                    kind=media.kind,
                    media_id=media.id,
                    alt_text=item.alt_text,
                    object_key=media.object_key,
                    content_type=media.content_type,
                    size=media.size,
                    width=media.width,
                    height=media.height,
                )
            )
        return entries


def described(medium: PostMedia) -> MediaItem:
    """A post's medium as far as it is known without its bytes (preflight, look-ups)."""
    return MediaItem(
        kind=medium.kind,
        content_type=medium.content_type,
        url=medium.url if medium.object_key is None else None,
        alt_text=medium.alt_text,
        width=medium.width,
        height=medium.height,
        size=medium.size,
    )


# ---- at publish --------------------------------------------------------------------------------

RunBlocking = Callable[..., Awaitable[Any]]


class MediaResolver:
    """Turns a post's media into what the adapter's ``media_transfer`` needs, raising the
    ``PlatformError`` the publishing service already knows how to record: ``ContentRejectedError``
    for a medium that can never go out (the post ends ``rejected`` with the rule),
    ``PlatformUnavailableError`` for "not now" (a URL that times out, S3 unavailable: retried)."""

    def __init__(
        self,
        settings: Settings,
        bucket: MediaBucket,
        http: httpx.AsyncClient,
        run_blocking: RunBlocking,
    ) -> None:
        self.settings = settings
        self.bucket = bucket
        self.http = http
        self.run_blocking = run_blocking

    async def resolve(self, post: Post, caps: Capabilities) -> tuple[MediaItem, ...]:
        items = []
        for index, medium in enumerate(post.media):
            item = await self._resolve_one(post, index, medium, caps)
            problems = media_limits(caps, index, item)
            if problems:
                first = problems[0]
                raise ContentRejectedError(
                    first.message, platform=caps.platform, rule=first.rule, field=first.field, details=problems
                )
            items.append(item)
        return tuple(items)

    async def _resolve_one(self, post: Post, index: int, medium: PostMedia, caps: Capabilities) -> MediaItem:
        base = described(medium)
        transfer = caps.transfer_for(medium.kind)
        if medium.object_key is not None:
            if transfer == "url":
                url = await self._blocking(
                    caps, self.bucket.presign_get, medium.object_key, expires_seconds=PLATFORM_URL_SECONDS
                )
                return replace(base, url=url)
            data = await self._blocking(caps, self.bucket.get, medium.object_key)
            if data is None:
                raise ContentRejectedError(
                    "The stored media file is gone.",
                    platform=caps.platform,
                    rule=MEDIA_UNKNOWN,
                    field=f"media[{index}]",
                )
            return replace(base, data=data, size=len(data))
        if medium.bytes_base64 is not None:  # a row from before media were stored separately
            data = base64.b64decode(medium.bytes_base64)
        elif medium.url is not None:
            data = await self._fetch(medium, index, caps)
        else:
            raise ContentRejectedError(
                "The post's media item has no source.",
                platform=caps.platform,
                rule=MEDIA_UNKNOWN,
                field=f"media[{index}]",
            )
        sniffed = sniff(data)
        problems = content_problems(medium.kind, sniffed, field=f"media[{index}]")
        if problems:
            raise ContentRejectedError(
                problems[0].message, platform=caps.platform, rule=problems[0].rule, field=problems[0].field
            )
        assert sniffed.content_type is not None
        item = MediaItem(
            kind=medium.kind,
            content_type=sniffed.content_type,
            alt_text=medium.alt_text,
            width=sniffed.width,
            height=sniffed.height,
            size=len(data),
        )
        if transfer == "url":
            # the platform fetches our checked copy, not the URL it came from
            key = fetched_key(post.workspace_id, post.id, index)
            await self._blocking(caps, self.bucket.put, key, data, sniffed.content_type)
            url = await self._blocking(caps, self.bucket.presign_get, key, expires_seconds=PLATFORM_URL_SECONDS)
            return replace(item, url=url)
        return replace(item, data=data)

    async def _fetch(self, medium: PostMedia, index: int, caps: Capabilities) -> bytes:
        from crosspost.platforms.safe_http import FetchError, SafeFetcher

        assert medium.url is not None
        limit = caps.image_max_bytes if medium.kind == "image" else caps.video_max_bytes
        max_bytes = min(self.settings.media_fetch_max_bytes, limit or self.settings.media_fetch_max_bytes)
        fetcher = SafeFetcher(self.http, max_bytes=max_bytes, timeout_seconds=self.settings.media_fetch_timeout_seconds)
        field = f"media[{index}].url"
        p = caps.platform
        try:
            fetched = await fetcher.fetch(medium.url)
        except FetchError as exc:
            if exc.reason == "forbidden":
                raise ContentRejectedError(exc.message, platform=p, rule="media.url.forbidden", field=field) from None
            if exc.reason == "too_large":
                rule = f"{p}.media.too_large"
                raise ContentRejectedError(exc.message, platform=p, rule=rule, field=field) from None
            message = f"The media URL could not be fetched: {exc.message}"
            rule = f"{p}.media.unreachable"
            if _worth_retrying(exc.reason, exc.status):
                raise PlatformUnavailableError(message, platform=p, rule=rule, field=field) from None
            raise ContentRejectedError(message, platform=p, rule=rule, field=field) from None
        return fetched.content

    async def _blocking(self, caps: Capabilities, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """An S3 call off the event loop; S3 trouble is "not sent, try again"."""
        try:
            result: T = await self.run_blocking(fn, *args, **kwargs)
        except MediaStorageError as exc:
            raise PlatformUnavailableError(
                "The media storage is unavailable right now.", platform=caps.platform, rule="media.storage_unavailable"
            ) from exc
        return result


def _worth_retrying(reason: str, status: int | None) -> bool:
    """A timeout, a connection failure or a server error may pass later; a 404 or a redirect loop
    will not."""
    if reason in ("timeout", "unreachable"):
        return True
    return reason == "status" and status is not None and (status >= 500 or status in (408, 429))

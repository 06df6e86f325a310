"""Posts (API.md "Posts")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from crosspost.models.api.common import Platform, Response, Wire
from crosspost.models.domain import Post


class AccountRef(Wire):
    platform: Platform
    id: str = Field(min_length=1, max_length=64)


class MediaInput(Wire):
    kind: Literal["image", "video"]
    media_id: str | None = Field(default=None, max_length=64)
    url: str | None = Field(default=None, max_length=2048)
    bytes_base64: str | None = None
    alt_text: str | None = Field(default=None, max_length=20_000)

    @model_validator(mode="after")
    def _exactly_one_source(self) -> MediaInput:
        if sum(v is not None for v in (self.media_id, self.url, self.bytes_base64)) != 1:
            raise ValueError("each media item needs exactly one of mediaId, url, bytesBase64")
        return self


class FirstComment(Wire):
    text: str = Field(min_length=1, max_length=100_000)


class PinterestOptions(Wire):
    board_id: str | None = Field(default=None, max_length=64)
    destination_url: str | None = Field(default=None, max_length=2048)
    title: str | None = Field(default=None, max_length=1000)


class ThreadsOptions(Wire):
    reply_to_id: str | None = Field(default=None, max_length=64)


class CreatePostRequest(Wire):
    account: AccountRef
    # Generous schema cap; the platform limits (graphemes, bytes) are preflight rules.
    text: str = Field(min_length=1, max_length=100_000)
    media: list[MediaInput] = Field(default_factory=list, max_length=25)
    first_comment: FirstComment | None = None
    scheduled_at: AwareDatetime | None = None
    pinterest: PinterestOptions | None = None
    threads: ThreadsOptions | None = None


class ReschedulePostRequest(Wire):
    scheduled_at: AwareDatetime


class WarningResponse(Response):
    code: str
    message: str


class PostErrorResponse(Response):
    code: str
    rule: str | None
    message: str
    remediation: str | None = None


class PostResponse(Response):
    id: str
    platform: str
    account_id: str
    profile_id: str
    status: str
    text: str
    created_at: datetime
    updated_at: datetime
    scheduled_at: datetime | None
    published_at: datetime | None
    next_attempt_at: datetime | None
    uri: str | None
    cid: str | None
    url: str | None
    first_comment_uri: str | None
    first_comment_cid: str | None
    attempts: int
    warnings: list[WarningResponse]
    error: PostErrorResponse | None

    @classmethod
    def from_domain(cls, p: Post) -> dict[str, Any]:
        return cls(
            id=p.id,
            platform=p.platform,
            account_id=p.account_id,
            profile_id=p.profile_id,
            status=p.status.value,
            text=p.text,
            created_at=p.created_at,
            updated_at=p.updated_at,
            scheduled_at=p.scheduled_at,
            published_at=p.published_at,
            next_attempt_at=p.next_attempt_at,
            uri=p.uri,
            cid=p.cid,
            url=p.url,
            first_comment_uri=p.first_comment_uri,
            first_comment_cid=p.first_comment_cid,
            attempts=p.attempts,
            warnings=[WarningResponse(code=w.code, message=w.message) for w in p.warnings],
            error=PostErrorResponse(
                code=p.error.code, rule=p.error.rule, message=p.error.message, remediation=p.error.remediation
            )
            if p.error
            else None,
        ).body()


class ValidatedResponse(Response):
    status: Literal["validated"] = "validated"
    warnings: list[WarningResponse]


class PostListResponse(Response):
    posts: list[PostResponse]
    next_cursor: str | None

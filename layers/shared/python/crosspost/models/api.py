"""The HTTP contract's bodies (API.md), camelCase on the wire. Requests are validated here, at
the edge; responses are built from domain entities by the ``from_domain`` constructors."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from crosspost.clock import iso, now
from crosspost.models.domain import Account, ApiKey, Media, Post, Profile, token_health

Platform = Literal["bluesky", "facebook", "instagram", "linkedin", "pinterest", "threads", "twitter"]


class Wire(BaseModel):
    # defer_build: schemas are built on first use, so a cold start builds only what it touches
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", defer_build=True)


class Response(BaseModel):
    """Responses serialise datetimes as ISO-8601 with Z and keep nulls (API.md shapes)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = _isoize(self.model_dump(by_alias=True))
        return body


def _isoize(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _isoize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_isoize(v) for v in value]
    return value


# ---- requests --------------------------------------------------------------------------------


class NameRequest(Wire):
    name: str = Field(min_length=1, max_length=100)


class BlueskyCredentials(Wire):
    handle: str = Field(min_length=1, max_length=253)
    app_password: str = Field(min_length=1, max_length=128, repr=False)  # never in a log or traceback


class ConnectCredentialsRequest(Wire):
    profile_id: str | None = Field(default=None, max_length=64)
    platform: str = Field(min_length=1, max_length=32)
    credentials: BlueskyCredentials
    service: str | None = Field(default=None, max_length=2048)


class ConnectStartRequest(Wire):
    profile_id: str | None = Field(default=None, max_length=64)
    redirect_uri: str | None = Field(default=None, max_length=2048)
    extended_scopes: bool = False


class CompleteConnectRequest(Wire):
    """Finish a connect flow. OAuth platforms: ``{profileId?, code, state}``; Bluesky:
    ``{profileId?, handle, appPassword, service?}`` (the route checks which shape its platform takes)."""

    profile_id: str | None = Field(default=None, max_length=64)
    code: str | None = Field(default=None, min_length=1, max_length=4096, repr=False)
    state: str | None = Field(default=None, min_length=1, max_length=256)
    handle: str | None = Field(default=None, min_length=1, max_length=253)
    app_password: str | None = Field(default=None, min_length=1, max_length=128, repr=False)  # never logged
    service: str | None = Field(default=None, max_length=2048)


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


# ---- responses -------------------------------------------------------------------------------


class ProfileResponse(Response):
    id: str
    name: str
    created_at: datetime

    @classmethod
    def from_domain(cls, p: Profile) -> ProfileResponse:
        return cls(id=p.id, name=p.name, created_at=p.created_at)


class ApiKeyResponse(Response):
    id: str
    name: str
    prefix: str
    created_at: datetime

    @classmethod
    def from_domain(cls, k: ApiKey) -> ApiKeyResponse:
        return cls(id=k.id, name=k.name, prefix=k.prefix, created_at=k.created_at)


class CreatedApiKeyResponse(ApiKeyResponse):
    key: str


class LastErrorResponse(Response):
    message: str
    occurred_at: datetime


class AccountResponse(Response):
    id: str
    profile_id: str
    platform: str
    platform_account_id: str
    username: str
    display_name: str | None
    profile_image_url: str | None
    profile_url: str | None
    created_at: datetime
    updated_at: datetime
    token_expires_at: datetime | None
    token_status: str
    token_expires_in: str | None
    last_successful_post: datetime | None
    last_error: LastErrorResponse | None

    @classmethod
    def from_domain(cls, a: Account) -> dict[str, Any]:
        health = token_health(a.token_expires_at, now())
        body = cls(
            id=a.id,
            profile_id=a.profile_id,
            platform=a.platform,
            platform_account_id=a.platform_account_id,
            username=a.username,
            display_name=a.display_name,
            profile_image_url=a.profile_image_url,
            profile_url=a.profile_url,
            created_at=a.created_at,
            updated_at=a.updated_at,
            token_expires_at=a.token_expires_at,
            token_status=health.status,
            token_expires_in=health.expires_in,
            last_successful_post=a.last_successful_post,
            last_error=LastErrorResponse(message=a.last_error.message, occurred_at=a.last_error.occurred_at)
            if a.last_error
            else None,
        ).body()
        if a.platform_block is not None:  # platform blocks appear only on their platform's rows
            body[a.platform] = a.platform_block
        return body


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


# ---- response documents for the OpenAPI spec (api/routes/docs.py) ---------------------------------
# The routes build these bodies as dicts (``from_domain``); these models only describe them.


class SkippedAccountResponse(Response):
    platform_account_id: str
    rule: str


class ConnectedAccountResponse(AccountResponse):
    """A connected account; ``accounts`` and ``skipped`` when one flow yields several rows."""

    accounts: list[AccountResponse] | None = None
    skipped: list[SkippedAccountResponse] | None = None


class ConnectMethodResponse(Response):
    """How a platform connects when it is not OAuth (Bluesky: credentials)."""

    method: Literal["credentials"]
    fields: list[str]


class ConnectStartResponse(Response):
    """An OAuth connect flow started: send the user's browser to ``authorizationUrl``."""

    authorization_url: str
    state: str
    expires_at: datetime


class AccountListResponse(Response):
    accounts: list[AccountResponse]
    next_cursor: str | None


class PostListResponse(Response):
    posts: list[PostResponse]
    next_cursor: str | None


class ProfileListResponse(Response):
    profiles: list[ProfileResponse]
    next_cursor: str | None


class ApiKeyListResponse(Response):
    api_keys: list[ApiKeyResponse]
    next_cursor: str | None


# ---- media (API.md "Media") -----------------------------------------------------------------------


class CreateMediaRequest(Wire):
    """``bytesBase64`` (inline, within the 5 MB body limit) or ``size`` (a presigned upload follows)."""

    kind: Literal["image", "video"]
    content_type: str = Field(min_length=1, max_length=100)
    bytes_base64: str | None = Field(default=None, repr=False)
    size: int | None = Field(default=None, ge=1, description="Bytes the presigned upload will carry.")

    @model_validator(mode="after")
    def _bytes_or_size(self) -> CreateMediaRequest:
        if (self.bytes_base64 is None) == (self.size is None):
            raise ValueError("give either bytesBase64 (inline) or size (presigned upload), not both")
        return self


class MediaErrorResponse(Response):
    rule: str
    message: str


class MediaResponse(Response):
    id: str
    kind: str
    content_type: str
    size: int
    status: Literal["pending", "ready", "failed"]
    width: int | None
    height: int | None
    created_at: datetime
    error: MediaErrorResponse | None = None
    # Only in the answer that created a pending medium: PUT the bytes there within 15 minutes, with
    # exactly ``uploadHeaders`` (Content-Type and the declared Content-Length are signed).
    upload_url: str | None = None
    upload_url_expires_at: datetime | None = None
    upload_headers: dict[str, str] | None = None

    @classmethod
    def from_domain(
        cls, m: Media, *, upload_url: str | None = None, upload_url_expires_at: datetime | None = None
    ) -> dict[str, Any]:
        body = cls(
            id=m.id,
            kind=m.kind,
            content_type=m.content_type,
            size=m.size,
            status=m.status.value,
            width=m.width,
            height=m.height,
            created_at=m.created_at,
            error=MediaErrorResponse(rule=m.error.rule, message=m.error.message) if m.error else None,
            upload_url=upload_url,
            upload_url_expires_at=upload_url_expires_at,
            upload_headers={"Content-Type": m.content_type, "Content-Length": str(m.size)} if upload_url else None,
        ).body()
        if upload_url is None:  # the upload fields belong to the creating answer only
            for name in ("uploadUrl", "uploadUrlExpiresAt", "uploadHeaders"):
                body.pop(name)
        return body

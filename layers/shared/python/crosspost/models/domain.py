"""Domain entities: what the services work with. No HTTP or DynamoDB shapes here
(``models.api`` is the wire contract, ``aws.items`` the table rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Entity(BaseModel):
    # camelCase attribute names in storage, matching the key names of crosspost.resources
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True, defer_build=True)

    def to_record(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class Profile(Entity):
    id: str
    workspace_id: str
    name: str
    created_at: datetime


class ApiKey(Entity):
    id: str
    workspace_id: str
    name: str
    prefix: str
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None


class LastError(Entity):
    message: str
    occurred_at: datetime
    code: str | None = None
    rule: str | None = None
    # What failed: "publish" or "refresh" (a refresh success clears only a refresh failure).
    source: str | None = None


class Account(Entity):
    id: str
    workspace_id: str
    profile_id: str
    platform: str
    platform_account_id: str
    username: str
    display_name: str | None = None
    profile_image_url: str | None = None
    profile_url: str | None = None
    created_at: datetime
    updated_at: datetime
    token_expires_at: datetime | None = None
    last_successful_post: datetime | None = None
    last_error: LastError | None = None
    platform_block: dict[str, Any] | None = None
    secret_name: str
    # When the token refresher should renew the tokens ahead of time (TokenSet.refresh_after);
    # None = never ahead of time. Only rows with a value are in the refresher's index.
    refresh_due_at: datetime | None = None
    # The short per-account refresh lease (DESIGN.md "Token refresh"): whoever holds an unexpired
    # one is refreshing the tokens, and nobody else may.
    refresh_lease_until: datetime | None = None
    refresh_lease_token: str | None = None


class PostStatus(StrEnum):
    QUEUED = "queued"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self in (PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.REJECTED, PostStatus.CANCELED)


class Warning_(Entity):
    code: str
    message: str


class PostError(Entity):
    code: str
    message: str
    rule: str | None = None
    platform_response: Any = None
    # What the user should do about it (publish.outcome_unknown: check the platform first).
    remediation: str | None = None


class MediaStatus(StrEnum):
    PENDING = "pending"  # a presigned upload not seen in S3 yet
    READY = "ready"
    FAILED = "failed"  # the uploaded object disagreed with what was declared (``error`` says how)


class MediaError(Entity):
    rule: str
    message: str


class Media(Entity):
    """An uploaded file (POST /v1/media, or a post's inline bytes), stored in the media bucket at
    ``object_key``. ``width``/``height`` where the header carries them."""

    id: str
    workspace_id: str
    kind: str  # "image" | "video"
    content_type: str
    size: int
    status: MediaStatus
    object_key: str
    created_at: datetime
    updated_at: datetime
    width: int | None = None
    height: int | None = None
    error: MediaError | None = None
    # While pending: when the row may be dropped (DynamoDB TTL, epoch seconds); None once settled.
    ttl: int | None = None


class PostMedia(Entity):
    """One attachment of a post. A post never holds bytes (a DynamoDB item is at most 400 KB):
    inline bytes are stored as media at create and only their ``media_id`` stays here. Stored
    media carry what the publisher needs without reading the media table: ``object_key`` and the
    type, size and dimensions checked at create. ``url`` media are fetched at publish."""

    kind: str
    media_id: str | None = None
    url: str | None = None
    # Only in rows written before media were stored separately; never written now.
    bytes_base64: str | None = None
    alt_text: str | None = None
    object_key: str | None = None
    content_type: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None


class Post(Entity):
    id: str
    workspace_id: str
    profile_id: str
    account_id: str
    platform: str
    status: PostStatus
    text: str
    media: list[PostMedia] = Field(default_factory=list)
    first_comment: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    scheduled_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    uri: str | None = None
    cid: str | None = None
    url: str | None = None
    first_comment_uri: str | None = None
    first_comment_cid: str | None = None
    attempts: int = 0
    warnings: list[Warning_] = Field(default_factory=list)
    error: PostError | None = None
    next_attempt_at: datetime | None = None
    # The claim of the publisher (or publish-now) that holds the post while `publishing`.
    claim_token: str | None = None
    lease_until: datetime | None = None
    # What the adapter left in PublishProgress.state while the platform is still processing (an
    # Instagram container, an X video upload); handed back as PublishRequest.progress so the next
    # attempt resumes instead of starting over. Kept across retries, cleared when the post ends.
    progress: dict[str, Any] | None = None

    @property
    def due_at(self) -> datetime:
        """When the post should next be attempted."""
        return self.next_attempt_at or self.scheduled_at or self.created_at


class OAuthState(Entity):
    """One started OAuth connect flow (DESIGN.md "Data": single-use, TTL 15 min)."""

    state: str
    workspace_id: str
    profile_id: str
    platform: str
    # The redirect_uri sent to the platform: the code is exchanged with the same value.
    redirect_uri: str
    # The app's redirectUri given at start: the browser callback redirects there when done.
    return_uri: str | None = None
    # PKCE (X): the verifier never leaves the server.
    code_verifier: str | None = Field(default=None, repr=False)
    created_at: datetime
    expires_at: datetime


EXPIRING_SOON = timedelta(days=7)


@dataclass(frozen=True)
class TokenHealth:
    status: str
    expires_in: str | None


def token_health(expires_at: datetime | None, at: datetime) -> TokenHealth:
    """API.md tokenStatus / tokenExpiresIn."""
    if expires_at is None:
        return TokenHealth("unknown", None)
    remaining = expires_at - at
    if remaining <= timedelta(0):
        return TokenHealth("expired", "expired")
    status = "expiring_soon" if remaining < EXPIRING_SOON else "valid"
    hours = int(remaining.total_seconds() // 3600)
    if hours < 1:
        return TokenHealth(status, "< 1h")
    days, hours = divmod(hours, 24)
    return TokenHealth(status, f"{days}d {hours}h" if days else f"{hours}h")

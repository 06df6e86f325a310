"""The platform interface: what every adapter implements, and what the rest of crosspost sees.

An adapter is one module under ``crosspost.platforms`` with one class that:
- declares its limits as data (``capabilities``): the shared preflight reads them;
- publishes (``publish``) and, where the platform allows, finds a post it may already have
  published (``find_published``) so an outcome-unknown failure can be reconciled;
- refreshes its tokens (``refresh``);
- sorts platform failures into the small taxonomy of ``crosspost.errors`` in one method
  (``classify``), from status codes and parsed error fields, never by searching text.

How an account gets connected is a separate *auth strategy* (``CredentialsAuth`` for Bluesky's
app passwords, ``OAuth2Auth`` for the others), so an adapter never has stub methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from crosspost.errors import ErrorDetail, PlatformError

if TYPE_CHECKING:  # adapters use it; the API paths that only read data never import it
    import httpx


@dataclass(frozen=True)
class Capabilities:
    """A platform's limits (API.md "Preflight rules"), read by the shared preflight."""

    platform: str
    text_max_graphemes: int
    text_max_bytes: int | None = None
    max_images: int = 0
    max_videos: int = 0
    image_video_exclusive: bool = True
    alt_text_max_graphemes: int | None = None
    media_required: bool = False
    first_comment: bool = False
    first_comment_max_graphemes: int | None = None
    # True when a create can be retried safely (the caller chooses the record key).
    idempotent_create: bool = False
    # True when ``find_published`` can tell whether a post went out, so its None means "not
    # there" (a give-up then fails the post plainly instead of as outcome unknown).
    lookup: bool = False
    # True when the connection can be renewed by the server without the user (API.md tokenExpiresAt).
    renews_indefinitely: bool = True


@dataclass
class TokenSet:
    """What the token vault stores for one account. ``extra`` holds platform specifics
    (Bluesky: service URL, did, handle, app password for a fresh login)."""

    access_token: str
    refresh_token: str | None = None
    access_expires_at: datetime | None = None
    # When the connection stops working unless someone acts (API.md tokenExpiresAt).
    connection_expires_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print a token, even in a traceback
        return f"TokenSet(access_expires_at={self.access_expires_at!r}, extra_keys={sorted(self.extra)})"


@dataclass(frozen=True)
class ConnectedAccount:
    """An account a connect flow discovered, with its tokens."""

    platform: str
    platform_account_id: str
    username: str
    tokens: TokenSet
    display_name: str | None = None
    profile_image_url: str | None = None
    profile_url: str | None = None
    platform_block: dict[str, Any] | None = None


@dataclass(frozen=True)
class MediaItem:
    kind: str  # "image" | "video"
    content_type: str | None = None
    data: bytes | None = None
    url: str | None = None
    alt_text: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class PublishRequest:
    """One post as an adapter sees it. ``created_at`` is stored with the post so a retried
    idempotent create sends a byte-identical record."""

    post_id: str
    text: str
    created_at: datetime
    media: tuple[MediaItem, ...] = ()
    first_comment: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishWarning:
    code: str
    message: str


@dataclass(frozen=True)
class PublishResult:
    uri: str
    url: str | None = None
    cid: str | None = None
    first_comment_uri: str | None = None
    first_comment_cid: str | None = None
    # Something the caller should know although the post is live (e.g. a refused first comment).
    warnings: tuple[PublishWarning, ...] = ()


class PlatformAdapter(ABC):
    """Publishing side of a platform. Instances are cheap: one per use, sharing an httpx client."""

    capabilities: ClassVar[Capabilities]

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    @property
    def platform(self) -> str:
        return self.capabilities.platform

    @classmethod
    def preflight(cls, request: PublishRequest) -> list[ErrorDetail]:
        """Platform-specific stage-A checks beyond the capability limits (default: none).
        A classmethod: preflight runs before any client exists and does no I/O."""
        return []

    @abstractmethod
    async def publish(self, tokens: TokenSet, request: PublishRequest) -> PublishResult:
        """Publish, raising a ``PlatformError`` subclass on failure."""

    @abstractmethod
    async def refresh(self, tokens: TokenSet) -> TokenSet:
        """Return fresh tokens, or raise ``AuthExpiredError`` when the user must reconnect."""

    async def find_published(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | None:
        """Reconcile after an outcome-unknown failure: the post if the platform shows it.
        Default: the platform offers no way to tell (the post then fails as outcome unknown)."""
        return None

    @abstractmethod
    def classify(self, response: httpx.Response, *, creates: bool) -> PlatformError:
        """Map a non-success response to the taxonomy. ``creates`` is True for calls that
        create something (a 5xx there means the outcome is unknown)."""


class CredentialsAuth(Protocol):
    """Connect by credentials the user types (Bluesky handle + app password)."""

    platform: str
    fields: tuple[str, ...]

    async def login(self, credentials: dict[str, str]) -> ConnectedAccount: ...


class OAuth2Auth(Protocol):
    """Connect through an OAuth 2 authorization-code flow (arrives with the connect issue)."""

    platform: str

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None, extended_scopes: bool
    ) -> str: ...

    async def complete(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> list[ConnectedAccount]: ...

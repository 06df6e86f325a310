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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

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
    # Images + videos together (Threads carousels mix them); None = only the per-kind limits.
    max_media: int | None = None
    # How media reaches the platform: "bytes" = the adapter uploads ``MediaItem.data``;
    # "url" = the platform fetches ``MediaItem.url`` itself (Meta, Pinterest), a presigned GET.
    media_transfer: Literal["bytes", "url"] = "bytes"
    # Videos when they travel differently (Pinterest fetches images by URL but takes video
    # bytes through its own upload); None = as ``media_transfer``.
    video_transfer: Literal["bytes", "url"] | None = None
    # Stage-B limits, checked wherever the bytes (or their stored type and size) are known.
    image_mime_types: frozenset[str] = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
    image_max_bytes: int | None = None
    video_mime_types: frozenset[str] = frozenset({"video/mp4", "video/quicktime"})
    video_max_bytes: int | None = None
    # (min, max) of width / height, e.g. Instagram 4:5 .. 1.91:1; None = any.
    image_aspect_ratio: tuple[float, float] | None = None

    def transfer_for(self, kind: str) -> Literal["bytes", "url"]:
        return self.video_transfer or self.media_transfer if kind == "video" else self.media_transfer


@dataclass
class TokenSet:
    """What the token vault stores for one account. ``extra`` holds platform specifics
    (Bluesky: service URL, did, handle, app password for a fresh login)."""

    access_token: str
    refresh_token: str | None = None
    access_expires_at: datetime | None = None
    # When the connection stops working unless someone acts (API.md tokenExpiresAt).
    connection_expires_at: datetime | None = None
    # When the token refresher should renew these tokens ahead of time (Threads, Pinterest);
    # None = renewed on demand only, when a publish finds them expired (X, Bluesky) or never.
    refresh_after: datetime | None = None
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
    """One attachment as an adapter sees it. At publish the publishing service fills in what
    the platform's ``media_transfer`` needs: ``data`` (the bytes) or ``url`` (a URL the
    platform can fetch: a presigned GET of the stored object). At preflight either may be
    missing; ``content_type``/``size``/``width``/``height`` are set wherever they are known."""

    kind: str  # "image" | "video"
    content_type: str | None = None
    data: bytes | None = None
    url: str | None = None
    alt_text: str | None = None
    width: int | None = None
    height: int | None = None
    size: int | None = None

    def __repr__(self) -> str:  # bytes and presigned URLs stay out of logs and tracebacks
        return f"MediaItem(kind={self.kind!r}, content_type={self.content_type!r}, size={self.size!r})"


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
    # What an earlier attempt left in ``PublishProgress.state`` (a container id, ...); None on
    # the first attempt. An adapter given progress resumes: it checks the platform's state
    # before any step that is not idempotent.
    progress: dict[str, Any] | None = None
    # time.monotonic() by which ``publish`` should return; waiting for platform-side
    # processing beyond it returns ``PublishProgress`` instead. None = no wait at all.
    deadline: float | None = None
    # The account's platform block (Pinterest: defaultBoardId/defaultBoardName; Instagram: kind...).
    account_block: dict[str, Any] = field(default_factory=dict)


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


@dataclass(frozen=True)
class PublishProgress:
    """The platform accepted work that finishes later (Instagram/Threads containers, video
    processing). ``state`` is stored on the post and handed back as ``PublishRequest.progress``;
    the publisher looks again after ``check_after`` seconds. The post stays ``publishing``."""

    state: dict[str, Any]
    check_after: float = 10.0


@dataclass(frozen=True)
class AppCredentials:
    """A platform app's OAuth client (one Secrets Manager secret holds every platform's)."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"AppCredentials(client_id={self.client_id!r})"


class PlatformNotConfiguredError(Exception):
    """The deployment has no app credentials for a platform (raised by ``PlatformConfig.app``)."""


def _no_app() -> AppCredentials:
    raise PlatformNotConfiguredError("no app credentials configured")


@dataclass(frozen=True)
class PlatformConfig:
    """Deployment facts an adapter needs, from settings.

    ``base_url`` replaces every host of the platform when set: the local stack points each
    platform at ``{sandbox}/{platform}`` (one prefix serves the platform's API, OAuth and upload
    paths). ``load_app`` reads the OAuth client on first use (a cached Secrets Manager read), so
    publishing with a valid token costs no extra AWS call."""

    base_url: str | None = None
    load_app: Callable[[], AppCredentials] = _no_app

    def host(self, real: str) -> str:
        """``real`` (e.g. "https://api.x.com"), or the override."""
        return self.base_url.rstrip("/") if self.base_url else real

    def app(self) -> AppCredentials:
        return self.load_app()


class PlatformAdapter(ABC):
    """Publishing side of a platform. Instances are cheap: one per use, sharing an httpx client."""

    capabilities: ClassVar[Capabilities]

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig | None = None) -> None:
        self.http = http
        self.config = config or PlatformConfig()

    @property
    def platform(self) -> str:
        return self.capabilities.platform

    @classmethod
    def text_length(cls, text: str) -> int:
        """How the platform counts ``text`` against ``text_max_graphemes`` (default: graphemes;
        X weighs URLs and CJK/emoji, Threads counts emoji as their UTF-8 bytes)."""
        from crosspost.platforms.text import grapheme_count

        return grapheme_count(text)

    @classmethod
    def preflight(cls, request: PublishRequest) -> list[ErrorDetail]:
        """Platform-specific stage-A checks beyond the capability limits (default: none).
        A classmethod: preflight runs before any client exists and does no I/O."""
        return []

    @abstractmethod
    async def publish(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | PublishProgress:
        """Publish, raising a ``PlatformError`` subclass on failure; ``PublishProgress`` when
        the platform is still processing at ``request.deadline``."""

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
    """Connect through an OAuth 2 authorization-code flow. Built as ``cls(http, config)``.

    ``complete`` exchanges the code (and, for Meta, the long-lived token), discovers the
    account(s) the login yields and returns them with their tokens; a refused or expired code is
    ``AuthExpiredError`` (401 ``platform_auth_failed`` at connect), a login that yields nothing
    to connect is ``ContentRejectedError`` (e.g. ``facebook.pages.none``)."""

    platform: str
    uses_pkce: bool  # X: S256 code challenge; the verifier stays on the server

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None, extended_scopes: bool
    ) -> str: ...

    async def complete(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> list[ConnectedAccount]: ...

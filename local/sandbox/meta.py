"""The state the simulated Facebook and Instagram share, as Meta's one Graph API does: the
Facebook app's OAuth provider (one login for both), the fixture users with their Pages and the
Instagram professional accounts linked to them, Page tokens, Instagram containers, and the media
fetcher (Meta downloads media from the URLs it is given).

Fixture users (``sandbox_user=<name>`` on the authorize URL; README "Facebook and Instagram"):

- ``default``: two Pages, "Sandbox Bakery" linked to the Instagram business account
  ``sandbox.bakery``, and "Sandbox Books" without Instagram;
- ``no_pages``: a user who manages no Page (connect → ``facebook.pages.none``);
- ``many_pages``: 60 Pages (``/me/accounts`` pages through ``paging.next``), the first linked to
  Instagram;
- ``no_publish``: like ``default`` (own ids) but declines ``pages_manage_posts`` and
  ``instagram_content_publish`` in the dialog, so publishing fails with Graph's permission errors.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
import urllib.error
import urllib.request
from abc import abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from crosspost.media import sniff as sniff_media
from local.sandbox.core import Fault, SandboxPlatform, SandboxRequest, SandboxResponse
from local.sandbox.graph import (
    graph_error,
    graph_fault_response,
    graph_params,
    invalid_token,
    strip_version,
    token_required,
)
from local.sandbox.oauth import OAuthError, OAuthProvider, Token

SHORT_TOKEN_TTL: Final = 2 * 3600.0  # the code exchange's short-lived user token
LONG_TOKEN_TTL: Final = 5_183_944.0  # about 60 days (PLATFORMS.md §2.1)
FETCH_TIMEOUT: Final = 5.0
FETCH_MAX_BYTES: Final = 64 * 1024 * 1024
CONTAINER_TTL: Final = 24 * 3600.0
DEFAULT_QUOTA: Final = 50  # content_publishing_limit quota_total (PLATFORMS.md §3.3)
# Instagram processing: a container is FINISHED after this many status reads OR this many
# seconds, whichever comes first (``POST /_sandbox/instagram/settings`` changes them).
DEFAULT_PROCESSING: Final = {"imagePolls": 0, "imageSeconds": 0.0, "videoPolls": 2, "videoSeconds": 2.0}

_SHORTCODE: Final = string.ascii_letters + string.digits + "_-"


def graph_time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass(frozen=True)
class InstagramAccount:
    id: str
    username: str
    name: str

    @property
    def profile_picture_url(self) -> str:
        return f"https://scontent.cdninstagram.com/sandbox/{self.id}.jpg"


@dataclass(frozen=True)
class Page:
    id: str
    name: str
    username: str | None = None
    category: str = "Local business"
    instagram: InstagramAccount | None = None

    @property
    def link(self) -> str:
        return f"https://www.facebook.com/{self.username or self.id}"

    @property
    def picture_url(self) -> str:
        return f"https://scontent.xx.fbcdn.net/sandbox/{self.id}.jpg"


@dataclass(frozen=True)
class MetaUser:
    key: str  # the fixture name
    id: str
    name: str
    pages: tuple[Page, ...] = ()
    declined: frozenset[str] = frozenset()


def _fixtures() -> dict[str, MetaUser]:
    bakery_ig = InstagramAccount("17841400000000001", "sandbox.bakery", "Sandbox Bakery")
    many = tuple(
        Page(
            f"1040000000001{n:02d}",
            f"Sandbox Page {n:02d}",
            instagram=InstagramAccount("17841400000000060", "sandbox.many", "Sandbox Many") if n == 1 else None,
        )
        for n in range(1, 61)
    )
    users = [
        MetaUser(
            "default",
            "10150000000000001",
            "Sam Sandbox",
            (
                Page("104000000000001", "Sandbox Bakery", "sandboxbakery", "Bakery", bakery_ig),
                Page("104000000000002", "Sandbox Books", None, "Book store"),
            ),
        ),
        MetaUser("no_pages", "10150000000000002", "Nora Nopages"),
        MetaUser("many_pages", "10150000000000003", "Manny Pages", many),
        MetaUser(
            "no_publish",
            "10150000000000004",
            "Dee Clined",
            (
                Page(
                    "104000000000201",
                    "Sandbox Declined",
                    "sandboxdeclined",
                    "Bakery",
                    InstagramAccount("17841400000000201", "sandbox.declined", "Sandbox Declined"),
                ),
            ),
            frozenset({"pages_manage_posts", "instagram_content_publish"}),
        ),
    ]
    return {u.key: u for u in users}


FIXTURES: Final = _fixtures()


@dataclass
class Caller:
    """Who a Graph call comes from: a user token, or a Page token (``page`` set)."""

    user: MetaUser
    token: Token
    page: Page | None = None

    def granted(self, permission: str) -> bool:
        return permission in self.token.scopes and permission not in self.user.declined

    def manages(self, page_id: str) -> Page | None:
        return next((p for p in self.user.pages if p.id == page_id), None)


class GraphFailure(Exception):
    """Raised inside a handler: answer with ``response``."""

    def __init__(self, response: SandboxResponse) -> None:
        super().__init__("graph failure")
        self.response = response


@dataclass
class Fetched:
    content_type: str
    data: bytes


@dataclass
class Container:
    id: str
    ig_user: str
    kind: str  # IMAGE | REELS | VIDEO (carousel item) | CAROUSEL
    caption: str | None
    media_url: str | None
    alt_text: str | None
    is_carousel_item: bool
    children: list[str]
    created_at: float
    error_subcode: int | None = None  # processing ends in ERROR with this subcode
    polls: int = 0
    published_media_id: str | None = None
    expired: bool = False
    media_meta: dict[str, Any] | None = None  # what the fetch found (type, size, dimensions)


@dataclass
class MetaState:
    """Everything Facebook and Instagram share. Hold ``lock`` while touching it."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    provider: OAuthProvider = field(
        default_factory=lambda: OAuthProvider(
            "facebook", users=tuple(FIXTURES), access_ttl=SHORT_TOKEN_TTL, refresh_ttl=None
        )
    )
    page_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (user key, page id)
    containers: dict[str, Container] = field(default_factory=dict)
    processing: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PROCESSING))
    quota_total: int = DEFAULT_QUOTA
    _next: int = 0

    def reset(self) -> None:
        with self.lock:
            self.provider.reset()
            self.page_tokens.clear()
            self.containers.clear()
            self.processing = dict(DEFAULT_PROCESSING)
            self.quota_total = DEFAULT_QUOTA
            # ids differ between resets, so a stale id from before a reset is unknown after it
            self._next = secrets.randbelow(10**9) * 1000

    def new_id(self, prefix: str) -> str:
        with self.lock:
            self._next += 1
            return f"{prefix}{self._next:012d}"

    @staticmethod
    def shortcode() -> str:
        return "".join(secrets.choice(_SHORTCODE) for _ in range(11))

    # ---- tokens ----------------------------------------------------------------------------

    def caller(self, value: str | None) -> Caller:
        """The caller behind a token, or ``GraphFailure`` with Meta's 190 bodies."""
        if not value:
            raise GraphFailure(token_required())
        try:
            token = self.provider.access(value)
        except OAuthError as exc:
            raise GraphFailure(invalid_token(exc.reason)) from None
        user = FIXTURES.get(token.user)
        if user is None:
            raise GraphFailure(invalid_token())
        bound = self.page_tokens.get(value)
        page = next((p for p in user.pages if bound and p.id == bound[1]), None)
        return Caller(user, token, page)

    def page_token(self, caller: Caller, page: Page) -> str:
        """The Page token a user token yields: long-lived (no expiry) when the user token is,
        reused while it works."""
        for value, (user_key, page_id) in self.page_tokens.items():
            token = self.provider.tokens.get(value)
            if user_key == caller.user.key and page_id == page.id and token and token.problem(time.time()) is None:
                return value
        long_lived = caller.token.expires_at is None or caller.token.expires_at - caller.token.issued_at > 86_400
        ttl = None if long_lived else SHORT_TOKEN_TTL
        issued = self.provider.issue(caller.user.key, caller.token.scopes, access_ttl=ttl, refresh=False, prefix="EAA")
        self.page_tokens[issued.access.value] = (caller.user.key, page.id)
        return issued.access.value

    # ---- lookups ---------------------------------------------------------------------------

    @staticmethod
    def page(page_id: str) -> Page | None:
        for user in FIXTURES.values():
            for page in user.pages:
                if page.id == page_id:
                    return page
        return None

    @staticmethod
    def instagram(ig_id: str) -> tuple[InstagramAccount, Page] | None:
        for user in FIXTURES.values():
            for page in user.pages:
                if page.instagram is not None and page.instagram.id == ig_id:
                    return page.instagram, page
        return None

    # ---- containers ------------------------------------------------------------------------

    def status_of(self, container: Container, *, poll: bool) -> str:
        if container.published_media_id is not None:
            return "PUBLISHED"
        if container.expired or time.time() - container.created_at >= CONTAINER_TTL:
            return "EXPIRED"
        if container.kind == "CAROUSEL":
            children = [self.containers[c] for c in container.children if c in self.containers]
            states = [self.status_of(c, poll=False) for c in children]
            if "ERROR" in states:
                return "ERROR"
            return "FINISHED" if all(s == "FINISHED" for s in states) else "IN_PROGRESS"
        if poll:
            container.polls += 1
        kind = "image" if container.kind == "IMAGE" else "video"
        polls, seconds = self.processing[f"{kind}Polls"], self.processing[f"{kind}Seconds"]
        if container.polls < polls and time.time() - container.created_at < seconds:
            return "IN_PROGRESS"
        return "ERROR" if container.error_subcode is not None else "FINISHED"


def fetch(url: str) -> Fetched | None:
    """GET a media URL as Meta would (plain HTTP, no SSRF guard: this is the sandbox); None when
    it cannot be fetched."""
    if not url.startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:  # noqa: S310 (http(s) only)
            data = response.read(FETCH_MAX_BYTES + 1)
            content_type = response.headers.get("Content-Type", "")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    if len(data) > FETCH_MAX_BYTES:
        return None
    return Fetched(content_type.split(";")[0].strip().lower(), data)


def sniff(data: bytes) -> tuple[str | None, int | None, int | None]:
    """(MIME type, width, height) of an image or an MP4/MOV."""
    found = sniff_media(data)
    return found.content_type, found.width, found.height


def meta_platforms() -> list[SandboxPlatform]:
    """The simulated Facebook and Instagram, sharing one ``MetaState``."""
    from local.sandbox.facebook import FacebookSandbox
    from local.sandbox.instagram import InstagramSandbox

    state = MetaState()
    state.reset()
    return [FacebookSandbox(state), InstagramSandbox(state)]


class MetaSandbox(SandboxPlatform):
    """Facebook or Instagram: the ``MetaState`` both share (one login, one lock), Graph's error
    bodies, a leading ``/v{N}.0`` accepted on every path, and a router whose ``GraphFailure``
    becomes the answer."""

    publishing_edges: ClassVar[frozenset[str]]  # ``POST /{id}/{edge}``: the calls faults apply to

    def __init__(self, state: MetaState | None = None) -> None:
        super().__init__()
        self.state = state or MetaState()
        self.lock = self.state.lock  # one lock for everything the Meta platforms share
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.state.reset()
            self.records.clear()

    def is_publishing_call(self, request: SandboxRequest) -> bool:
        parts = strip_version(request.path).strip("/").split("/")
        return request.method == "POST" and len(parts) == 2 and parts[1] in self.publishing_edges

    def fault_response(self, fault: Fault, request: SandboxRequest) -> SandboxResponse:
        return graph_fault_response(fault, request)

    def internal_error(self) -> SandboxResponse:
        return graph_error(500, 1, "An unknown error has occurred.", is_transient=False)

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        path = strip_version(request.path)
        try:
            return self.route(request, path, [p for p in path.split("/") if p], graph_params(request))
        except GraphFailure as failure:
            return failure.response

    @abstractmethod
    def route(self, request: SandboxRequest, path: str, parts: list[str], params: dict[str, str]) -> SandboxResponse:
        """Answer a Graph call: ``path`` without its version, ``parts`` its segments, ``params``
        the query overlaid by the body."""


def permission_error(message: str, *, code: int = 200, status: int = 403) -> GraphFailure:
    return GraphFailure(graph_error(status, code, message))

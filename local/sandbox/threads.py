"""Simulated Threads API at ``/threads/...`` (PLATFORMS.md §4 and §8): one prefix serves the
authorize page (threads.net), the token endpoints and the Graph API (graph.threads.net).

- ``GET /oauth/authorize``: consents at once (``sandbox_user`` picks the fixture user);
- ``POST /oauth/access_token`` (client_id, client_secret, code, grant_type=authorization_code,
  redirect_uri) → ``{access_token, user_id}``, a short-lived token (1 h);
- ``GET /access_token?grant_type=th_exchange_token&client_secret&access_token`` → a long-lived token
  ``{access_token, token_type, expires_in}`` (60 days);
- ``GET /refresh_access_token?grant_type=th_refresh_token&access_token`` → a new long-lived token;
  the token must be long-lived, at least 24 h old and unexpired;
- ``/v1.0/me``, ``/v1.0/{id}`` (a user, a container or a post, ``fields=``),
  ``POST /v1.0/{user}/threads`` (containers), ``POST /v1.0/{user}/threads_publish``,
  ``GET /v1.0/{user}/threads`` and ``/replies`` (paginated, ``since``/``until``/``limit``/``after``),
  ``GET /v1.0/{user}/threads_publishing_limit``; the version segment is optional, as on Graph.

Containers move IN_PROGRESS → FINISHED after a processing time (text at once, images
``imageProcessingSeconds``, videos ``videoProcessingSeconds``; a carousel parent when its
children are done), → PUBLISHED when published, → ERROR (a video that could not be fetched or is
not MP4/MOV) and → EXPIRED after 24 h (or ``expire-containers``). Images are fetched when their
container is created, and refused there (JPEG/PNG, ≤ 8 MiB, aspect ratio within 10:1).
"""

from __future__ import annotations

import http.client
import secrets
import string
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

import regex

from local.sandbox.core import Fault, SandboxPlatform, SandboxRequest, SandboxResponse, control_error
from local.sandbox.graph import (
    fields_of,
    graph_error,
    graph_fault_response,
    graph_params,
    graph_token,
    invalid_param,
    invalid_token,
    missing_param,
    object_not_found,
    token_required,
    unknown_path,
)
from local.sandbox.oauth import OAuthError, OAuthProvider, Token, form

LONG_LIVED_TTL_SECONDS: Final = 5_183_944  # what Meta answers: about 60 days
SHORT_LIVED_TTL_SECONDS: Final = 3600.0
REFRESH_MIN_AGE_SECONDS: Final = 24 * 3600.0
CONTAINER_TTL_SECONDS: Final = 24 * 3600.0
IMAGE_PROCESSING_SECONDS: Final = 0.2
VIDEO_PROCESSING_SECONDS: Final = 1.5
TEXT_MAX: Final = 500
CAROUSEL_MIN, CAROUSEL_MAX = 2, 20
IMAGE_MAX_BYTES: Final = 8 * 1024 * 1024
VIDEO_MAX_BYTES: Final = 1024 * 1024 * 1024
IMAGE_MAX_RATIO: Final = 10.0
POST_QUOTA: Final = 250
REPLY_QUOTA: Final = 1000
QUOTA_WINDOW: Final = 86_400
FETCH_TIMEOUT_SECONDS: Final = 10.0
LIST_DEFAULT, LIST_MAX = 25, 100

SCOPE_BASIC: Final = "threads_basic"
SCOPE_PUBLISH: Final = "threads_content_publish"
SCOPE_REPLIES: Final = "threads_manage_replies"

_VERSION: Final = regex.compile(r"^v\d+\.\d+$")
_EMOJI: Final = regex.compile(r"[\p{Emoji_Presentation}\p{Regional_Indicator}\uFE0F\u20E3]")
_SHORTCODE_ALPHABET: Final = string.ascii_letters + string.digits + "_-"


@dataclass(frozen=True)
class ThreadsUser:
    id: str
    username: str
    name: str | None
    biography: str
    picture: bool  # has a profile picture


USERS: Final = {
    "default": ThreadsUser("25190000000000001", "sandbox.threads", "Threads Sandbox", "Posting from the sandbox", True),
    "minimal": ThreadsUser("25190000000000002", "minimal.threads", None, "", False),
}


@dataclass
class Media:
    kind: str  # IMAGE | VIDEO
    url: str
    alt_text: str | None = None
    content_type: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    error_message: str | None = None  # a video that will end in ERROR

    def describe(self) -> dict[str, Any]:
        return {
            "mediaType": self.kind,
            "url": self.url,
            "altText": self.alt_text,
            "contentType": self.content_type,
            "size": self.size,
            "width": self.width,
            "height": self.height,
        }


@dataclass
class Container:
    id: str
    user_id: str
    media_type: str  # TEXT | IMAGE | VIDEO | CAROUSEL
    text: str | None
    created_at: float
    ready_at: float
    media: Media | None = None
    is_carousel_item: bool = False
    children: list[str] = field(default_factory=list)
    reply_to_id: str | None = None
    published_id: str | None = None
    expired: bool = False


def text_length(text: str) -> int:
    """Threads' count: graphemes, an emoji counting as its UTF-8 bytes."""
    return sum(len(g.encode("utf-8")) if _EMOJI.search(g) else 1 for g in regex.findall(r"\X", text))


def _timestamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _sniff(data: bytes) -> tuple[str | None, int | None, int | None]:
    """(content type, width, height) from the leading bytes."""
    from crosspost.media import sniff

    found = sniff(data)
    return found.content_type, found.width, found.height


def _fetch(url: str, limit: int) -> tuple[bytes | None, int | None]:
    """(the first ``limit + 1`` bytes, total size) of ``url``; (None, None) when unreachable."""
    if not url.startswith(("http://", "https://")):
        return None, None
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s) only)
            data = response.read(limit + 1)
            length = response.headers.get("Content-Length")
            size = int(length) if length and length.isdigit() else len(data)
            return data, size
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):
        return None, None


def _oauth_error(exc: OAuthError) -> SandboxResponse:
    """Meta's answers for a refused exchange."""
    reason = exc.reason
    if reason == "invalid_client":
        return graph_error(400, 101, "Error validating client secret.")
    if reason == "expired_code":
        return graph_error(400, 100, "This authorization code has expired.", subcode=36007)
    if reason == "used_code":
        return graph_error(400, 100, "This authorization code has been used.", subcode=36009)
    if reason == "redirect_mismatch":
        return graph_error(
            400,
            100,
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you "
            "used in the OAuth dialog request",
            subcode=36008,
        )
    if reason == "invalid_code":
        return graph_error(400, 100, "Invalid verification code format.")
    return invalid_token(reason)


class _Refused(Exception):
    def __init__(self, response: SandboxResponse) -> None:
        super().__init__("refused")
        self.response = response


class ThreadsSandbox(SandboxPlatform):
    name = "threads"

    def __init__(self) -> None:
        super().__init__()
        self.provider = OAuthProvider("threads", tuple(USERS), access_ttl=SHORT_LIVED_TTL_SECONDS, refresh_ttl=None)
        self.reset()

    # ---- fixtures ------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.provider.reset()
            self.long_lived: set[str] = set()
            self.containers: dict[str, Container] = {}
            self.published: list[tuple[str, float, bool]] = []  # (user id, when, is reply)
            self.records.clear()
            self._next_id = 0
            self.long_lived_ttl = float(LONG_LIVED_TTL_SECONDS)
            self.refresh_min_age = REFRESH_MIN_AGE_SECONDS
            self.image_processing = IMAGE_PROCESSING_SECONDS
            self.video_processing = VIDEO_PROCESSING_SECONDS
            self.post_quota = POST_QUOTA
            self.reply_quota = REPLY_QUOTA

    def _new_id(self, prefix: str) -> str:
        self._next_id += 1
        return f"{prefix}{self._next_id:011d}"

    # ---- dispatch ------------------------------------------------------------------------

    def is_publishing_call(self, request: SandboxRequest) -> bool:
        parts = self._graph_parts(request.path)
        return request.method == "POST" and len(parts) == 2 and parts[1] in ("threads", "threads_publish")

    def describe_call(self, request: SandboxRequest) -> dict[str, Any]:
        parts = self._graph_parts(request.path)
        params = graph_params(request)
        if parts[-1:] == ["threads_publish"]:
            return {"call": "threads_publish", "creationId": params.get("creation_id")}
        return {"call": "container", "mediaType": params.get("media_type")}

    def fault_response(self, fault: Fault, request: SandboxRequest) -> SandboxResponse:
        return graph_fault_response(fault, request)

    def internal_error(self) -> SandboxResponse:
        return graph_error(500, 1, "An unknown error has occurred.", is_transient=False)

    @staticmethod
    def _graph_parts(path: str) -> list[str]:
        parts = [p for p in path.split("/") if p]
        if parts and _VERSION.match(parts[0]):
            parts = parts[1:]
        return parts

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        path = request.path.rstrip("/")
        if path == "/oauth/authorize" and request.method == "GET":
            with self.lock:
                return self.provider.authorize(request)
        if path == "/oauth/access_token" and request.method == "POST":
            with self.lock:
                return self._code_exchange(request)
        if path == "/access_token" and request.method == "GET":
            with self.lock:
                return self._long_lived_exchange(request)
        if path == "/refresh_access_token" and request.method == "GET":
            with self.lock:
                return self._refresh(request)
        if request.method == "GET" and path.startswith("/profile_pictures/"):
            from local.sandbox.files import jpeg

            return SandboxResponse(200, jpeg(320, 320), {"Content-Type": "image/jpeg"})
        try:
            return self._graph(request)
        except _Refused as refused:
            return refused.response

    # ---- OAuth ---------------------------------------------------------------------------

    def _code_exchange(self, request: SandboxRequest) -> SandboxResponse:
        params = form(request)
        for name in ("client_id", "client_secret", "code", "grant_type", "redirect_uri"):
            if not params.get(name):
                return missing_param(name)
        if params["grant_type"] != "authorization_code":
            return invalid_param("Invalid grant_type")
        try:
            self.provider.check_client(params["client_id"], params["client_secret"])
            grant = self.provider.redeem(params["code"], redirect_uri=params["redirect_uri"])
        except OAuthError as exc:
            return _oauth_error(exc)
        issued = self.provider.issue(grant.user, grant.scopes, refresh=False, prefix="THAA")
        return SandboxResponse.json(200, {"access_token": issued.access.value, "user_id": int(USERS[grant.user].id)})

    def _long_lived_exchange(self, request: SandboxRequest) -> SandboxResponse:
        params = form(request)
        if params.get("grant_type") != "th_exchange_token":
            return invalid_param("grant_type must be th_exchange_token")
        if params.get("client_secret") != self.provider.app["clientSecret"]:
            return graph_error(400, 101, "Error validating client secret.")
        if not params.get("access_token"):
            return token_required()
        try:
            token = self.provider.access(params["access_token"])
        except OAuthError as exc:
            return _oauth_error(exc)
        return self._long_lived_answer(token)

    def _refresh(self, request: SandboxRequest) -> SandboxResponse:
        params = form(request)
        if params.get("grant_type") != "th_refresh_token":
            return invalid_param("grant_type must be th_refresh_token")
        if not params.get("access_token"):
            return token_required()
        try:
            token = self.provider.access(params["access_token"])
        except OAuthError as exc:
            return _oauth_error(exc)
        if token.value not in self.long_lived:
            return invalid_param("Only long-lived access tokens can be refreshed")
        if time.time() - token.issued_at < self.refresh_min_age:
            return invalid_param("The access token can be refreshed only when it is at least 24 hours old")
        return self._long_lived_answer(token)

    def _long_lived_answer(self, old: Token) -> SandboxResponse:
        """A new long-lived token for the owner of ``old`` (which keeps working until it expires,
        as on Meta)."""
        token = self.provider.issue(
            old.user, old.scopes, access_ttl=self.long_lived_ttl, refresh=False, prefix="THAA"
        ).access
        self.long_lived.add(token.value)
        expires_in = 0 if token.expires_at is None else max(0, int(token.expires_at - time.time()))
        return SandboxResponse.json(
            200, {"access_token": token.value, "token_type": "bearer", "expires_in": expires_in}
        )

    # ---- Graph ---------------------------------------------------------------------------

    def _viewer(self, request: SandboxRequest, params: dict[str, str], *scopes: str) -> tuple[Token, ThreadsUser]:
        value = graph_token(request, params)
        if not value:
            raise _Refused(token_required())
        try:
            token = self.provider.access(value)
        except OAuthError as exc:
            raise _Refused(invalid_token(exc.reason)) from None
        for scope in (SCOPE_BASIC, *scopes):
            if scope not in token.scopes:
                raise _Refused(graph_error(403, 10, "(#10) Application does not have permission for this action"))
        return token, USERS[token.user]

    def _graph(self, request: SandboxRequest) -> SandboxResponse:
        parts = self._graph_parts(request.path)
        params = graph_params(request)
        if request.method == "POST" and len(parts) == 2 and parts[1] == "threads":
            return self._create_container(request, params, parts[0])
        with self.lock:
            if request.method == "POST" and len(parts) == 2 and parts[1] == "threads_publish":
                return self._publish(request, params, parts[0])
            if request.method == "GET" and len(parts) == 1:
                return self._read(request, params, parts[0])
            if request.method == "GET" and len(parts) == 2 and parts[1] in ("threads", "replies"):
                return self._list(request, params, parts[0], replies=parts[1] == "replies")
            if request.method == "GET" and len(parts) == 2 and parts[1] == "threads_publishing_limit":
                return self._quota(request, params, parts[0])
        return unknown_path(request.path)

    def _own(self, user: ThreadsUser, user_path: str) -> None:
        if user_path not in ("me", user.id):
            raise _Refused(object_not_found(user_path))

    # ---- containers ----------------------------------------------------------------------

    def _create_container(self, request: SandboxRequest, params: dict[str, str], user_path: str) -> SandboxResponse:
        with self.lock:
            token, user = self._viewer(request, params, SCOPE_PUBLISH)
            self._own(user, user_path)
            media_type = (params.get("media_type") or "").upper()
            if media_type not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
                return missing_param("media_type") if not media_type else invalid_param("Invalid media_type")
            carousel_item = (params.get("is_carousel_item") or "").lower() == "true"
            text = params.get("text")
            reply_to = params.get("reply_to_id") or None
            problem = self._container_problem(params, media_type, carousel_item, text, reply_to, user, token)
            if problem is not None:
                return problem
        media = None
        if media_type in ("IMAGE", "VIDEO"):  # fetched outside the lock: it may be this sandbox serving it
            url = params.get("image_url" if media_type == "IMAGE" else "video_url") or ""
            fetched = self._fetch_media(media_type, url, params.get("alt_text"))
            if isinstance(fetched, SandboxResponse):
                return fetched
            media = fetched
        with self.lock:
            now = time.time()
            container = Container(
                id=self._new_id("1790"),
                user_id=user.id,
                media_type=media_type,
                text=text,
                created_at=now,
                ready_at=now + self._processing(media_type),
                media=media,
                is_carousel_item=carousel_item,
                children=[c for c in (params.get("children") or "").split(",") if c],
                reply_to_id=reply_to,
            )
            self.containers[container.id] = container
            return SandboxResponse.json(200, {"id": container.id})

    def _processing(self, media_type: str) -> float:
        return {"IMAGE": self.image_processing, "VIDEO": self.video_processing, "CAROUSEL": self.image_processing}.get(
            media_type, 0.0
        )

    def _container_problem(
        self,
        params: dict[str, str],
        media_type: str,
        carousel_item: bool,
        text: str | None,
        reply_to: str | None,
        user: ThreadsUser,
        token: Token,
    ) -> SandboxResponse | None:
        if media_type == "TEXT" and not text:
            return missing_param("text")
        if media_type == "IMAGE" and not params.get("image_url"):
            return missing_param("image_url")
        if media_type == "VIDEO" and not params.get("video_url"):
            return missing_param("video_url")
        if carousel_item and media_type not in ("IMAGE", "VIDEO"):
            return invalid_param("Only IMAGE and VIDEO containers can be carousel items")
        if text is not None and text_length(text) > TEXT_MAX:
            return graph_error(
                400,
                100,
                f"(#100) text must be at most {TEXT_MAX} characters",
                user_title="Text too long",
                user_msg=f"The post's text must be at most {TEXT_MAX} characters.",
            )
        if media_type == "CAROUSEL":
            problem = self._carousel_problem(params.get("children") or "", user)
            if problem is not None:
                return problem
        if reply_to is not None:
            if carousel_item:
                return invalid_param("Carousel items cannot be replies")
            if SCOPE_REPLIES not in token.scopes:
                return graph_error(403, 10, "(#10) Application does not have permission for this action")
            if self.records.get(reply_to) is None:
                return object_not_found(reply_to)
        return None

    def _carousel_problem(self, raw_children: str, user: ThreadsUser) -> SandboxResponse | None:
        children = [c for c in raw_children.split(",") if c]
        if not children:
            return missing_param("children")
        if not CAROUSEL_MIN <= len(children) <= CAROUSEL_MAX:
            return invalid_param(
                f"A carousel must have between {CAROUSEL_MIN} and {CAROUSEL_MAX} children", subcode=2207028
            )
        for child_id in children:
            child = self.containers.get(child_id)
            if child is None or child.user_id != user.id:
                return object_not_found(child_id)
            if not child.is_carousel_item:
                return invalid_param(f"Container {child_id} is not a carousel item", subcode=2207028)
            status = self._status(child)
            if status != "FINISHED":
                return invalid_param(f"Carousel item {child_id} is {status}, not FINISHED", subcode=2207028)
        return None

    def _fetch_media(self, media_type: str, url: str, alt_text: str | None) -> Media | SandboxResponse:
        limit = IMAGE_MAX_BYTES if media_type == "IMAGE" else 64 * 1024
        data, size = _fetch(url, limit)
        if media_type == "VIDEO":  # downloaded while processing: problems surface as the container's ERROR
            if data is None:
                return Media("VIDEO", url, alt_text, error_message="FAILED_DOWNLOADING_VIDEO")
            content_type, _, _ = _sniff(data)
            media = Media("VIDEO", url, alt_text, content_type, size)
            if content_type not in ("video/mp4", "video/quicktime") or (size or 0) > VIDEO_MAX_BYTES:
                media.error_message = "FAILED_PROCESSING_VIDEO"
            return media
        if data is None:
            return graph_error(
                400,
                100,
                "The media could not be fetched from this URI.",
                subcode=2207052,
                user_title="Media download has failed.",
                user_msg="The media could not be fetched from the URI provided.",
            )
        content_type, width, height = _sniff(data)
        if content_type not in ("image/jpeg", "image/png"):
            return graph_error(
                400, 100, "Only JPEG and PNG images are supported.", subcode=2207005, user_title="Unsupported format"
            )
        if (size or 0) > IMAGE_MAX_BYTES or len(data) > IMAGE_MAX_BYTES:
            return graph_error(
                400, 100, "The image is larger than 8 MB.", subcode=2207004, user_title="Image too large"
            )
        if width and height and max(width / height, height / width) > IMAGE_MAX_RATIO:
            return graph_error(
                400,
                100,
                "The aspect ratio of the image is not supported (limit 10:1).",
                subcode=2207009,
                user_title="Unsupported aspect ratio",
            )
        return Media("IMAGE", url, alt_text, content_type, size, width, height)

    def _status(self, container: Container, now: float | None = None) -> str:
        at = time.time() if now is None else now
        if container.published_id is not None:
            return "PUBLISHED"
        if container.expired or at - container.created_at >= CONTAINER_TTL_SECONDS:
            return "EXPIRED"
        if at < container.ready_at:
            return "IN_PROGRESS"
        if container.media is not None and container.media.error_message:
            return "ERROR"
        if container.media_type == "CAROUSEL":
            states = [self._status(self.containers[c], at) for c in container.children if c in self.containers]
            if "ERROR" in states:
                return "ERROR"
            if "EXPIRED" in states:
                return "EXPIRED"
        return "FINISHED"

    # ---- publishing ----------------------------------------------------------------------

    def _publish(self, request: SandboxRequest, params: dict[str, str], user_path: str) -> SandboxResponse:
        _, user = self._viewer(request, params, SCOPE_PUBLISH)
        self._own(user, user_path)
        creation_id = params.get("creation_id")
        if not creation_id:
            return missing_param("creation_id")
        container = self.containers.get(creation_id)
        if container is None or container.user_id != user.id:
            return object_not_found(creation_id)
        if container.is_carousel_item:
            return invalid_param("A carousel item cannot be published on its own; publish the carousel")
        status = self._status(container)
        if status == "IN_PROGRESS":
            return graph_error(
                400,
                9007,
                "The media is not ready for publishing, please wait for a moment",
                subcode=2207027,
                user_title="Media not ready",
            )
        if status == "ERROR":
            return invalid_param("The media container has an error and cannot be published", subcode=2207001)
        if status == "EXPIRED":
            return invalid_param("The media container has expired", subcode=2207008)
        if status == "PUBLISHED":
            return invalid_param("The media container has already been published")
        reply = container.reply_to_id is not None
        window_start = time.time() - QUOTA_WINDOW
        used = sum(1 for uid, at, r in self.published if uid == user.id and at >= window_start and r == reply)
        if used >= (self.reply_quota if reply else self.post_quota):
            return graph_error(
                400,
                9,
                "Application request limit reached",
                subcode=2207042,
                user_title="Publishing limit reached",
                user_msg="This profile reached its limit of posts published through the API in 24 hours.",
            )
        return SandboxResponse.json(200, {"id": self._store_post(container, user)})

    def _store_post(self, container: Container, user: ThreadsUser) -> str:
        now = time.time()
        media_id = self._new_id("1802")
        container.published_id = media_id
        self.published.append((user.id, now, container.reply_to_id is not None))
        shortcode = "".join(secrets.choice(_SHORTCODE_ALPHABET) for _ in range(11))
        if container.media_type == "CAROUSEL":
            kind = "CAROUSEL_ALBUM"
            items = [self.containers[c].media for c in container.children if c in self.containers]
            media = [m.describe() for m in items if m is not None]
        else:
            kind = "TEXT_POST" if container.media_type == "TEXT" else container.media_type
            media = [container.media.describe()] if container.media is not None else []
        root = container.reply_to_id
        parent = self.records.get(root) if root else None
        self.records.put(
            media_id,
            "post",
            {
                "id": media_id,
                "userId": user.id,
                "username": user.username,
                "mediaType": kind,
                "text": container.text,
                "shortcode": shortcode,
                "permalink": f"https://www.threads.net/@{user.username}/post/{shortcode}",
                "timestamp": _timestamp(now),
                "replyToId": root,
                "rootPostId": (parent.get("rootPostId") or parent["id"]) if parent else None,
                "containerId": container.id,
                "children": list(container.children),
                "media": media,
                "createdAt": now,
            },
        )
        return media_id

    # ---- reads ---------------------------------------------------------------------------

    def _read(self, request: SandboxRequest, params: dict[str, str], object_id: str) -> SandboxResponse:
        _, user = self._viewer(request, params)
        names = fields_of(params) or ["id"]
        if object_id in ("me", user.id):
            return SandboxResponse.json(200, self._user_fields(user, names, request))
        container = self.containers.get(object_id)
        if container is not None and container.user_id == user.id:
            values: dict[str, Any] = {"id": container.id, "status": self._status(container)}
            if values["status"] == "ERROR":
                values["error_message"] = (container.media.error_message if container.media else None) or "UNKNOWN"
            return SandboxResponse.json(200, {k: v for k, v in values.items() if k in names or k == "id"})
        post = self.records.get(object_id)
        if post is not None:
            return SandboxResponse.json(200, self._post_fields(post, names))
        return object_not_found(object_id)

    def _user_fields(self, user: ThreadsUser, names: list[str], request: SandboxRequest) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": user.id,
            "username": user.username,
            "name": user.name,
            "threads_biography": user.biography,
            "threads_profile_picture_url": f"{request.base_url}/profile_pictures/{user.id}.jpg"
            if user.picture
            else None,
        }
        return {k: v for k, v in values.items() if (k in names or k == "id") and v is not None}

    @staticmethod
    def _post_fields(post: dict[str, Any], names: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": post["id"],
            "media_product_type": "THREADS",
            "media_type": post["mediaType"],
            "text": post["text"],
            "permalink": post["permalink"],
            "shortcode": post["shortcode"],
            "timestamp": post["timestamp"],
            "username": post["username"],
            "owner": {"id": post["userId"]},
            "is_quote_post": False,
            "is_reply": post["replyToId"] is not None,
        }
        if post["media"] and post["mediaType"] != "CAROUSEL_ALBUM":
            values["media_url"] = post["media"][0]["url"]
            if post["media"][0].get("altText"):
                values["alt_text"] = post["media"][0]["altText"]
        if post["replyToId"]:
            values["replied_to"] = {"id": post["replyToId"]}
            values["root_post"] = {"id": post["rootPostId"]}
        if post["mediaType"] == "CAROUSEL_ALBUM":
            values["children"] = {"data": [{"id": c} for c in post["children"]]}
        return {k: v for k, v in values.items() if k in names or k == "id"}

    def _list(
        self, request: SandboxRequest, params: dict[str, str], user_path: str, *, replies: bool
    ) -> SandboxResponse:
        _, user = self._viewer(request, params, *(("threads_read_replies",) if replies else ()))
        self._own(user, user_path)
        try:
            since = float(params["since"]) if params.get("since") else None
            until = float(params["until"]) if params.get("until") else None
            limit = int(params.get("limit") or LIST_DEFAULT)
            offset = int(params.get("after") or "0", 16) if params.get("after") else 0
        except ValueError:
            return invalid_param("Invalid since, until, limit or after")
        limit, offset = max(1, min(limit, LIST_MAX)), max(0, offset)
        posts = [
            p
            for p in reversed(self.records.items("post"))
            if p["userId"] == user.id
            and (p["replyToId"] is not None) == replies
            and (since is None or p["createdAt"] >= since)
            and (until is None or p["createdAt"] <= until)
        ]
        names = fields_of(params) or ["id"]
        page = posts[offset : offset + limit]
        body: dict[str, Any] = {"data": [self._post_fields(p, names) for p in page]}
        if page:
            paging: dict[str, Any] = {"cursors": {"before": f"{offset:x}", "after": f"{offset + len(page):x}"}}
            if offset + len(page) < len(posts):
                query = {k: v for k, v in params.items() if k != "access_token"}
                query["after"] = f"{offset + len(page):x}"
                paging["next"] = f"{request.base_url}{request.path}?{urlencode(query)}"
            body["paging"] = paging
        return SandboxResponse.json(200, body)

    def _quota(self, request: SandboxRequest, params: dict[str, str], user_path: str) -> SandboxResponse:
        _, user = self._viewer(request, params)
        self._own(user, user_path)
        window_start = time.time() - QUOTA_WINDOW
        recent = [(at, reply) for uid, at, reply in self.published if uid == user.id and at >= window_start]
        values: dict[str, Any] = {
            "quota_usage": sum(1 for _, reply in recent if not reply),
            "config": {"quota_total": self.post_quota, "quota_duration": QUOTA_WINDOW},
            "reply_quota_usage": sum(1 for _, reply in recent if reply),
            "reply_config": {"quota_total": self.reply_quota, "quota_duration": QUOTA_WINDOW},
        }
        names = fields_of(params) or ["quota_usage"]
        return SandboxResponse.json(200, {"data": [{k: v for k, v in values.items() if k in names}]})

    # ---- control -------------------------------------------------------------------------

    def control(self, action: str, request: SandboxRequest) -> SandboxResponse | None:
        if request.method == "POST" and action == "expire-containers":
            for container in self.containers.values():
                if container.published_id is None:
                    container.expired = True
            return SandboxResponse.json(200, {"expired": len(self.containers)})
        if request.method == "POST" and action == "settings":
            return self._settings(request)
        return self.provider.control(action, request)

    _SETTINGS: Final = {
        "longLivedTtlSeconds": "long_lived_ttl",
        "refreshMinAgeSeconds": "refresh_min_age",
        "imageProcessingSeconds": "image_processing",
        "videoProcessingSeconds": "video_processing",
        "postQuota": "post_quota",
        "replyQuota": "reply_quota",
    }

    def _settings(self, request: SandboxRequest) -> SandboxResponse:
        try:
            body = request.json() or {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return control_error(400, "InvalidSettings", "the body must be a JSON object")
        for name, attr in self._SETTINGS.items():
            value = body.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                return control_error(400, "InvalidSettings", f"{name} must be a number ≥ 0")
            setattr(self, attr, int(value) if attr.endswith("quota") else float(value))
        answer = self.provider.control("settings", request)
        if answer is None or answer.status != 200:
            return answer or control_error(400, "InvalidSettings", "bad settings")
        shown = {name: getattr(self, attr) for name, attr in self._SETTINGS.items()}
        return SandboxResponse.json(200, {**(answer.payload() or {}), **shown})

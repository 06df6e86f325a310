"""Simulated Pinterest API v5 at ``/pinterest/...`` (PLATFORMS.md §6 and §8).

One prefix serves every Pinterest host: the consent page (``/oauth/``, www.pinterest.com), the
API (``/v5/...``, api.pinterest.com) and the S3 bucket that takes video uploads
(``/media-upload/``, pinterest-media-upload.s3-accelerate.amazonaws.com), whose absolute URL the
sandbox builds from the request's origin.

Kept from the real API: Basic client auth on ``POST /v5/oauth/token`` (form-encoded), 30-day
access tokens and 60-day continuous refresh tokens that rotate; Bearer auth and scopes;
``bookmark`` pagination of boards and board pins (``page_size`` 1-250); ``POST /v5/pins`` → 201
with the Pin JSON, validating ``board_id`` (digits, the caller's own board: else 404 "Board not
found."), the field lengths (title 100, description 800, link 2048, alt_text 500) and the
``media_source`` (``image_url`` is fetched: unreachable → 400 "Unable to reach the URL"; not an
image → 403 as the spec says); videos through ``POST /v5/media``, an S3-style presigned multipart
POST (204) and ``GET /v5/media/{id}`` going ``registered → processing → succeeded`` (or
``failed`` for a file that is not a video); a video pin needs a cover. Errors are
``{"code", "message"}``.

Simplified on purpose: no board sections, carousels (``multiple_image_*``) or ``pin_url``
sources; no rate limiter (429 comes from faults); the upload policy is checked field by field
(every issued parameter must come back unchanged), not by signature. The inner error codes are
this sandbox's best guess: Pinterest does not document them (README "Pinterest").
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from crosspost.media import sniff_image
from local.sandbox.core import Fault, SandboxRequest, SandboxResponse, Setting, html_page
from local.sandbox.oauth import OAuthError, OAuthProvider, OAuthSandbox, basic_auth, bearer, form

ACCESS_TTL_SECONDS: Final = 30 * 24 * 3600
REFRESH_TTL_SECONDS: Final = 60 * 24 * 3600  # continuous refresh token: renewed (and rotated) on use
VIDEO_PROCESSING_SECONDS: Final = 1.0
KNOWN_SCOPES: Final = frozenset(
    {
        "boards:read",
        "boards:write",
        "boards:read_secret",
        "boards:write_secret",
        "pins:read",
        "pins:write",
        "pins:read_secret",
        "pins:write_secret",
        "user_accounts:read",
        "catalogs:read",
        "catalogs:write",
        "ads:read",
        "ads:write",
    }
)
IMAGE_MAX_BYTES: Final = 20 * 1024 * 1024
FETCH_TIMEOUT_SECONDS: Final = 5.0
LIMITS: Final = {"title": 100, "description": 800, "link": 2048, "alt_text": 500}
PAGE_SIZE_MAX: Final = 250
UPLOAD_PATH: Final = "/media-upload/"

# The error bodies (inner codes: see the module doc).
AUTH_FAILED: Final = {"code": 2, "message": "Authentication failed."}
NOT_PERMITTED: Final = {"code": 29, "message": "You are not permitted to access that resource."}
INVALID_GRANT: Final = {"code": 283, "message": "The authorization grant is invalid"}
BOARD_NOT_FOUND: Final = {"code": 40, "message": "Board not found."}
RATE_LIMITED: Final = {"code": 8, "message": "You have exceeded your rate limit. Try again later."}
IMAGE_BROKEN: Final = "The Pin's image is too small, too large or is broken"
# What a fault's status answers: the API's error bodies, and the S3 bucket's (code, message).
FAULT_BODIES: Final = {
    400: {"code": 1, "message": "Invalid Pin parameters (sandbox fault 400)"},
    401: AUTH_FAILED,
    429: RATE_LIMITED,
    500: {"code": 0, "message": "Internal Server Error"},
    503: {"code": 0, "message": "Service Unavailable"},
}
S3_FAULTS: Final = {
    400: ("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data."),
    401: ("AccessDenied", "Access Denied"),
    429: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    privacy: str = "PUBLIC"


@dataclass(frozen=True)
class Pinner:
    """A fixture user (``sandbox_user=<key>`` on the authorize URL)."""

    key: str
    id: str
    username: str
    account_type: str
    business_name: str | None
    boards: tuple[Board, ...]

    @property
    def profile_image(self) -> str:
        return f"https://i.pinimg.com/600x600_R/sandbox/{self.username}.jpg"


def _boards(prefix: str, count: int) -> tuple[Board, ...]:
    return tuple(Board(f"{prefix}{n:04d}", f"Board {n}") for n in range(1, count + 1))


PINNERS: Final = {
    p.key: p
    for p in (
        Pinner(
            "default",
            "549755885175",
            "sandbox_pinner",
            "BUSINESS",
            "Sandbox Studio",
            (Board("1001000000000000001", "Sandbox ideas"), Board("1001000000000000002", "Recipes")),
        ),
        Pinner("no_boards", "549755885176", "sandbox_empty", "PINNER", None, ()),
        Pinner("many_boards", "549755885177", "sandbox_collector", "PINNER", None, _boards("100300000000000", 60)),
    )
}
DEFAULT_USER: Final = "default"
DEFAULT_BOARD: Final = PINNERS[DEFAULT_USER].boards[0]


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("message"))
        self.status, self.body, self.headers = status, body, headers or {}

    def response(self) -> SandboxResponse:
        return SandboxResponse.json(self.status, self.body, self.headers)


def _invalid(message: str) -> ApiError:
    return ApiError(400, {"code": 1, "message": message})


def _s3_error(status: int, code: str, message: str) -> SandboxResponse:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    ).encode()
    return SandboxResponse(status, body, {"Content-Type": "application/xml"})


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _is_video(data: bytes) -> bool:
    return data[4:8] == b"ftyp"  # MP4 / MOV / M4V all start with an ftyp box


@dataclass
class Media:
    id: str
    owner: str
    parameters: dict[str, str]
    uploaded_at: float | None = None
    size: int = 0
    is_video: bool = False

    def status(self, processing_seconds: float) -> str:
        if self.uploaded_at is None:
            return "registered"
        if not self.is_video:
            return "failed"
        return "succeeded" if time.time() >= self.uploaded_at + processing_seconds else "processing"


@dataclass
class _Page:
    items: list[Any]
    bookmark: str | None


@dataclass
class _PinState:
    pins: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → Pin JSON, in creation order
    owners: dict[str, str] = field(default_factory=dict)  # pin id → user key


class PinterestSandbox(OAuthSandbox):
    name = "pinterest"
    own_settings = {"videoProcessingSeconds": Setting("processing_seconds")}

    def __init__(self) -> None:
        super().__init__(
            OAuthProvider(
                "pinterest",
                tuple(PINNERS),
                access_ttl=ACCESS_TTL_SECONDS,
                refresh_ttl=REFRESH_TTL_SECONDS,
                rotate_refresh=True,
            )
        )

    def reset_state(self) -> None:
        self.state = _PinState()
        self.media: dict[str, Media] = {}
        self.processing_seconds = VIDEO_PROCESSING_SECONDS
        self._next_id = 1_100_000_000_000_000_000

    def _new_id(self) -> str:
        self._next_id += 1 + secrets.randbelow(50)
        return str(self._next_id)

    # ---- dispatch ------------------------------------------------------------------------

    def is_publishing_call(self, request: SandboxRequest) -> bool:
        return request.method == "POST" and request.path in ("/v5/pins", "/v5/media", UPLOAD_PATH)

    def describe_call(self, request: SandboxRequest) -> dict[str, Any]:
        board = (request.json_object() or {}).get("board_id") if request.path == "/v5/pins" else None
        return {"boardId": board} if isinstance(board, str) else {}

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        path, method = request.path, request.method
        try:
            if path in ("/oauth", "/oauth/") and method == "GET":
                with self.lock:
                    return self._authorize(request)
            if path == "/v5/oauth/token":
                if method != "POST":
                    raise ApiError(405, {"code": 405, "message": "Method Not Allowed"})
                with self.lock:
                    return self._token(request)
            if path == UPLOAD_PATH and method == "POST":
                return self._upload(request)
            return self._api(request)
        except ApiError as exc:
            return exc.response()

    def _api(self, request: SandboxRequest) -> SandboxResponse:
        parts = [p for p in request.path.split("/") if p]
        method = request.method
        if parts[:1] != ["v5"]:
            raise ApiError(404, {"code": 404, "message": "Not found"})
        route = parts[1:]
        if route == ["user_account"] and method == "GET":
            return self._user_account(request)
        if route == ["boards"] and method == "GET":
            return self._list_boards(request)
        if len(route) == 3 and route[0] == "boards" and route[2] == "pins" and method == "GET":
            return self._board_pins(request, route[1])
        if route == ["pins"] and method == "POST":
            return self._create_pin(request)
        if len(route) == 2 and route[0] == "pins" and method == "GET":
            return self._get_pin(request, route[1])
        if route == ["media"] and method == "POST":
            return self._register_media(request)
        if len(route) == 2 and route[0] == "media" and method == "GET":
            return self._media_status(request, route[1])
        raise ApiError(404, {"code": 404, "message": "Not found"})

    def fault_response(self, fault: Fault, request: SandboxRequest) -> SandboxResponse:
        status = fault.status or 500
        if request.path == UPLOAD_PATH:  # the S3 bucket answers in S3's XML
            response = _s3_error(status, *S3_FAULTS[status])
        else:
            limits = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0"} if status == 429 else {}
            response = SandboxResponse.json(status, FAULT_BODIES[status], limits)
        if fault.retry_after is not None and status in (429, 503):
            response.headers["Retry-After"] = str(fault.retry_after)
        return response

    def internal_error(self) -> SandboxResponse:
        return SandboxResponse.json(500, FAULT_BODIES[500])

    # ---- OAuth -----------------------------------------------------------------------------

    def _authorize(self, request: SandboxRequest) -> SandboxResponse:
        if request.param("response_type") != "code":
            return _page(400, "response_type must be code")
        scopes = [s for s in (request.param("scope") or "").split(",") if s]
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            return _page(400, "Invalid scope")
        return self.oauth.authorize(request)

    def _token(self, request: SandboxRequest) -> SandboxResponse:
        client_id, client_secret = basic_auth(request)
        try:
            self.oauth.check_client(client_id, client_secret)
        except OAuthError:
            raise ApiError(401, dict(AUTH_FAILED)) from None
        if "application/x-www-form-urlencoded" not in (request.header("content-type") or ""):
            raise _invalid("Content-Type must be application/x-www-form-urlencoded")
        params = form(request)
        grant_type = params.get("grant_type")
        now = time.time()
        try:
            if grant_type == "authorization_code":
                for name in ("code", "redirect_uri"):
                    if not params.get(name):
                        raise _invalid(f"Missing request body parameter: {name}")
                grant = self.oauth.redeem(params["code"], redirect_uri=params["redirect_uri"])
                issued = self.oauth.issue(grant.user, grant.scopes, prefix="pina_")
            elif grant_type == "refresh_token":
                if not params.get("refresh_token"):
                    raise _invalid("Missing request body parameter: refresh_token")
                issued = self.oauth.refresh(params["refresh_token"])
            else:
                raise _invalid(f"Unsupported grant_type: {grant_type}")
        except OAuthError:
            raise ApiError(400, dict(INVALID_GRANT)) from None
        answer: dict[str, Any] = {
            "access_token": issued.access.value,
            "token_type": "bearer",
            "expires_in": issued.expires_in(now),
            "scope": ",".join(issued.access.scopes),
            "response_type": grant_type,
        }
        if issued.refresh is not None:
            answer["refresh_token"] = issued.refresh.value
            answer["refresh_token_expires_in"] = issued.refresh_expires_in(now)
            if issued.refresh.expires_at is not None:
                answer["refresh_token_expires_at"] = int(issued.refresh.expires_at)
        return SandboxResponse.json(200, answer)

    def _caller(self, request: SandboxRequest, *scopes: str) -> Pinner:
        """The token's user, with ``scopes`` granted; 401 otherwise."""
        with self.lock:
            try:
                token = self.oauth.access(bearer(request))
            except OAuthError:
                raise ApiError(401, dict(AUTH_FAILED)) from None
        if any(s not in token.scopes for s in scopes):
            raise ApiError(401, dict(NOT_PERMITTED))
        return PINNERS[token.user]

    # ---- reads -----------------------------------------------------------------------------

    def _user_account(self, request: SandboxRequest) -> SandboxResponse:
        user = self._caller(request, "user_accounts:read")
        with self.lock:
            pin_count = sum(1 for owner in self.state.owners.values() if owner == user.key)
        return SandboxResponse.json(
            200,
            {
                "account_type": user.account_type,
                "id": user.id,
                "profile_image": user.profile_image,
                "website_url": None,
                "username": user.username,
                "about": "",
                "business_name": user.business_name,
                "board_count": len(user.boards),
                "pin_count": pin_count,
                "follower_count": 0,
                "following_count": 0,
                "monthly_views": 0,
            },
        )

    @staticmethod
    def _page(request: SandboxRequest, items: list[Any]) -> _Page:
        raw_size = request.param("page_size") or "25"
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= PAGE_SIZE_MAX:
            raise _invalid(f"{raw_size} is not a valid page_size - 'page_size' must be between 1 and {PAGE_SIZE_MAX}")
        size = int(raw_size)
        start = 0
        bookmark = request.param("bookmark")
        if bookmark:
            try:
                start = int(base64.urlsafe_b64decode(bookmark.encode()).decode().removeprefix("offset:"))
            except (ValueError, binascii.Error, UnicodeDecodeError):
                raise _invalid("Invalid bookmark") from None
        chunk = items[start : start + size]
        more = start + size < len(items)
        next_mark = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode() if more else None
        return _Page(chunk, next_mark)

    def _board_json(self, user: Pinner, board: Board) -> dict[str, Any]:
        count = sum(1 for pin in self.state.pins.values() if pin["board_id"] == board.id)
        return {
            "id": board.id,
            "name": board.name,
            "description": "",
            "owner": {"username": user.username},
            "privacy": board.privacy,
            "pin_count": count,
            "follower_count": 0,
            "collaborator_count": 0,
            "created_at": "2024-01-01T00:00:00",
            "board_pins_modified_at": "2024-01-01T00:00:00",
            "media": {"image_cover_url": None, "pin_thumbnail_urls": []},
        }

    def _list_boards(self, request: SandboxRequest) -> SandboxResponse:
        user = self._caller(request, "boards:read")
        page = self._page(request, list(user.boards))
        with self.lock:
            items = [self._board_json(user, board) for board in page.items]
        return SandboxResponse.json(200, {"items": items, "bookmark": page.bookmark})

    @staticmethod
    def _own_board(user: Pinner, board_id: str) -> Board:
        for board in user.boards:
            if board.id == board_id:
                return board
        raise ApiError(404, dict(BOARD_NOT_FOUND))

    def _board_pins(self, request: SandboxRequest, board_id: str) -> SandboxResponse:
        user = self._caller(request, "boards:read", "pins:read")
        if not board_id.isdigit():
            raise _invalid(f"'{board_id[:40]}' does not match '^\\d+$' - 'board_id'")
        board = self._own_board(user, board_id)
        with self.lock:
            pins = [dict(p) for p in reversed(self.state.pins.values()) if p["board_id"] == board.id]
        page = self._page(request, pins)
        return SandboxResponse.json(200, {"items": page.items, "bookmark": page.bookmark})

    def _get_pin(self, request: SandboxRequest, pin_id: str) -> SandboxResponse:
        user = self._caller(request, "boards:read", "pins:read")
        with self.lock:
            pin = self.state.pins.get(pin_id)
            owner = self.state.owners.get(pin_id)
        if pin is None or owner != user.key:
            raise ApiError(404, {"code": 50, "message": "Pin not found."})
        return SandboxResponse.json(200, pin)

    # ---- pins ------------------------------------------------------------------------------

    def _create_pin(self, request: SandboxRequest) -> SandboxResponse:
        user = self._caller(request, "boards:read", "pins:write")
        try:
            body = request.json()
        except ValueError:
            raise _invalid("Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _invalid("Request body must be an object")
        board_id = body.get("board_id")
        if board_id is None:
            raise _invalid("'board_id' is a required property")
        if not isinstance(board_id, str) or not board_id.isdigit():
            raise _invalid(f"'{str(board_id)[:40]}' does not match '^\\d+$' - 'board_id'")
        for name, limit in LIMITS.items():
            value = body.get(name)
            if value is not None and not isinstance(value, str):
                raise _invalid(f"{json.dumps(value)[:40]} is not of type 'string' - '{name}'")
            if isinstance(value, str) and len(value) > limit:
                raise _invalid(f"'{value[:20]}...' is too long - '{name}' (maximum {limit})")
        link = body.get("link")
        if isinstance(link, str) and link and urlsplit(link).scheme not in ("http", "https"):
            raise _invalid(f"Invalid link: '{link[:40]}'")
        board = self._own_board(user, board_id)
        source = body.get("media_source")
        if not isinstance(source, dict):
            raise _invalid("'media_source' is a required property")
        media = self._media_of(user, source)  # fetches image URLs: outside the lock
        with self.lock:
            pin_id = self._new_id()
            created = _now_text()
            pin = {
                "id": pin_id,
                "created_at": created,
                "link": link or None,
                "title": body.get("title"),
                "description": body.get("description"),
                "dominant_color": "#6E7874",
                "alt_text": body.get("alt_text"),
                "creative_type": "VIDEO" if media["mediaType"] == "video" else "REGULAR",
                "board_id": board.id,
                "board_section_id": None,
                "board_owner": {"username": user.username},
                "is_owner": True,
                "media": self._pin_media(pin_id, media),
                "parent_pin_id": None,
                "is_standard": True,
                "has_been_promoted": False,
                "note": body.get("note"),
                "pin_metrics": None,
            }
            self.state.pins[pin_id] = pin
            self.state.owners[pin_id] = user.key
            self.records.put(
                pin_id,
                "post",
                {
                    "id": pin_id,
                    "url": f"https://www.pinterest.com/pin/{pin_id}/",
                    "username": user.username,
                    "boardId": board.id,
                    "boardName": board.name,
                    "title": pin["title"],
                    "description": pin["description"],
                    "link": pin["link"],
                    "altText": pin["alt_text"],
                    "media": media,
                    "createdAt": created,
                },
            )
        return SandboxResponse.json(201, pin)

    @staticmethod
    def _pin_media(pin_id: str, media: dict[str, Any]) -> dict[str, Any]:
        if media["mediaType"] == "video":
            return {
                "media_type": "video",
                "cover_image_url": f"https://i.pinimg.com/videos/thumbnails/originals/sandbox/{pin_id}.jpg",
                "video_url": None,
                "duration": None,
                "height": None,
                "width": None,
            }
        original = {
            "width": media.get("width"),
            "height": media.get("height"),
            "url": f"https://i.pinimg.com/originals/sandbox/{pin_id}.jpg",
        }
        return {"media_type": "image", "images": {"originals": original}}

    def _media_of(self, user: Pinner, source: dict[str, Any]) -> dict[str, Any]:
        """What the pin shows, from its ``media_source`` (the read-back's ``media``)."""
        kind = source.get("source_type")
        if kind == "image_url":
            url = source.get("url")
            if not isinstance(url, str) or not url:
                raise _invalid("'url' is a required property - 'media_source'")
            data = _fetch(url)
            return {"sourceType": kind, "url": url, **_image_facts(data)}
        if kind == "image_base64":
            content_type = source.get("content_type")
            if content_type not in ("image/jpeg", "image/png"):
                raise _invalid(f"'{str(content_type)[:40]}' is not one of ['image/jpeg', 'image/png'] - 'content_type'")
            try:
                data = base64.b64decode(str(source.get("data") or ""), validate=True)
            except (ValueError, binascii.Error):
                raise _invalid("Invalid base64 image data") from None
            return {"sourceType": kind, **_image_facts(data)}
        if kind == "video_id":
            return self._video_of(user, source)
        raise _invalid(f"The sandbox does not simulate media_source source_type {str(kind)[:40]!r}")

    def _video_of(self, user: Pinner, source: dict[str, Any]) -> dict[str, Any]:
        media_id = source.get("media_id")
        with self.lock:
            media = self.media.get(media_id) if isinstance(media_id, str) else None
            status = media.status(self.processing_seconds) if media is not None else None
        if media is None or media.owner != user.key:
            raise _invalid(f"Invalid media_id: '{str(media_id)[:40]}'")
        if status != "succeeded":
            raise _invalid(f"Media upload {media.id} is not ready: its status is {status}")
        covers = ("cover_image_url", "cover_image_data", "cover_image_key_frame_time")
        if not any(source.get(name) is not None for name in covers):
            raise _invalid(
                "cover_image_url or cover_image_content_type and cover_image_data or cover_image_key_frame_time "
                "is required for a video Pin"
            )
        frame = source.get("cover_image_key_frame_time")
        return {
            "sourceType": "video_id",
            "mediaType": "video",
            "mediaId": media.id,
            "size": media.size,
            "coverImageKeyFrameTime": frame,
            "coverImageUrl": source.get("cover_image_url"),
        }

    # ---- video upload ----------------------------------------------------------------------

    def _register_media(self, request: SandboxRequest) -> SandboxResponse:
        user = self._caller(request, "pins:write")
        try:
            body = request.json()
        except ValueError:
            raise _invalid("Request body is not valid JSON") from None
        if not isinstance(body, dict) or body.get("media_type") != "video":
            raise _invalid("'media_type' must be 'video'")
        with self.lock:
            media_id = self._new_id()
            amz_date = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            parameters = {
                "x-amz-date": amz_date,
                "x-amz-signature": secrets.token_hex(32),
                "x-amz-security-token": secrets.token_urlsafe(48),
                "x-amz-algorithm": "AWS4-HMAC-SHA256",
                "key": f"uploads/{media_id[-2:]}/{media_id[-4:-2]}/{media_id}.mp4",
                "policy": base64.b64encode(json.dumps({"expiration": amz_date, "conditions": []}).encode()).decode(),
                "x-amz-credential": f"ASIASANDBOX/{amz_date[:8]}/us-east-1/s3/aws4_request",
                "Content-Type": "video/mp4",
            }
            self.media[media_id] = Media(media_id, user.key, parameters)
        return SandboxResponse.json(
            201,
            {
                "media_id": media_id,
                "media_type": "video",
                "upload_url": f"{request.base_url}{UPLOAD_PATH}",
                "upload_parameters": parameters,
            },
        )

    def _media_status(self, request: SandboxRequest, media_id: str) -> SandboxResponse:
        user = self._caller(request, "pins:read")
        with self.lock:
            media = self.media.get(media_id)
            if media is None or media.owner != user.key:
                raise ApiError(404, {"code": 4, "message": "Media not found."})
            status = media.status(self.processing_seconds)
        return SandboxResponse.json(200, {"media_id": media.id, "media_type": "video", "status": status})

    def _upload(self, request: SandboxRequest) -> SandboxResponse:
        """The S3 presigned POST: every issued field back unchanged, then ``file``; 204."""
        fields = request.multipart()
        if fields is None:
            return _s3_error(400, "MalformedPOSTRequest", "The body of your POST request is not well-formed.")
        data = fields.pop("file", None)
        key = fields.get("key", b"").decode("utf-8", "replace")
        with self.lock:
            media = next((m for m in self.media.values() if m.parameters["key"] == key), None)
            if media is None:
                return _s3_error(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed: key")
            for name, value in media.parameters.items():
                if fields.get(name, b"").decode("utf-8", "replace") != value:
                    return _s3_error(
                        403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {name}"
                    )
            if data is None:
                return _s3_error(400, "InvalidArgument", "POST requires exactly one file upload per request.")
            media.uploaded_at = time.time()
            media.size = len(data)
            media.is_video = _is_video(data)
        return SandboxResponse(204, b"", {"ETag": f'"{secrets.token_hex(16)}"'})


# ---- helpers -----------------------------------------------------------------------------------


def _fetch(url: str) -> bytes:
    """Pinterest fetching an image URL; unreachable → its 400."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise _invalid("Unable to reach the URL")
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s) only)
            data: bytes = response.read(IMAGE_MAX_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError):
        raise _invalid("Unable to reach the URL") from None
    return data


def _image_facts(data: bytes) -> dict[str, Any]:
    mime, width, height = sniff_image(data)
    if mime is None or len(data) > IMAGE_MAX_BYTES:
        raise ApiError(403, {"code": 1, "message": IMAGE_BROKEN})
    return {"mediaType": "image", "contentType": mime, "width": width, "height": height, "size": len(data)}


def _page(status: int, message: str) -> SandboxResponse:
    return html_page(status, "Pinterest", message)

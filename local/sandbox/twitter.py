"""Simulated X API v2 at ``/twitter/...`` (PLATFORMS.md §7 and §8).

One prefix serves X's hosts: the consent page (``/i/oauth2/authorize``, x.com) and the API
(``/2/...``, api.x.com).

Kept from the real API: OAuth 2.0 with PKCE required (S256 or plain) and a confidential client
(Basic auth on ``POST /2/oauth2/token``: missing → 401 ``unauthorized_client``), single-use codes,
2-hour access tokens and rotating refresh tokens (issued with ``offline.access`` only), the
token endpoint's ``{"error": "invalid_request", "error_description"}`` refusals (a wrong PKCE
verifier refuses the code like an unknown one); Bearer auth and scopes on every call, 401 problem
JSON; ``x-rate-limit-limit/-remaining/-reset`` on every API answer (15-minute windows per user and
endpoint) and ``x-user-limit-24hour-*`` on ``POST /2/tweets``; ``POST /2/tweets`` → 201
``{data: {id, text, edit_history_tweet_ids}}``, with the text X stores (links wrapped in t.co, one
more t.co link for the media, ``&<>`` escaped), the 280 weighted-character limit counted with
twitter-text (``crosspost.platforms.twitter_text``, X's own counting library, shared on purpose),
the 403 duplicate-content refusal per account, media ids that must belong to the caller, exist,
be processed and not be mixed (four images, or one GIF or one video); media upload: the simple
``POST /2/media/upload`` for images, chunked ``initialize``/``append``/``finalize`` for anything,
``GET /2/media/upload?command=STATUS`` going ``pending → in_progress → succeeded`` over a few polls
(``failed`` for bytes that are no video/GIF), alt text through ``/2/media/metadata`` (1,000
characters), media ids expiring after a day; ``GET /2/users/{id}/tweets`` newest first with
``start_time``, ``max_results`` 5..100 and ``pagination_token``.

Simplified on purpose: no replies, quotes, polls or edits (the fields are accepted and ignored);
no real video decoding (an MP4 signature is a video); the rate limits are counters this sandbox
chooses (``POST /2/tweets``: 100 per 15 minutes, settable); the too-long text refusal's wording
is the best known one (README "X").
"""

from __future__ import annotations

import base64
import binascii
import html
import math
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from crosspost.media import sniff
from crosspost.platforms.twitter_text import MAX_WEIGHTED_LENGTH, url_spans, weighted_length
from local.sandbox.core import Fault, SandboxRequest, SandboxResponse, Setting, html_page
from local.sandbox.oauth import OAuthError, OAuthProvider, OAuthSandbox, basic_auth, bearer, form

ACCESS_TTL_SECONDS: Final = 2 * 3600
REFRESH_TTL_SECONDS: Final = 180 * 24 * 3600  # X documents none; rotation on every use is what counts
MEDIA_TTL_SECONDS: Final = 24 * 3600
WINDOW_SECONDS: Final = 15 * 60
DAY_SECONDS: Final = 24 * 3600
KNOWN_SCOPES: Final = frozenset(
    {
        "tweet.read",
        "tweet.write",
        "tweet.moderate.write",
        "users.read",
        "follows.read",
        "follows.write",
        "offline.access",
        "space.read",
        "mute.read",
        "mute.write",
        "like.read",
        "like.write",
        "list.read",
        "list.write",
        "block.read",
        "block.write",
        "bookmark.read",
        "bookmark.write",
        "media.write",
    }
)
TWEET_FIELDS: Final = frozenset(
    {
        "text",
        "media",
        "reply",
        "quote_tweet_id",
        "poll",
        "reply_settings",
        "community_id",
        "for_super_followers_only",
        "geo",
        "card_uri",
        "nullcast",
        "made_with_ai",
        "paid_partnership",
        "edit_options",
        "direct_message_deep_link",
    }
)
# (limit per 15-minute window) per endpoint; POST /2/tweets also has a per-user daily cap.
LIMITS: Final = {
    "POST /2/tweets": 100,
    "GET /2/users/me": 75,
    "GET /2/users/:id/tweets": 900,
    "POST /2/media/upload": 500,
    "GET /2/media/upload": 1000,
    "POST /2/media/metadata": 500,
}
DEFAULT_LIMIT: Final = 900
TWEETS_PER_DAY: Final = 2400
# Bytes per media category (PLATFORMS.md §7.2).
CATEGORY_LIMITS: Final = {
    "tweet_image": 5 * 1024 * 1024,
    "tweet_gif": 15 * 1024 * 1024,
    "tweet_video": 512 * 1024 * 1024,
    "amplify_video": 512 * 1024 * 1024,
}
MEDIA_KEY_PREFIX: Final = {"tweet_image": "3", "tweet_gif": "16", "tweet_video": "7", "amplify_video": "13"}
ALT_TEXT_MAX: Final = 1000
SEGMENTS_MAX: Final = 1000
PROCESSING_POLLS: Final = 2  # STATUS calls before a video/GIF is done
CHECK_AFTER_SECS: Final = 1

# ---- the bodies X answers ------------------------------------------------------------------------

UNAUTHORIZED: Final = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
FORBIDDEN: Final = {
    "title": "Forbidden",
    "type": "about:blank",
    "status": 403,
    "detail": "You are not permitted to perform this action.",
}
DUPLICATE: Final = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
TOO_LONG: Final = {
    "detail": "Your Tweet text is too long. For more information on how Twitter determines text length see "
    "https://github.com/twitter/twitter-text.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
TOO_MANY: Final = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
NOT_FOUND: Final = {"title": "Not Found Error", "type": "https://api.twitter.com/2/problems/resource-not-found"}
INVALID_CODE: Final = {
    "error": "invalid_request",
    "error_description": "Value passed for the authorization code was invalid.",
}
INVALID_TOKEN: Final = {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}
UNAUTHORIZED_CLIENT: Final = {
    "error": "unauthorized_client",
    "error_description": "Missing valid authorization header",
}


def invalid_request(message: str, parameters: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """X's 400 problem document for a bad parameter."""
    return {
        "errors": [{"parameters": parameters or {}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


# What a fault's status answers.
FAULT_BODIES: Final = {
    400: invalid_request("The sandbox refused this request (fault 400)."),
    401: UNAUTHORIZED,
    429: TOO_MANY,
    500: {"title": "Internal Server Error", "detail": "Internal Server Error", "type": "about:blank", "status": 500},
    503: {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank", "status": 503},
}


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(str(body))
        self.status, self.body, self.headers = status, body, headers or {}


def _invalid(message: str, **parameters: list[str]) -> ApiError:
    return ApiError(400, invalid_request(message, parameters))


# ---- fixtures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class XUser:
    """A fixture account (``sandbox_user=<key>`` on the authorize URL)."""

    key: str
    id: str
    username: str
    name: str
    suspended: bool = False

    @property
    def profile_image_url(self) -> str:
        return f"https://pbs.twimg.com/profile_images/{self.id}/{self.username}_normal.jpg"


USERS: Final = {
    u.key: u
    for u in (
        XUser("alice", "1712000000000000001", "sandbox_alice", "Alice (sandbox)"),
        XUser("bob", "1712000000000000002", "sandbox_bob", "Bob (sandbox)"),
        XUser("suspended", "1712000000000000003", "sandbox_suspended", "Suspended (sandbox)", suspended=True),
    )
}
DEFAULT_USER: Final = "alice"
USERS_BY_ID: Final = {u.id: u for u in USERS.values()}


@dataclass
class Media:
    id: str
    owner: str  # user key
    category: str
    media_type: str
    total_bytes: int
    created_at: float
    segments: dict[int, bytes] = field(default_factory=dict)
    data: bytes | None = None  # set when finalized (or uploaded in one go)
    sniffed_type: str | None = None
    polls: int = 0  # STATUS calls since finalize
    alt_text: str | None = None

    @property
    def key(self) -> str:
        return f"{MEDIA_KEY_PREFIX.get(self.category, '3')}_{self.id}"

    @property
    def needs_processing(self) -> bool:
        return self.category != "tweet_image"

    def processing_state(self, polls_needed: int) -> str:
        if not self.needs_processing:
            return "succeeded"
        expected = "image/gif" if self.category == "tweet_gif" else "video/"
        if not (self.sniffed_type or "").startswith(expected):
            return "failed" if self.polls >= 1 else "pending"
        if self.polls == 0:
            return "pending"
        return "succeeded" if self.polls >= polls_needed else "in_progress"


@dataclass
class _Window:
    limit: int
    seconds: int
    used: int = 0
    reset_at: float = 0.0

    def take(self, now: float) -> bool:
        """Count one call; False when the window is used up."""
        if now >= self.reset_at:
            self.used, self.reset_at = 0, now + self.seconds
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def headers(self, prefix: str, now: float) -> dict[str, str]:
        reset = self.reset_at if self.reset_at > now else now + self.seconds
        return {
            f"{prefix}-limit": str(self.limit),
            f"{prefix}-remaining": str(max(0, self.limit - self.used)),
            f"{prefix}-reset": str(math.ceil(reset)),
        }


class TwitterSandbox(OAuthSandbox):
    name = "twitter"
    own_settings = {
        "postsPer15Minutes": Setting("tweet_limit", integer=True),
        "processingPolls": Setting("processing_polls", integer=True),
        "checkAfterSecs": Setting("check_after_secs", integer=True),
    }

    def __init__(self) -> None:
        super().__init__(
            OAuthProvider(
                "twitter",
                tuple(USERS),
                access_ttl=ACCESS_TTL_SECONDS,
                refresh_ttl=REFRESH_TTL_SECONDS,
                rotate_refresh=True,
                pkce=True,
            )
        )

    def reset_state(self) -> None:
        self.media: dict[str, Media] = {}
        self.windows: dict[tuple[str, str], _Window] = {}
        self.tweet_limit = LIMITS["POST /2/tweets"]
        self.processing_polls = PROCESSING_POLLS
        self.check_after_secs = CHECK_AFTER_SECS
        self._next_id = 1_900_000_000_000_000_000

    def _new_id(self) -> str:
        self._next_id += 1 + secrets.randbelow(1000)
        return str(self._next_id)

    # ---- dispatch ------------------------------------------------------------------------

    def is_publishing_call(self, request: SandboxRequest) -> bool:
        if request.method != "POST":
            return False
        path = request.path
        if path in ("/2/tweets", "/2/media/upload", "/2/media/upload/initialize"):
            return True
        return path.startswith("/2/media/upload/") and path.endswith(("/append", "/finalize"))

    def describe_call(self, request: SandboxRequest) -> dict[str, Any]:
        text = (request.json_object() or {}).get("text") if request.path == "/2/tweets" else None
        return {"text": text} if isinstance(text, str) else {}

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        with self.lock:
            try:
                if request.path == "/i/oauth2/authorize" and request.method == "GET":
                    return self._authorize(request)
                if request.path == "/2/oauth2/token":
                    return self._token(request)
                if request.path == "/2/oauth2/revoke":
                    return self._revoke(request)
                return self._api(request)
            except ApiError as exc:
                return SandboxResponse.json(exc.status, exc.body, exc.headers)

    def fault_response(self, fault: Fault, request: SandboxRequest) -> SandboxResponse:
        status = fault.status or 500
        headers: dict[str, str] = {}
        if status == 429:  # the endpoint's window, used up until the fault's wait is over
            wait = fault.retry_after if fault.retry_after is not None else 30
            reset = str(math.ceil(time.time() + wait))
            limit = str(LIMITS.get(self._endpoint(request), DEFAULT_LIMIT))
            headers = {"x-rate-limit-limit": limit, "x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
        elif status == 503 and fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return SandboxResponse.json(status, FAULT_BODIES[status], headers)

    def internal_error(self) -> SandboxResponse:
        return SandboxResponse.json(500, FAULT_BODIES[500])

    # ---- OAuth -----------------------------------------------------------------------------

    def _authorize(self, request: SandboxRequest) -> SandboxResponse:
        if request.param("response_type") != "code":
            return _page(400, "response_type must be code")
        scopes = (request.param("scope") or "").split()
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            return _page(400, "Something went wrong: invalid scope")
        if not request.param("state"):
            return _page(400, "Something went wrong: state is required")
        method = request.param("code_challenge_method")
        if request.param("code_challenge") and method not in ("S256", "plain"):
            return _page(400, "Something went wrong: code_challenge_method must be S256 or plain")
        return self.oauth.authorize(request)

    def _token(self, request: SandboxRequest) -> SandboxResponse:
        if request.method != "POST":
            raise ApiError(405, {"title": "Method Not Allowed", "type": "about:blank", "status": 405})
        client_id, client_secret = basic_auth(request)
        try:
            self.oauth.check_client(client_id, client_secret)
        except OAuthError:
            raise ApiError(401, dict(UNAUTHORIZED_CLIENT)) from None
        if "application/x-www-form-urlencoded" not in (request.header("content-type") or ""):
            raise ApiError(400, {"error": "invalid_request", "error_description": "Unsupported Content-Type."})
        params = form(request)
        if params.get("client_id") not in (None, client_id):
            raise ApiError(401, dict(UNAUTHORIZED_CLIENT))
        grant_type = params.get("grant_type")
        now = time.time()
        if grant_type == "authorization_code":
            for name in ("code", "redirect_uri", "code_verifier"):
                if not params.get(name):
                    raise ApiError(
                        400, {"error": "invalid_request", "error_description": f"Missing required parameter [{name}]."}
                    )
            try:
                grant = self.oauth.redeem(
                    params["code"], redirect_uri=params["redirect_uri"], code_verifier=params["code_verifier"]
                )
            except OAuthError:
                raise ApiError(400, dict(INVALID_CODE)) from None
            issued = self.oauth.issue(grant.user, grant.scopes, refresh="offline.access" in grant.scopes)
        elif grant_type == "refresh_token":
            if not params.get("refresh_token"):
                raise ApiError(
                    400,
                    {"error": "invalid_request", "error_description": "Missing required parameter [refresh_token]."},
                )
            try:
                issued = self.oauth.refresh(params["refresh_token"])
            except OAuthError:
                raise ApiError(400, dict(INVALID_TOKEN)) from None
        else:
            raise ApiError(
                400, {"error": "invalid_request", "error_description": "Value passed for the grant_type was invalid."}
            )
        answer: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": issued.expires_in(now),
            "access_token": issued.access.value,
            "scope": " ".join(issued.access.scopes),
        }
        if issued.refresh is not None:
            answer["refresh_token"] = issued.refresh.value
        return SandboxResponse.json(200, answer)

    def _revoke(self, request: SandboxRequest) -> SandboxResponse:
        client_id, client_secret = basic_auth(request)
        try:
            self.oauth.check_client(client_id, client_secret)
        except OAuthError:
            raise ApiError(401, dict(UNAUTHORIZED_CLIENT)) from None
        token = self.oauth.tokens.get(form(request).get("token") or "")
        if token is not None:
            token.revoked = True
        return SandboxResponse.json(200, {"revoked": True})

    # ---- the API ---------------------------------------------------------------------------

    @staticmethod
    def _endpoint(request: SandboxRequest) -> str:
        parts = [p for p in request.path.split("/") if p]
        if len(parts) == 4 and parts[:2] == ["2", "users"] and parts[3] == "tweets":
            return "GET /2/users/:id/tweets"
        if parts[:3] == ["2", "media", "upload"]:
            return f"{request.method} /2/media/upload"
        return f"{request.method} {request.path}"

    def _api(self, request: SandboxRequest) -> SandboxResponse:
        try:
            token = self.oauth.access(bearer(request))
        except OAuthError:
            raise ApiError(401, dict(UNAUTHORIZED)) from None
        user = USERS[token.user]
        endpoint = self._endpoint(request)
        now = time.time()
        window = self.windows.setdefault(
            (user.key, endpoint),
            _Window(
                self.tweet_limit if endpoint == "POST /2/tweets" else LIMITS.get(endpoint, DEFAULT_LIMIT),
                WINDOW_SECONDS,
            ),
        )
        if not window.take(now):
            raise ApiError(429, dict(TOO_MANY), window.headers("x-rate-limit", now))
        headers = window.headers("x-rate-limit", now)
        if endpoint == "POST /2/tweets":
            daily = self.windows.setdefault((user.key, "24h"), _Window(TWEETS_PER_DAY, DAY_SECONDS))
            if not daily.take(now):
                raise ApiError(429, dict(TOO_MANY), {**headers, **daily.headers("x-user-limit-24hour", now)})
            headers.update(daily.headers("x-user-limit-24hour", now))
        try:
            response = self._route(request, endpoint, user, set(token.scopes))
        except ApiError as exc:
            exc.headers = {**headers, **exc.headers}
            raise
        response.headers.update(headers)
        return response

    def _route(self, request: SandboxRequest, endpoint: str, user: XUser, scopes: set[str]) -> SandboxResponse:
        parts = [p for p in request.path.split("/") if p]
        if endpoint == "GET /2/users/me":
            _require(scopes, "tweet.read", "users.read")
            return self._me(request, user)
        if endpoint == "GET /2/users/:id/tweets":
            _require(scopes, "tweet.read", "users.read")
            return self._user_tweets(request, parts[2])
        if endpoint == "POST /2/tweets":
            _require(scopes, "tweet.read", "tweet.write", "users.read")
            return self._create_tweet(request, user)
        if endpoint == "POST /2/media/metadata":
            _require(scopes, "media.write")
            return self._metadata(request, user)
        if endpoint == "POST /2/media/upload":
            _require(scopes, "media.write")
            if parts == ["2", "media", "upload"]:
                return self._simple_upload(request, user)
            if parts == ["2", "media", "upload", "initialize"]:
                return self._initialize(request, user)
            if len(parts) == 5 and parts[4] == "append":
                return self._append(request, user, parts[3])
            if len(parts) == 5 and parts[4] == "finalize":
                return self._finalize(user, parts[3])
        if endpoint == "GET /2/media/upload" and parts == ["2", "media", "upload"]:
            _require(scopes, "media.write")
            return self._status(request, user)
        raise ApiError(404, dict(NOT_FOUND, detail=f"Could not find {request.method} {request.path}"))

    # ---- users -----------------------------------------------------------------------------

    @staticmethod
    def _me(request: SandboxRequest, user: XUser) -> SandboxResponse:
        fields = set((request.param("user.fields") or "").split(","))
        data: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
        if "profile_image_url" in fields:
            data["profile_image_url"] = user.profile_image_url
        if "verified" in fields:
            data["verified"] = False
        if "verified_type" in fields:
            data["verified_type"] = "none"
        return SandboxResponse.json(200, {"data": data})

    def _user_tweets(self, request: SandboxRequest, user_id: str) -> SandboxResponse:
        if user_id not in USERS_BY_ID:
            if not user_id.isdigit():
                raise _invalid(f"The `id` query parameter value [{user_id}] is not valid", id=[user_id])
            return SandboxResponse.json(
                200,
                {"errors": [{"value": user_id, "detail": f"Could not find user with id: [{user_id}].", **NOT_FOUND}]},
            )
        raw_max = request.param("max_results") or "10"
        if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
            raise _invalid(
                f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100", max_results=[raw_max]
            )
        tweets = [t for t in reversed(self.records.items("post")) if t["authorId"] == user_id]
        for name in ("start_time", "end_time"):
            value = request.param(name)
            if value:
                at = _timestamp(value)
                if at is None:
                    raise _invalid(f"Invalid '{name}':'{value}'.", **{name: [value]})
                after = name == "start_time"
                tweets = [t for t in tweets if (t["createdAtUnix"] >= at if after else t["createdAtUnix"] <= at)]
        offset = 0
        page_token = request.param("pagination_token")
        if page_token:
            try:
                offset = int(base64.urlsafe_b64decode(page_token.encode()).decode().removeprefix("o:"))
            except (ValueError, binascii.Error, UnicodeDecodeError):
                raise _invalid(
                    f"The `pagination_token` query parameter value [{page_token}] is not valid",
                    pagination_token=[page_token],
                ) from None
        page = tweets[offset : offset + int(raw_max)]
        fields = set((request.param("tweet.fields") or "").split(","))
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if offset + len(page) < len(tweets):
            meta["next_token"] = base64.urlsafe_b64encode(f"o:{offset + len(page)}".encode()).decode()
        if not page:
            return SandboxResponse.json(200, {"meta": meta})
        return SandboxResponse.json(200, {"data": [_tweet_view(t, fields) for t in page], "meta": meta})

    # ---- posts -----------------------------------------------------------------------------

    def _create_tweet(self, request: SandboxRequest, user: XUser) -> SandboxResponse:
        body = _json_body(request)
        unknown = sorted(set(body) - TWEET_FIELDS)
        if unknown:
            raise _invalid(f"The `{unknown[0]}` field is not allowed", **{unknown[0]: []})
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            raise _invalid("`text` must be a string", text=[])
        media_ids = self._tweet_media(body.get("media"), user)
        if not text and not media_ids:
            raise _invalid("Post text is empty and no media was attached.", text=[])
        if user.suspended:
            raise ApiError(403, dict(FORBIDDEN))
        text = text or ""
        if weighted_length(text) > MAX_WEIGHTED_LENGTH:
            raise ApiError(403, dict(TOO_LONG))
        if any(t["authorId"] == user.id and t["rawText"] == text for t in self.records.items("post")):
            raise ApiError(403, dict(DUPLICATE))
        tweet_id = self._new_id()
        stored = _stored_text(text, bool(media_ids))
        now = time.time()
        media = [self.media[m] for m in media_ids]
        self.records.put(
            tweet_id,
            "post",
            {
                "id": tweet_id,
                "text": stored,
                "rawText": text,
                "authorId": user.id,
                "username": user.username,
                "createdAt": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "createdAtUnix": now,
                "mediaIds": media_ids,
                "mediaKeys": [m.key for m in media],
                "media": [
                    {
                        "id": m.id,
                        "mediaKey": m.key,
                        "category": m.category,
                        "contentType": m.sniffed_type,
                        "size": len(m.data or b""),
                        "altText": m.alt_text,
                    }
                    for m in media
                ],
                "url": f"https://x.com/{user.username}/status/{tweet_id}",
            },
        )
        return SandboxResponse.json(
            201, {"data": {"id": tweet_id, "text": stored, "edit_history_tweet_ids": [tweet_id]}}
        )

    def _tweet_media(self, spec: Any, user: XUser) -> list[str]:
        if spec is None:
            return []
        ids = spec.get("media_ids") if isinstance(spec, dict) else None
        if not isinstance(ids, list) or not 1 <= len(ids) <= 4 or not all(isinstance(i, str) for i in ids):
            raise _invalid("`media.media_ids` must be a list of 1 to 4 media ids", **{"media.media_ids": []})
        now = time.time()
        usable: list[Media] = []
        for media_id in ids:
            media = self.media.get(media_id)
            if media is None:
                raise _invalid("Your media IDs are invalid.", **{"media.media_ids": [media_id]})
            ok = (
                media.owner == user.key
                and media.data is not None
                and now < media.created_at + MEDIA_TTL_SECONDS
                and media.processing_state(self.processing_polls) == "succeeded"
            )
            if not ok:
                raise _invalid("Your media IDs are invalid.", **{"media.media_ids": [media_id]})
            usable.append(media)
        if len(usable) > 1 and any(m.category != "tweet_image" for m in usable):
            raise _invalid("Your media IDs are invalid.", **{"media.media_ids": ids})
        return list(ids)

    # ---- media -----------------------------------------------------------------------------

    def _new_media(self, user: XUser, category: str, media_type: str, total_bytes: int) -> Media:
        if category not in CATEGORY_LIMITS:
            raise _invalid(f"The `media_category` value [{category}] is not valid", media_category=[category])
        if total_bytes > CATEGORY_LIMITS[category]:
            raise _invalid(
                f"The media size [{total_bytes}] exceeds the limit for `{category}`", total_bytes=[str(total_bytes)]
            )
        media = Media(self._new_id(), user.key, category, media_type, total_bytes, time.time())
        self.media[media.id] = media
        return media

    def _simple_upload(self, request: SandboxRequest, user: XUser) -> SandboxResponse:
        fields = request.multipart()
        if fields is None or "media" not in fields:
            raise _invalid("The `media` field is required", media=[])
        data = fields["media"]
        category = fields.get("media_category", b"tweet_image").decode("utf-8", "replace")
        sniffed = sniff(data).content_type
        if category != "tweet_image" or sniffed is None or not sniffed.startswith("image/"):
            raise _invalid("Simple upload takes images (media_category tweet_image) only.", media_category=[category])
        media = self._new_media(user, category, sniffed, len(data))
        media.data, media.sniffed_type = data, sniffed
        return SandboxResponse.json(200, {"data": self._media_view(media)})

    def _initialize(self, request: SandboxRequest, user: XUser) -> SandboxResponse:
        body = _json_body(request)
        media_type, total, category = body.get("media_type"), body.get("total_bytes"), body.get("media_category")
        if not isinstance(media_type, str) or not media_type:
            raise _invalid("The `media_type` field is required", media_type=[])
        if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
            raise _invalid("The `total_bytes` field must be a positive integer", total_bytes=[str(total)])
        if not isinstance(category, str):
            category = "tweet_video" if media_type.startswith("video/") else "tweet_image"
        media = self._new_media(user, category, media_type, total)
        return SandboxResponse.json(
            200, {"data": {"id": media.id, "media_key": media.key, "expires_after_secs": MEDIA_TTL_SECONDS}}
        )

    def _owned(self, user: XUser, media_id: str) -> Media:
        media = self.media.get(media_id)
        if media is None or media.owner != user.key or time.time() >= media.created_at + MEDIA_TTL_SECONDS:
            raise _invalid(f"The `media_id` value [{media_id}] is not valid", media_id=[media_id])
        return media

    def _append(self, request: SandboxRequest, user: XUser, media_id: str) -> SandboxResponse:
        media = self._owned(user, media_id)
        fields = request.multipart()
        if fields is None or "media" not in fields:
            raise _invalid("The `media` field is required", media=[])
        raw_index = fields.get("segment_index", b"").decode("ascii", "replace")
        if not raw_index.isdigit() or int(raw_index) >= SEGMENTS_MAX:
            raise _invalid(f"The `segment_index` value [{raw_index}] is not valid", segment_index=[raw_index])
        if media.data is not None:
            raise _invalid("The media is already finalized", media_id=[media_id])
        media.segments[int(raw_index)] = fields["media"]
        return SandboxResponse.json(200, {"data": {"expires_at": int(media.created_at + MEDIA_TTL_SECONDS)}})

    def _finalize(self, user: XUser, media_id: str) -> SandboxResponse:
        media = self._owned(user, media_id)
        if media.data is None:
            data = b"".join(media.segments[i] for i in sorted(media.segments))
            if len(data) != media.total_bytes:
                raise _invalid(
                    f"File size mismatch: got {len(data)} bytes, expected {media.total_bytes}", media_id=[media_id]
                )
            media.data, media.sniffed_type, media.segments = data, sniff(data).content_type, {}
        return SandboxResponse.json(200, {"data": self._media_view(media)})

    def _status(self, request: SandboxRequest, user: XUser) -> SandboxResponse:
        if request.param("command") != "STATUS":
            raise _invalid("The `command` query parameter must be STATUS", command=[request.param("command") or ""])
        media = self._owned(user, request.param("media_id") or "")
        if media.data is None:
            raise _invalid("The media is not finalized", media_id=[media.id])
        media.polls += 1
        return SandboxResponse.json(200, {"data": self._media_view(media)})

    def _media_view(self, media: Media) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": media.id,
            "media_key": media.key,
            "size": len(media.data or b""),
            "expires_after_secs": max(0, int(media.created_at + MEDIA_TTL_SECONDS - time.time())),
        }
        if media.needs_processing:
            state = media.processing_state(self.processing_polls)
            info: dict[str, Any] = {"state": state}
            if state in ("pending", "in_progress"):
                info["check_after_secs"] = self.check_after_secs
                info["progress_percent"] = min(99, 100 * media.polls // max(1, self.processing_polls))
            elif state == "failed":
                info["error"] = {
                    "code": 1,
                    "name": "InvalidMedia",
                    "message": "Invalid or Unsupported media, Reason: UnsupportedMedia.",
                }
            else:
                info["progress_percent"] = 100
            view["processing_info"] = info
        return view

    def _metadata(self, request: SandboxRequest, user: XUser) -> SandboxResponse:
        body = _json_body(request)
        media_id = body.get("id")
        if not isinstance(media_id, str):
            raise _invalid("The `id` field is required", id=[])
        media = self._owned(user, media_id)
        metadata = body.get("metadata")
        alt = metadata.get("alt_text") if isinstance(metadata, dict) else None
        text = alt.get("text") if isinstance(alt, dict) else None
        if not isinstance(text, str) or not text:
            raise _invalid("`metadata.alt_text.text` is required", **{"metadata.alt_text.text": []})
        if len(text) > ALT_TEXT_MAX:
            raise _invalid(
                f"`metadata.alt_text.text` is longer than {ALT_TEXT_MAX} characters", **{"metadata.alt_text.text": []}
            )
        media.alt_text = text
        return SandboxResponse.json(
            200, {"data": {"id": media.id, "associated_metadata": {"alt_text": {"text": text}}}}
        )


# ---- helpers -----------------------------------------------------------------------------------


def _require(granted: set[str], *scopes: str) -> None:
    if any(scope not in granted for scope in scopes):
        raise ApiError(403, dict(FORBIDDEN))


def _json_body(request: SandboxRequest) -> dict[str, Any]:
    body = request.json_object()
    if body is None:
        raise ApiError(400, invalid_request("The request body is not a JSON object"))
    return body


def _timestamp(value: str) -> float | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def _tco() -> str:
    return "https://t.co/" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(10))


def _stored_text(text: str, with_media: bool) -> str:
    """The text as X keeps it: each link wrapped in t.co, a t.co link for the media, ``&<>`` escaped."""
    parts, position = [], 0
    for start, end in url_spans(text):
        parts += [html.escape(text[position:start], quote=False), _tco()]
        position = end
    parts.append(html.escape(text[position:], quote=False))
    stored = "".join(parts)
    return f"{stored} {_tco()}".strip() if with_media else stored


def _tweet_view(tweet: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    view: dict[str, Any] = {"id": tweet["id"], "text": tweet["text"], "edit_history_tweet_ids": [tweet["id"]]}
    if "created_at" in fields:
        view["created_at"] = tweet["createdAt"]
    if "author_id" in fields:
        view["author_id"] = tweet["authorId"]
    if "attachments" in fields and tweet["mediaKeys"]:
        view["attachments"] = {"media_keys": list(tweet["mediaKeys"])}
    return view


def _page(status: int, message: str) -> SandboxResponse:
    return html_page(status, "X", message)

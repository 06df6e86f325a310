"""Simulated LinkedIn under ``/linkedin/...`` (PLATFORMS.md §5 and §8): one prefix serves the
hosts the real one spreads over (``www.linkedin.com`` for OAuth and uploads,
``api.linkedin.com`` for the API).

- OAuth 2: ``GET /oauth/v2/authorization`` (consents at once: 302 to ``redirect_uri`` with
  ``code`` and ``state``), ``POST /oauth/v2/accessToken`` (form with ``client_id`` /
  ``client_secret``; 60-day access tokens; refresh tokens only for the ``partner`` fixture, as
  LinkedIn gives them only to approved partner apps, with a fixed 365-day lifetime).
- ``GET /v2/userinfo`` (OpenID): the member behind the token.
- Versioned REST (``Linkedin-Version`` + ``X-Restli-Protocol-Version: 2.0.0`` required):
  ``POST /rest/posts`` (201, EMPTY body, URN in ``x-restli-id``), the Images API and the Videos
  API (``initializeUpload`` / upload URLs on this origin under ``/dms-uploads/`` /
  ``finalizeUpload`` / status reads).

Posts are checked as LinkedIn checks them: the author must be the token's member, commentary is
parsed as "little text" (an unescaped reserved character silently cuts the text there, as on
LinkedIn), 3,000 characters at most, media must be the author's and AVAILABLE, and a post whose
text repeats one of the member's earlier posts is refused with 422 ``DUPLICATE_POST`` naming that
post. Fixture members and fault bodies: README.md "LinkedIn".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from crosspost.media import sniff
from crosspost.platforms.text import grapheme_count
from local.sandbox.core import Fault, SandboxRequest, SandboxResponse, Setting, html_page
from local.sandbox.oauth import OAuthError, OAuthProvider, OAuthSandbox, bearer, form

ACCESS_TTL_SECONDS: Final = 60 * 24 * 3600  # 5,184,000 s, as LinkedIn
REFRESH_TTL_SECONDS: Final = 365 * 24 * 3600
EXPIRING_TTL_SECONDS: Final = 3 * 24 * 3600  # the "expiring" fixture: tokenStatus expiring_soon
CODE_TTL_SECONDS: Final = 30 * 60
VIDEO_PROCESSING_SECONDS: Final = 0.5
# Versions older than this are sunset (426); newer than the current month do not exist yet.
OLDEST_ACTIVE_VERSION: Final = "202508"
COMMENTARY_MAX: Final = 3000
ALT_TEXT_MAX: Final = 4086
IMAGE_MAX_PIXELS: Final = 36_152_320
VIDEO_MIN_BYTES: Final = 75 * 1024
VIDEO_MAX_BYTES: Final = 500 * 1024 * 1024
VIDEO_PART_BYTES: Final = 4 * 1024 * 1024
KNOWN_SCOPES: Final = frozenset(
    {"openid", "profile", "email", "w_member_social", "r_basicprofile", "w_organization_social"}
)
RESERVED: Final = frozenset("\\<>#~_|[]*(){}@")
POST_FIELDS: Final = frozenset(
    {
        "author",
        "commentary",
        "visibility",
        "distribution",
        "content",
        "lifecycleState",
        "isReshareDisabledByAuthor",
        "contentLandingPage",
        "contentCallToActionLabel",
        "container",
        "reshareContext",
    }
)

# ---- the real bodies ----------------------------------------------------------------------------

TOKEN_ERRORS: Final = {
    "invalid_token": (65600, "INVALID_ACCESS_TOKEN", "Invalid access token"),
    "revoked_token": (65601, "REVOKED_ACCESS_TOKEN", "The token used in the request has been revoked by the user"),
    "expired_token": (65602, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired"),
}
EMPTY_TOKEN: Final = {
    "status": 401,
    "serviceErrorCode": 65604,
    "code": "EMPTY_ACCESS_TOKEN",
    "message": "Empty oauth2 access token",
}
CODE_REFUSED: Final = {
    "error": "invalid_request",
    "error_description": "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
    "authorization code. Or authorization code expired. Or external member binding exists",
}
CLIENT_REFUSED: Final = {"error": "invalid_client", "error_description": "Client authentication failed"}
REFRESH_REFUSED: Final = {
    "error": "invalid_request",
    "error_description": "The provided refresh token is invalid, expired or revoked",
}
BAD_REQUEST: Final = "com.linkedin.content.common.exception.BadRequestResponseException"
THROTTLED: Final = {
    "status": 429,
    "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
}


@dataclass(frozen=True)
class Member:
    key: str  # fixture name (``sandbox_user``)
    sub: str
    given_name: str
    family_name: str
    email: str
    picture: str | None

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def urn(self) -> str:
        return f"urn:li:person:{self.sub}"


MEMBERS: Final = {
    m.key: m
    for m in (
        Member(
            "member",
            "sbxMorgan01",
            "Morgan",
            "Lee",
            "morgan@sandbox.test",
            "https://media.licdn.com/dms/image/v2/sandbox/profile-displayphoto-shrink_100_100/morgan",
        ),
        Member(
            "partner",
            "sbxPat02",
            "Pat",
            "Partner",
            "pat@sandbox.test",
            "https://media.licdn.com/dms/image/v2/sandbox/profile-displayphoto-shrink_100_100/pat",
        ),
        Member("expiring", "sbxEvan03", "Evan", "Expiring", "evan@sandbox.test", None),
    )
}


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("message") or body.get("error"))
        self.status, self.body, self.headers = status, body, headers or {}

    def response(self) -> SandboxResponse:
        return SandboxResponse.json(self.status, self.body, self.headers)


def _status_error(status: int, code: str, message: str, service_code: int | None = None) -> ApiError:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    return ApiError(status, body)


def _input_error(status: int, message: str, code: str, description: str, path: str | None = None) -> ApiError:
    """The Rest.li validation shape (duplicates, invalid or unpermitted fields)."""
    entry: dict[str, Any] = {"description": description, "input": {}, "code": code}
    if path is not None:
        entry["input"] = {"inputPath": {"fieldPath": path}}
    return ApiError(
        status,
        {
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": message,
            "errorDetails": {"inputErrors": [entry]},
            "status": status,
        },
    )


def _invalid(path: str, description: str, code: str = "INVALID_VALUE") -> ApiError:
    return _input_error(422, f"{description} [{path}]", code, description, path)


def _denied(resource: str, method: str, version: str) -> ApiError:
    return _status_error(
        403, "ACCESS_DENIED", f"Not enough permissions to access: {resource}.{method}.{version}01", 100
    )


# ---- little text ---------------------------------------------------------------------------------

_TAG: Final = re.compile(r"[^\W_]+")
_MENTION: Final = re.compile(r"@\[([^\]\\]*)\]\((urn:li:(?:person|organization):[A-Za-z0-9_-]+)\)")
_HASHTAG_TEMPLATE: Final = re.compile(r"\{hashtag\|\\#\|([^\W_]+)\}")


@dataclass(frozen=True)
class Little:
    text: str  # what LinkedIn shows
    hashtags: tuple[str, ...]
    mentions: tuple[str, ...]
    truncated: bool  # an unescaped reserved character cut the text


def parse_little(commentary: str) -> Little:
    """LinkedIn's "little text": ``\\x`` is a literal x, ``#tag`` a hashtag, ``@[Name](urn)`` a
    mention, ``{hashtag|\\#|tag}`` a hashtag template; any other unescaped reserved character
    ends the text there (silently, as LinkedIn does)."""
    out: list[str] = []
    hashtags: list[str] = []
    mentions: list[str] = []
    i = 0
    while i < len(commentary):
        char = commentary[i]
        if char == "\\" and i + 1 < len(commentary):
            out.append(commentary[i + 1])
            i += 2
            continue
        if char == "#" and (tag := _TAG.match(commentary, i + 1)) is not None:
            out.append("#" + tag.group(0))
            hashtags.append(tag.group(0))
            i = tag.end()
            continue
        if char == "@" and (mention := _MENTION.match(commentary, i)) is not None:
            out.append(mention.group(1))
            mentions.append(mention.group(2))
            i = mention.end()
            continue
        if char == "{" and (template := _HASHTAG_TEMPLATE.match(commentary, i)) is not None:
            out.append("#" + template.group(1))
            hashtags.append(template.group(1))
            i = template.end()
            continue
        if char in RESERVED:
            return Little("".join(out), tuple(hashtags), tuple(mentions), True)
        out.append(char)
        i += 1
    return Little("".join(out), tuple(hashtags), tuple(mentions), False)


# ---- state ---------------------------------------------------------------------------------------


@dataclass
class Image:
    urn: str
    owner: str
    upload_token: str
    status: str = "WAITING_UPLOAD"
    content_type: str | None = None
    size: int = 0
    width: int | None = None
    height: int | None = None


@dataclass
class Video:
    urn: str
    owner: str
    size: int
    upload_token: str
    parts: list[tuple[int, int]]
    etags: list[str | None]
    data: dict[int, bytes] = field(default_factory=dict)
    finalized_at: float | None = None
    failure: str | None = None

    def status(self, now: float, processing_seconds: float) -> str:
        if self.finalized_at is None:
            return "WAITING_UPLOAD"
        if now < self.finalized_at + processing_seconds:
            return "PROCESSING"
        return "PROCESSING_FAILED" if self.failure else "AVAILABLE"


def _asset_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(15).replace("-", "x").replace("_", "y")


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _page(status: int, message: str) -> SandboxResponse:
    return html_page(status, "LinkedIn", message)


def _fault_bodies() -> dict[int, dict[str, Any]]:
    """What a fault's status answers (429: LinkedIn sends no rate-limit headers, no Retry-After)."""
    code, name, message = TOKEN_ERRORS["invalid_token"]
    invalid = _input_error(
        400,
        f"{BAD_REQUEST}: Content is invalid (sandbox fault 400)",
        "INVALID_CONTENT",
        "Invalid content",
        "/commentary",
    )
    return {
        400: invalid.body,
        401: {"status": 401, "serviceErrorCode": code, "code": name, "message": message},
        429: THROTTLED,
        500: {"status": 500, "message": "Internal Server Error"},
        503: {"status": 503, "message": "Service Unavailable"},
    }


FAULT_BODIES: Final = _fault_bodies()


# ---- the platform --------------------------------------------------------------------------------


class LinkedInSandbox(OAuthSandbox):
    name = "linkedin"
    own_settings = {"videoProcessingSeconds": Setting("processing_seconds")}

    def __init__(self) -> None:
        self._id_secret = secrets.token_bytes(32)
        super().__init__(
            OAuthProvider(
                "linkedin",
                tuple(MEMBERS),
                access_ttl=ACCESS_TTL_SECONDS,
                refresh_ttl=REFRESH_TTL_SECONDS,
                code_ttl=CODE_TTL_SECONDS,
                rotate_refresh=False,  # the same refresh token comes back; its lifetime is not extended
            )
        )

    def reset_state(self) -> None:
        self.images: dict[str, Image] = {}
        self.videos: dict[str, Video] = {}
        self.by_text: dict[tuple[str, str], str] = {}  # (author, shown text) → post URN
        self.processing_seconds = VIDEO_PROCESSING_SECONDS
        self._last_id = 0

    def _post_id(self) -> int:
        """Like LinkedIn's: milliseconds since the epoch in the top bits (``id >> 22``)."""
        candidate = (time.time_ns() // 1_000_000) << 22 | secrets.randbelow(1 << 12)
        self._last_id = max(candidate, self._last_id + 1)
        return self._last_id

    # ---- dispatch ------------------------------------------------------------------------

    def is_publishing_call(self, request: SandboxRequest) -> bool:
        if request.method == "PUT" and request.path.startswith("/dms-uploads/"):
            return True
        if request.method != "POST":
            return False
        if request.path == "/rest/posts":
            return True
        return request.path in ("/rest/images", "/rest/videos") and request.param("action") in (
            "initializeUpload",
            "finalizeUpload",
        )

    def describe_call(self, request: SandboxRequest) -> dict[str, Any]:
        if request.path == "/rest/posts":
            return {"call": "createPost"}
        if request.path.startswith("/dms-uploads/"):
            return {"call": "upload"}
        return {"call": f"{request.path.rsplit('/', 1)[-1]}.{request.param('action')}"}

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        path, method = request.path, request.method
        try:
            with self.lock:
                if path == "/oauth/v2/authorization" and method == "GET":
                    return self._authorize(request)
                if path == "/oauth/v2/accessToken":
                    if method != "POST":
                        raise ApiError(405, {"error": "invalid_request", "error_description": "Use POST"})
                    return self._token(request)
                if path == "/v2/userinfo" and method == "GET":
                    return self._userinfo(request)
                if path.startswith("/dms-uploads/") and method == "PUT":
                    return self._upload(request)
                if path.startswith("/rest/"):
                    return self._rest(request)
            raise _status_error(404, "RESOURCE_NOT_FOUND", f"No virtual resource found: {path}")
        except ApiError as exc:
            return exc.response()

    def _rest(self, request: SandboxRequest) -> SandboxResponse:
        version = self._version(request)
        parts = [p for p in request.path.split("/") if p][1:]
        method, action = request.method, request.param("action")
        if parts == ["posts"] and method == "POST":
            return self._create_post(request, version)
        if parts == ["images"] and method == "POST" and action == "initializeUpload":
            return self._init_image(request, version)
        if parts == ["videos"] and method == "POST" and action == "initializeUpload":
            return self._init_video(request, version)
        if parts == ["videos"] and method == "POST" and action == "finalizeUpload":
            return self._finalize_video(request, version)
        if len(parts) == 2 and parts[0] == "images" and method == "GET":
            return self._get_image(request, version, parts[1])
        if len(parts) == 2 and parts[0] == "videos" and method == "GET":
            return self._get_video(request, version, parts[1])
        raise _status_error(404, "RESOURCE_NOT_FOUND", f"No virtual resource found: {request.path}")

    def fault_response(self, fault: Fault, request: SandboxRequest) -> SandboxResponse:
        status = fault.status or 500
        return SandboxResponse.json(status, FAULT_BODIES[status])

    def internal_error(self) -> SandboxResponse:
        return SandboxResponse.json(500, FAULT_BODIES[500])

    # ---- OAuth -----------------------------------------------------------------------------

    def _authorize(self, request: SandboxRequest) -> SandboxResponse:
        if request.param("response_type") != "code":
            return _page(400, "response_type must be code")
        client_ok = request.param("client_id") == self.oauth.app["clientId"]
        redirect_uri = request.param("redirect_uri") or ""
        scopes = (request.param("scope") or "").split()
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if client_ok and urlsplit(redirect_uri).scheme in ("http", "https") and (unknown or not scopes):
            # LinkedIn sends the browser back with the error, like a declined consent.
            error = {
                "error": "unauthorized_scope_error" if unknown else "invalid_scope",
                "error_description": f'Scope "{unknown[0]}" is not authorized for your application'
                if unknown
                else "The requested scope is empty",
                "state": request.param("state") or "",
            }
            return SandboxResponse(
                302, b"", {"Location": f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(error)}"}
            )
        return self.oauth.authorize(request)

    def _token(self, request: SandboxRequest) -> SandboxResponse:
        if "application/x-www-form-urlencoded" not in (request.header("content-type") or ""):
            raise ApiError(
                400, {"error": "invalid_request", "error_description": "Content-Type must be form-urlencoded"}
            )
        params = form(request)
        for name in ("grant_type", "client_id", "client_secret"):
            if not params.get(name):
                raise ApiError(
                    400, {"error": "invalid_request", "error_description": f'A required parameter "{name}" is missing'}
                )
        try:
            self.oauth.check_client(params["client_id"], params["client_secret"])
        except OAuthError:
            raise ApiError(401, dict(CLIENT_REFUSED)) from None
        grant_type = params["grant_type"]
        if grant_type == "authorization_code":
            for name in ("code", "redirect_uri"):
                if not params.get(name):
                    raise ApiError(
                        400,
                        {"error": "invalid_request", "error_description": f'A required parameter "{name}" is missing'},
                    )
            try:
                grant = self.oauth.redeem(params["code"], redirect_uri=params["redirect_uri"])
            except OAuthError:
                raise ApiError(400, dict(CODE_REFUSED)) from None
            ttl: float | None = EXPIRING_TTL_SECONDS if grant.user == "expiring" else self.oauth.access_ttl
            issued = self.oauth.issue(
                grant.user, grant.scopes, access_ttl=ttl, refresh=grant.user == "partner", prefix="AQ"
            )
        elif grant_type == "refresh_token":
            try:
                issued = self.oauth.refresh(params.get("refresh_token"))
            except OAuthError:
                raise ApiError(400, dict(REFRESH_REFUSED)) from None
        else:
            raise ApiError(
                400, {"error": "unsupported_grant_type", "error_description": f"Unsupported grant type: {grant_type}"}
            )
        now = time.time()
        answer: dict[str, Any] = {
            "access_token": issued.access.value,
            "expires_in": issued.expires_in(now),
            "scope": ",".join(sorted(issued.access.scopes)),
            "token_type": "Bearer",
        }
        if issued.refresh is not None:
            answer["refresh_token"] = issued.refresh.value
            answer["refresh_token_expires_in"] = issued.refresh_expires_in(now)
        if "openid" in issued.access.scopes:
            answer["id_token"] = self._id_token(MEMBERS[issued.access.user], now)
        return SandboxResponse.json(200, answer)

    def _id_token(self, member: Member, now: float) -> str:
        def part(value: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

        head = part({"typ": "JWT", "alg": "HS256"})
        claims = {
            "iss": "https://www.linkedin.com/oauth",
            "aud": self.oauth.app["clientId"],
            "iat": int(now),
            "exp": int(now) + 3600,
            "sub": member.sub,
            "name": member.name,
            "email": member.email,
        }
        signing = f"{head}.{part(claims)}"
        signature = hmac.new(self._id_secret, signing.encode(), hashlib.sha256).digest()
        return f"{signing}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"

    def _member(
        self, request: SandboxRequest, scope: str | None = None, *, resource: str = "", version: str = ""
    ) -> Member:
        """The member behind the Bearer token (with ``scope``), or LinkedIn's 401/403."""
        token = bearer(request)
        if not token:
            raise ApiError(401, dict(EMPTY_TOKEN))
        try:
            found = self.oauth.access(token)
        except OAuthError as exc:
            code, name, message = TOKEN_ERRORS.get(exc.reason, TOKEN_ERRORS["invalid_token"])
            raise _status_error(401, name, message, code) from None
        if scope is not None and scope not in found.scopes:
            raise _denied(resource or "resource", request.method, version or "2026")
        return MEMBERS[found.user]

    def _userinfo(self, request: SandboxRequest) -> SandboxResponse:
        token = self.oauth.tokens.get(bearer(request) or "")
        member = self._member(request, "openid", resource="userinfoV2", version="2026")
        scopes = token.scopes if token else ()
        info: dict[str, Any] = {"sub": member.sub, "locale": {"country": "US", "language": "en"}}
        if "profile" in scopes:
            info.update(name=member.name, given_name=member.given_name, family_name=member.family_name)
            if member.picture:
                info["picture"] = member.picture
        if "email" in scopes:
            info.update(email=member.email, email_verified=True)
        return SandboxResponse.json(200, info)

    # ---- versions ----------------------------------------------------------------------------

    @staticmethod
    def _version(request: SandboxRequest) -> str:
        version = (request.header("linkedin-version") or "").strip()
        if not version:
            raise _status_error(
                400,
                "VERSION_MISSING",
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
            )
        current = datetime.now(UTC).strftime("%Y%m")
        if not re.fullmatch(r"\d{6}(\.\d{2})?", version) or not OLDEST_ACTIVE_VERSION <= version[:6] <= current:
            raise _status_error(426, "NONEXISTENT_VERSION", f"Requested version {version[:6]}01 is not active")
        if request.header("x-restli-protocol-version") != "2.0.0":
            # LinkedIn's answer differs by resource; the sandbox insists on the header everywhere.
            raise _status_error(
                400, "ILLEGAL_ARGUMENT", "X-Restli-Protocol-Version 2.0.0 is required for this resource"
            )
        return version[:6]

    # ---- posts -------------------------------------------------------------------------------

    def _create_post(self, request: SandboxRequest, version: str) -> SandboxResponse:
        member = self._member(request, "w_member_social", resource="partnerApiPostsExternal", version=version)
        body = _json_object(request)
        unknown = sorted(set(body) - POST_FIELDS)
        if unknown:
            raise _input_error(
                422,
                "Unpermitted fields present in REQUEST_BODY: Data Processing Exception while processing fields "
                f"[/{unknown[0]}]",
                "UNPERMITTED_FIELDS",
                "Unpermitted fields present in REQUEST_BODY",
                f"/{unknown[0]}",
            )
        for name in ("author", "visibility", "distribution", "lifecycleState"):
            if name not in body:
                raise _invalid(f"/{name}", f"Field /{name} is required", "FIELD_VALUE_MISSING")
        if body["author"] != member.urn:
            raise _denied("partnerApiPostsExternal", "CREATE", version)
        if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
            raise _invalid("/visibility", "Invalid visibility")
        if body["lifecycleState"] not in ("PUBLISHED", "DRAFT"):
            raise _invalid("/lifecycleState", "Invalid lifecycleState")
        distribution = body["distribution"]
        if not isinstance(distribution, dict) or distribution.get("feedDistribution") not in ("MAIN_FEED", "NONE"):
            raise _invalid("/distribution/feedDistribution", "Invalid feedDistribution")
        commentary = body.get("commentary", "")
        if not isinstance(commentary, str):
            raise _invalid("/commentary", "commentary must be a string")
        little = parse_little(commentary)
        if grapheme_count(little.text) > COMMENTARY_MAX:
            raise _invalid(
                "/commentary", f"commentary is longer than {COMMENTARY_MAX} characters", "MAX_LENGTH_EXCEEDED"
            )
        media = self._content(body.get("content"), member)
        kind = "ugcPost" if any(m["kind"] == "video" for m in media) else "share"
        if body["lifecycleState"] == "PUBLISHED" and little.text.strip():
            existing = self.by_text.get((member.urn, little.text))
            if existing is not None:
                raise _input_error(
                    422,
                    f"{BAD_REQUEST}: Content is a duplicate of {existing}",
                    "DUPLICATE_POST",
                    "Duplicate post is detected",
                )
        urn = f"urn:li:{kind}:{self._post_id()}"
        if body["lifecycleState"] == "PUBLISHED" and little.text.strip():
            self.by_text[(member.urn, little.text)] = urn
        self.records.put(
            urn,
            "post",
            {
                "urn": urn,
                "author": member.urn,
                "member": member.key,
                "commentary": commentary,
                "text": little.text,
                "truncated": little.truncated,
                "hashtags": list(little.hashtags),
                "mentions": list(little.mentions),
                "visibility": body["visibility"],
                "lifecycleState": body["lifecycleState"],
                "content": body.get("content"),
                "media": media,
                "linkedinVersion": version,
                "url": f"https://www.linkedin.com/feed/update/{urn}",
                "createdAt": _iso(time.time()),
            },
        )
        # 201 with an EMPTY body: the URN is only in the header.
        return SandboxResponse(201, b"", {"x-restli-id": urn, "x-linkedin-id": urn})

    def _content(self, content: Any, member: Member) -> list[dict[str, Any]]:
        if content is None:
            return []
        if not isinstance(content, dict) or len(content) != 1:
            raise _invalid("/content", "content must hold exactly one of media, multiImage, article")
        kind, value = next(iter(content.items()))
        if kind == "media":
            if not isinstance(value, dict) or not isinstance(value.get("id"), str):
                raise _invalid("/content/media/id", "media.id is required", "FIELD_VALUE_MISSING")
            return [self._asset(value, member, "/content/media")]
        if kind == "multiImage":
            images = value.get("images") if isinstance(value, dict) else None
            if not isinstance(images, list) or not 2 <= len(images) <= 20:
                raise _invalid("/content/multiImage/images", "multiImage takes 2 to 20 images")
            found = []
            for index, image in enumerate(images):
                path = f"/content/multiImage/images/{index}"
                if not isinstance(image, dict) or not str(image.get("id", "")).startswith("urn:li:image:"):
                    raise _invalid(f"{path}/id", "multiImage takes image URNs")
                found.append(self._asset(image, member, path))
            return found
        if kind == "article":
            source = value.get("source") if isinstance(value, dict) else None
            if not isinstance(source, str) or not source.startswith(("http://", "https://")):
                raise _invalid("/content/article/source", "article.source must be a URL")
            return [{"kind": "article", "source": source}]
        raise _invalid(f"/content/{kind}", f"Unsupported content type {kind}")

    def _asset(self, value: dict[str, Any], member: Member, path: str) -> dict[str, Any]:
        urn, alt = value["id"], value.get("altText")
        if alt is not None and (not isinstance(alt, str) or len(alt) > ALT_TEXT_MAX):
            raise _invalid(f"{path}/altText", f"altText must be a string of at most {ALT_TEXT_MAX} characters")
        image, video = self.images.get(urn), self.videos.get(urn)
        owner = image.owner if image else video.owner if video else None
        if owner is None:
            raise _invalid(f"{path}/id", f"Media {urn} does not exist")
        if owner != member.urn:
            raise _invalid(f"{path}/id", f"Media {urn} is not owned by {member.urn}", "INVALID_CONTENT_OWNERSHIP")
        if image is not None:
            if image.status != "AVAILABLE":
                raise _invalid(f"{path}/id", f"Image {urn} is {image.status}", "MEDIA_NOT_AVAILABLE")
            return {
                "kind": "image",
                "urn": urn,
                "altText": alt,
                "contentType": image.content_type,
                "size": image.size,
                "width": image.width,
                "height": image.height,
            }
        assert video is not None
        status = video.status(time.time(), self.processing_seconds)
        if status != "AVAILABLE":
            raise _invalid(f"{path}/id", f"Video {urn} is {status}", "MEDIA_NOT_AVAILABLE")
        return {"kind": "video", "urn": urn, "title": value.get("title"), "size": video.size}

    # ---- images ------------------------------------------------------------------------------

    def _init_image(self, request: SandboxRequest, version: str) -> SandboxResponse:
        member = self._member(request, "w_member_social", resource="images", version=version)
        spec = _json_object(request).get("initializeUploadRequest")
        owner = spec.get("owner") if isinstance(spec, dict) else None
        if not isinstance(owner, str):
            raise _invalid("/initializeUploadRequest/owner", "owner is required", "FIELD_VALUE_MISSING")
        if owner != member.urn:
            raise _denied("images", "EXECUTE", version)
        urn = f"urn:li:image:{_asset_id('D4E10AQ')}"
        token = secrets.token_urlsafe(18)
        self.images[urn] = Image(urn, owner, token)
        asset = urn.rsplit(":", 1)[1]
        upload_url = (
            f"{request.base_url}/dms-uploads/sp/v2/{asset}/uploaded-image/0?ca=vector_feedshare&cn=uploads&m={token}"
        )
        expires = int((time.time() + 3600) * 1000)
        return SandboxResponse.json(
            200, {"value": {"uploadUrlExpiresAt": expires, "uploadUrl": upload_url, "image": urn}}
        )

    def _get_image(self, request: SandboxRequest, version: str, urn: str) -> SandboxResponse:
        member = self._member(request, "w_member_social", resource="images", version=version)
        image = self.images.get(urn)
        if image is None or image.owner != member.urn:
            raise _status_error(404, "RESOURCE_NOT_FOUND", f"Image {urn} not found")
        return SandboxResponse.json(200, {"id": urn, "owner": image.owner, "status": image.status})

    # ---- videos ------------------------------------------------------------------------------

    def _init_video(self, request: SandboxRequest, version: str) -> SandboxResponse:
        member = self._member(request, "w_member_social", resource="videos", version=version)
        spec = _json_object(request).get("initializeUploadRequest")
        if not isinstance(spec, dict) or not isinstance(spec.get("owner"), str):
            raise _invalid("/initializeUploadRequest/owner", "owner is required", "FIELD_VALUE_MISSING")
        if spec["owner"] != member.urn:
            raise _denied("videos", "EXECUTE", version)
        size = spec.get("fileSizeBytes")
        if isinstance(size, bool) or not isinstance(size, int):
            raise _invalid("/initializeUploadRequest/fileSizeBytes", "fileSizeBytes is required", "FIELD_VALUE_MISSING")
        if not VIDEO_MIN_BYTES <= size <= VIDEO_MAX_BYTES:
            raise _invalid(
                "/initializeUploadRequest/fileSizeBytes",
                f"fileSizeBytes must be between {VIDEO_MIN_BYTES} and {VIDEO_MAX_BYTES}",
            )
        urn = f"urn:li:video:{_asset_id('D5610AQ')}"
        token = secrets.token_urlsafe(18)
        parts = [(start, min(size, start + VIDEO_PART_BYTES) - 1) for start in range(0, size, VIDEO_PART_BYTES)]
        self.videos[urn] = Video(urn, spec["owner"], size, token, parts, [None] * len(parts))
        asset = urn.rsplit(":", 1)[1]
        instructions = [
            {
                "uploadUrl": f"{request.base_url}/dms-uploads/sp/v2/{asset}/uploaded-video/{n}"
                f"?ca=vector_feedshare&cn=uploads&m={token}",
                "firstByte": first,
                "lastByte": last,
            }
            for n, (first, last) in enumerate(parts)
        ]
        expires = int((time.time() + 3600) * 1000)
        return SandboxResponse.json(
            200,
            {
                "value": {
                    "uploadUrlsExpireAt": expires,
                    "video": urn,
                    "uploadInstructions": instructions,
                    "uploadToken": "",
                    "thumbnailUploadUrl": "",
                    "captionsUploadUrl": "",
                }
            },
        )

    def _finalize_video(self, request: SandboxRequest, version: str) -> SandboxResponse:
        member = self._member(request, "w_member_social", resource="videos", version=version)
        spec = _json_object(request).get("finalizeUploadRequest")
        if not isinstance(spec, dict):
            raise _invalid("/finalizeUploadRequest", "finalizeUploadRequest is required", "FIELD_VALUE_MISSING")
        video = self.videos.get(str(spec.get("video")))
        if video is None or video.owner != member.urn:
            raise _status_error(404, "RESOURCE_NOT_FOUND", f"Video {spec.get('video')} not found")
        if spec.get("uploadToken", "") != "":
            raise _invalid("/finalizeUploadRequest/uploadToken", "uploadToken does not match")
        if None in video.etags or spec.get("uploadedPartIds") != video.etags:
            raise _invalid("/finalizeUploadRequest/uploadedPartIds", "uploadedPartIds do not match the uploaded parts")
        data = b"".join(video.data[n] for n in range(len(video.parts)))
        if sniff(data).content_type != "video/mp4":
            video.failure = "VIDEO_FORMAT_UNSUPPORTED"
        video.finalized_at = time.time()
        return SandboxResponse(200, b"")

    def _get_video(self, request: SandboxRequest, version: str, urn: str) -> SandboxResponse:
        member = self._member(request, "w_member_social", resource="videos", version=version)
        video = self.videos.get(urn)
        if video is None or video.owner != member.urn:
            raise _status_error(404, "RESOURCE_NOT_FOUND", f"Video {urn} not found")
        status = video.status(time.time(), self.processing_seconds)
        answer: dict[str, Any] = {"id": urn, "owner": video.owner, "status": status}
        if status == "PROCESSING_FAILED":
            answer["processingFailureReason"] = video.failure
        return SandboxResponse.json(200, answer)

    # ---- uploads -----------------------------------------------------------------------------

    def _upload(self, request: SandboxRequest) -> SandboxResponse:
        owner = self._member(request).urn
        parts = [p for p in request.path.split("/") if p]  # dms-uploads/sp/v2/{asset}/{kind}/{n}
        token = request.param("m")
        if len(parts) != 6 or not parts[5].isdigit():
            raise _status_error(404, "RESOURCE_NOT_FOUND", "Unknown upload URL")
        asset, kind, index = parts[3], parts[4], int(parts[5])
        if kind == "uploaded-image":
            image = self.images.get(f"urn:li:image:{asset}")
            if image is None or image.upload_token != token or image.owner != owner or index != 0:
                raise _status_error(400, "INVALID_UPLOAD", "The upload URL is not valid")
            found = sniff(request.body)
            image.size = len(request.body)
            image.content_type, image.width, image.height = found.content_type, found.width, found.height
            too_big = (found.width or 0) * (found.height or 0) > IMAGE_MAX_PIXELS
            image.status = (
                "AVAILABLE"
                if found.content_type in ("image/jpeg", "image/png", "image/gif") and not too_big
                else "PROCESSING_FAILED"
            )
            return SandboxResponse(201, b"")
        video = self.videos.get(f"urn:li:video:{asset}")
        if kind != "uploaded-video" or video is None or video.upload_token != token or video.owner != owner:
            raise _status_error(400, "INVALID_UPLOAD", "The upload URL is not valid")
        if not 0 <= index < len(video.parts) or video.finalized_at is not None:
            raise _status_error(400, "INVALID_UPLOAD", "The upload URL is not valid")
        first, last = video.parts[index]
        if len(request.body) != last - first + 1:
            raise _status_error(400, "INVALID_UPLOAD", f"Part {index} must be {last - first + 1} bytes")
        video.data[index] = request.body
        etag = f"/ambry-video/signedId/{secrets.token_urlsafe(24)}"
        video.etags[index] = etag
        return SandboxResponse(200, b"", {"ETag": etag})


def _json_object(request: SandboxRequest) -> dict[str, Any]:
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise _status_error(400, "ILLEGAL_ARGUMENT", "Unable to parse the request body as a JSON object")
    return body

"""Bluesky (AT Protocol XRPC): app-password login, token refresh, and idempotent publishing.

Facts used here are in PLATFORMS.md §1. The parts that matter for correctness:

- Auth is an app password exchanged for two JWTs (``createSession``). The refresh JWT rotates;
  when it dies too (revoked sessions), the stored app password logs in again, so a connection
  lasts until the user deletes the app password (``renews_indefinitely``).
- After login the account's own PDS (from the DID document) is used, not the entryway.
- Posts are written with ``putRecord`` at a record key *derived from the post id*
  (``crosspost.platforms.tid``) and a ``createdAt`` stored with the post, so the record is
  byte-identical on every attempt: a retry is a no-op on the platform (same uri/cid), never a
  second post. ``swapRecord: null`` makes it create-only; if a different record is already at
  our key, it is this post when its text and createdAt match (an earlier attempt won with, say,
  a mention that resolved then), else another post took the key and the next derived key is
  used (``_rkeys``).
- Failures are classified in one place (``classify_response``) from the HTTP status and the
  parsed ``error`` name, never from message text.
- Media arrive as bytes (``media_transfer="bytes"``; the publishing service fetches URL media).
  Images: up to 4 blobs via ``uploadBlob`` in an ``app.bsky.embed.images`` with alt text and
  aspect ratio. Video: one blob via ``uploadBlob`` on the account's PDS in an
  ``app.bsky.embed.video`` (the lexicon's path: any PDS accepts it, a self-hosted one and the
  sandbox included). Bluesky's own apps go through ``video.bsky.app`` instead (service auth,
  ``uploadVideo``, polling ``getJobStatus``): that service transcodes and enforces daily quotas,
  but it exists only for accounts on Bluesky's infrastructure and turns one upload into a job to
  poll, so it is not used. Bluesky's AppView processes a video blob it sees in a post itself;
  the PDS's upload limit (``PDS_BLOB_UPLOAD_LIMIT``) caps the size, and its 413 is
  ``bluesky.media.too_large``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from crosspost.clock import iso
from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    ErrorDetail,
    ForbiddenUrlError,
    PlatformError,
    PlatformUnavailableError,
    RateLimitedError,
    ValidationFailedError,
)
from crosspost.lazy_imports import lazy_module
from crosspost.media import sniff
from crosspost.observability import logger
from crosspost.platforms import rest
from crosspost.platforms.base import (
    Capabilities,
    ConnectedAccount,
    MediaItem,
    PlatformAdapter,
    PlatformConfig,
    PublishRequest,
    PublishResult,
    PublishWarning,
    TokenSet,
)
from crosspost.platforms.facets import detect_facets, facet_records, mention_handles
from crosspost.platforms.http import json_object, parsed_json
from crosspost.platforms.text import grapheme_count
from crosspost.platforms.tid import derive_tid

if TYPE_CHECKING:
    import httpx

    from crosspost.platforms import safe_http
else:  # loaded on first use: preflight reads this module without any HTTP (cold start)
    httpx = lazy_module("httpx")
    safe_http = lazy_module("crosspost.platforms.safe_http")

PLATFORM: Final = "bluesky"
DEFAULT_SERVICE: Final = "https://bsky.social"
POST_COLLECTION: Final = "app.bsky.feed.post"
PROFILE_COLLECTION: Final = "app.bsky.actor.profile"
IMAGE_MAX_BYTES: Final = 2_000_000  # app.bsky.embed.images blob maxSize (PLATFORMS.md §1.4)
# app.bsky.embed.video blob maxSize as the PDS releases in use validate it (100 MB, e.g. @atproto/pds
# 0.4; the newest lexicon allows 300 MB, which such a PDS refuses as "blob too big"): what every
# PDS accepts.
VIDEO_MAX_BYTES: Final = 100_000_000
VIDEO_MIME_TYPES: Final = frozenset({"video/mp4"})  # the video blob's accept list
VIDEO_ALT_MAX_GRAPHEMES: Final = 1000  # app.bsky.embed.video alt: maxGraphemes 1000
FIRST_COMMENT_SALT: Final = ":first-comment"
KEY_CANDIDATES: Final = 3
MAX_LANGS: Final = 3

_MESSAGE_MAX: Final = 300
_RESOLVE_CONCURRENCY: Final = 8
# Errors that mean "this token is no good": the caller refreshes once and retries.
_AUTH_ERRORS: Final = frozenset({"ExpiredToken", "InvalidToken", "AuthMissing", "AuthenticationRequired"})
# The account itself cannot act: refreshing will not help, the user has to sort it out.
_ACCOUNT_ERRORS: Final = frozenset({"AccountTakedown", "AccountDeactivated", "AccountSuspended"})
_RULES_400: Final = {
    "BlobTooLarge": "bluesky.media.too_large",
    "InvalidMimeType": "bluesky.media.mime_allowed",
    "InvalidSize": "bluesky.media.invalid",
    "BlobNotFound": "bluesky.media.invalid",
    "InvalidBlob": "bluesky.media.invalid",
    "InvalidSwap": "bluesky.record.conflict",
    "RecordNotFound": "bluesky.record.not_found",
    "HandleNotFound": "bluesky.handle.not_found",
}


# ---- classification ----------------------------------------------------------------------------


def _error_body(response: httpx.Response) -> dict[str, Any]:
    """The XRPC error body ``{"error", "message"}`` (only those two fields: never anything that
    could echo a request); ``{"status": N}`` when the body is not XRPC JSON."""
    parsed = parsed_json(response)
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        body: dict[str, Any] = {"error": parsed["error"]}
        if isinstance(parsed.get("message"), str):
            body["message"] = parsed["message"][:_MESSAGE_MAX]
        return body
    return {"status": response.status_code}


def _retry_after(response: httpx.Response, *, now: float | None = None) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds or an HTTP date), else ``RateLimit-Reset``
    (unix seconds) minus now."""
    current = time.time() if now is None else now
    given = rest.retry_after(response, current=current)
    if given is not None:
        return given
    reset = response.headers.get("RateLimit-Reset")
    if reset:
        try:
            return max(0.0, float(reset) - current)
        except ValueError:
            pass
    return None


def classify_response(response: httpx.Response) -> PlatformError:
    """Map a non-2xx XRPC response to the taxonomy, from the status and the ``error`` name.

    5xx is *unavailable* (retryable) even on the calls that write: every write this adapter
    makes is repeatable without a duplicate. ``putRecord`` goes to a record key derived from the
    post id with a byte-identical record (a repeat is a no-op), and blob uploads are
    content-addressed. That is safe ONLY because of the derived rkey: a ``createRecord`` with a
    server-chosen key would have to be "outcome unknown" instead.
    """
    status = response.status_code
    body = _error_body(response)
    name = body.get("error")
    detail = body.get("message") or name or f"HTTP {status}"
    common: dict[str, Any] = {"platform": PLATFORM, "platform_response": body}

    if status == 429 or name == "RateLimitExceeded":
        retry_after = _retry_after(response)
        wait = f" for {round(retry_after)} s" if retry_after is not None else ""
        return RateLimitedError(
            f"Bluesky is rate limiting this account; crosspost waits{wait} before trying again.",
            rule="bluesky.rate_limited",
            retry_after=retry_after,
            **common,
        )
    if name in _ACCOUNT_ERRORS:
        return AuthExpiredError(
            f"Bluesky says the account cannot post: {detail}",
            rule="bluesky.account.unavailable",
            remediation="Check the account's status on Bluesky, then reconnect it.",
            **common,
        )
    if status == 401 or (status == 400 and name in _AUTH_ERRORS):
        return AuthExpiredError(
            "Bluesky refused the session token.",
            rule="bluesky.auth.expired",
            remediation="Reconnect the account with a valid app password.",
            **common,
        )
    if status == 413 or name == "PayloadTooLarge":
        return ContentRejectedError(
            "Bluesky refused the upload as too large.", rule="bluesky.media.too_large", **common
        )
    # creates=False: every write here is repeatable (see above), so a 5xx is "try again"
    failed = rest.server_failure(status, platform=PLATFORM, label="Bluesky", creates=False, platform_response=body)
    if failed is not None:
        return failed
    if status == 400:
        rule = _RULES_400.get(name or "", "bluesky.record.invalid")
        return ContentRejectedError(f"Bluesky refused the post: {detail}", rule=rule, **common)
    return ContentRejectedError(
        f"Bluesky refused the request (HTTP {status}): {detail}", rule="bluesky.request.refused", **common
    )


def _error_name(exc: PlatformError) -> str | None:
    body = exc.platform_response
    name = body.get("error") if isinstance(body, dict) else None
    return name if isinstance(name, str) else None


# ---- tokens ------------------------------------------------------------------------------------


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT, read WITHOUT verifying it (it only tells us when to refresh)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    try:
        return datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _acceptable_endpoint(endpoint: str, service: str) -> bool:
    """A PDS endpoint from a DID document may replace the service the user gave when it is on
    the same origin, or public https (no credentials, no literal private address)."""
    try:
        parts = urlsplit(endpoint)
        same = _origin(endpoint) == _origin(service)
    except ValueError:
        return False
    if same:
        return True
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return False
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return parts.hostname.lower() != "localhost"
    return address.is_global


def pds_endpoint(did_doc: Any, service: str) -> str:
    """``service[id="#atproto_pds"].serviceEndpoint`` of the DID document, else ``service``."""
    if isinstance(did_doc, dict) and isinstance(did_doc.get("service"), list):
        for entry in did_doc["service"]:
            if not isinstance(entry, dict) or not str(entry.get("id", "")).endswith("#atproto_pds"):
                continue
            endpoint = entry.get("serviceEndpoint")
            if isinstance(endpoint, str) and _acceptable_endpoint(endpoint, service):
                return endpoint.rstrip("/")
    return service


def _session_tokens(data: dict[str, Any], *, service: str, app_password: str, extra: dict[str, Any]) -> TokenSet:
    access, refresh = data.get("accessJwt"), data.get("refreshJwt")
    did, handle = data.get("did"), data.get("handle")
    if not all(isinstance(v, str) and v for v in (access, refresh, did, handle)):
        raise PlatformUnavailableError(
            "Bluesky answered the sign-in without a complete session.", platform=PLATFORM, rule="bluesky.unavailable"
        )
    assert isinstance(access, str) and isinstance(refresh, str)
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=jwt_expiry(access),
        connection_expires_at=None,
        extra={
            **extra,
            "service": pds_endpoint(data.get("didDoc"), service),
            "did": did,
            "handle": handle,
            "appPassword": app_password,
        },
    )


# ---- transport ---------------------------------------------------------------------------------


class _Xrpc:
    """Calls ``{service}/xrpc/<nsid>``; returns the JSON object or raises a ``PlatformError``."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def call(
        self,
        method: str,
        service: str,
        nsid: str,
        *,
        token: str | None = None,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if content is not None:
            headers["Content-Type"] = content_type or "application/octet-stream"
        try:
            response = await self.http.request(
                method, f"{service}/xrpc/{nsid}", params=params, json=body, content=content, headers=headers
            )
        except safe_http.UnsafeUrlError as exc:  # the SSRF guard: the service resolves to a private address
            raise ForbiddenUrlError(
                "The Bluesky service is not a public https URL; crosspost does not call it.",
                platform=PLATFORM,
                rule="bluesky.service.forbidden",
                field="service",
            ) from exc
        # Every call here can be repeated without a duplicate (see classify_response), so even a
        # timeout after the request went out is "unavailable, retry", not "outcome unknown".
        except httpx.TimeoutException as exc:
            raise PlatformUnavailableError(
                "Bluesky did not answer in time; crosspost tries again later.",
                platform=PLATFORM,
                rule="bluesky.timeout",
            ) from exc
        except httpx.TransportError as exc:
            raise PlatformUnavailableError(
                "Bluesky could not be reached; crosspost tries again later.",
                platform=PLATFORM,
                rule="bluesky.unreachable",
            ) from exc
        if not response.is_success:
            raise classify_response(response)
        return json_object(response, platform=PLATFORM, label="Bluesky", creates=False)  # repeatable: see above


@dataclass(frozen=True)
class _Session:
    service: str
    did: str
    handle: str
    access_token: str

    @classmethod
    def of(cls, tokens: TokenSet) -> _Session:
        service, did, handle = (tokens.extra.get(k) for k in ("service", "did", "handle"))
        if not (isinstance(service, str) and isinstance(did, str) and isinstance(handle, str)):
            raise AuthExpiredError(
                "The stored Bluesky session is incomplete; reconnect the account.",
                platform=PLATFORM,
                rule="bluesky.auth.expired",
            )
        return cls(service.rstrip("/"), did, handle, tokens.access_token)


def post_url(handle: str, rkey: str) -> str:
    return f"https://bsky.app/profile/{handle}/post/{rkey}"


# ---- auth strategy -----------------------------------------------------------------------------


class BlueskyAuth:
    """Connect with a handle and an app password (``CredentialsAuth``)."""

    platform: str = PLATFORM
    fields: tuple[str, ...] = ("handle", "appPassword")

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self._xrpc = _Xrpc(http)

    async def login(self, credentials: dict[str, str]) -> ConnectedAccount:
        handle = (credentials.get("handle") or "").strip().removeprefix("@").lower()
        password = credentials.get("appPassword") or ""
        service = (credentials.get("service") or DEFAULT_SERVICE).strip().rstrip("/")
        for name, value in (("handle", handle), ("appPassword", password)):
            if not value:
                raise ValidationFailedError(
                    f"Bluesky needs credentials.{name}.", rule=f"credentials.{name}", field=f"credentials.{name}"
                )
        try:
            data = await self._xrpc.call(
                "POST", service, "com.atproto.server.createSession", body={"identifier": handle, "password": password}
            )
        except AuthExpiredError as exc:
            raise _login_refused(exc) from None
        tokens = _session_tokens(data, service=service, app_password=password, extra={})
        session = _Session.of(tokens)
        display_name, avatar = await self._profile(session)
        return ConnectedAccount(
            platform=PLATFORM,
            platform_account_id=session.did,
            username=session.handle,
            tokens=tokens,
            display_name=display_name,
            profile_image_url=avatar,
            profile_url=f"https://bsky.app/profile/{session.handle}",
        )

    async def _profile(self, session: _Session) -> tuple[str | None, str | None]:
        """Display name and avatar from the profile record; a bare PDS has no AppView, so
        ``getProfile`` is not used. Any failure (no profile yet, for one) gives ``None``."""
        try:
            data = await self._xrpc.call(
                "GET",
                session.service,
                "com.atproto.repo.getRecord",
                params={"repo": session.did, "collection": PROFILE_COLLECTION, "rkey": "self"},
            )
        except PlatformError:
            return None, None
        value = data.get("value")
        if not isinstance(value, dict):
            return None, None
        name = value.get("displayName")
        display_name = name.strip() if isinstance(name, str) and name.strip() else None
        avatar = None
        ref = value.get("avatar", {}).get("ref") if isinstance(value.get("avatar"), dict) else None
        cid = ref.get("$link") if isinstance(ref, dict) else None
        if isinstance(cid, str):
            avatar = f"{session.service}/xrpc/com.atproto.sync.getBlob?did={session.did}&cid={cid}"
        return display_name, avatar


def _login_refused(exc: AuthExpiredError) -> AuthExpiredError:
    name = _error_name(exc)
    common: dict[str, Any] = {"platform": PLATFORM, "platform_response": exc.platform_response, "http_status": 401}
    if name == "AuthFactorTokenRequired":
        return AuthExpiredError(
            "This Bluesky account asks for an email code at sign-in; connect it with an app password instead.",
            rule="bluesky.auth.factor_required",
            remediation="Create an app password in Bluesky: Settings → Privacy and security → App passwords.",
            **common,
        )
    if name in _ACCOUNT_ERRORS:
        return AuthExpiredError(
            "Bluesky says this account is taken down or deactivated.", rule="bluesky.account.unavailable", **common
        )
    return AuthExpiredError(
        "Bluesky refused the handle or app password.",
        rule="bluesky.auth.invalid",
        remediation="Check the handle, and use an app password (Settings → Privacy and security → App passwords).",
        **common,
    )


# ---- media -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Blob:
    """One attachment ready to upload: an image of ``app.bsky.embed.images`` or the video of
    ``app.bsky.embed.video``."""

    kind: str  # "image" | "video"
    data: bytes
    mime: str
    alt: str
    width: int | None
    height: int | None


def _media_type(item: MediaItem) -> str | None:
    """The declared type, else what the bytes say."""
    if item.content_type:
        return item.content_type.split(";")[0].strip().lower()
    return sniff(item.data).content_type if item.data is not None else None


def _media_problems(index: int, item: MediaItem) -> list[ErrorDetail]:
    """Stage-B checks of a medium whose bytes (or stored type and size) are known; also run in
    stage A by ``preflight``. The limits are the lexicon's (PLATFORMS.md §1.4)."""
    field = f"media[{index}]"
    mime = _media_type(item)
    size = len(item.data) if item.data is not None else item.size
    found = []
    if item.kind == "image":
        if (mime is None and item.data is not None) or (mime is not None and not mime.startswith("image/")):
            found.append(ErrorDetail("bluesky.media.mime_allowed", "Bluesky accepts images (image/*) only.", field))
        limit, what = IMAGE_MAX_BYTES, "images"
    else:
        if (mime is None and item.data is not None) or (mime is not None and mime not in VIDEO_MIME_TYPES):
            found.append(
                ErrorDetail("bluesky.media.mime_allowed", "Bluesky accepts MP4 videos (video/mp4) only.", field)
            )
        if item.alt_text and grapheme_count(item.alt_text) > VIDEO_ALT_MAX_GRAPHEMES:
            found.append(
                ErrorDetail(
                    "bluesky.media.alt_text_max_graphemes",
                    f"Alt text of a Bluesky video is limited to {VIDEO_ALT_MAX_GRAPHEMES} characters.",
                    f"{field}.altText",
                )
            )
        limit, what = VIDEO_MAX_BYTES, "videos"
    if size is not None and size > limit:
        found.append(
            ErrorDetail(
                "bluesky.media.too_large",
                f"Bluesky {what} are limited to {limit:,} bytes; this one has {size:,}.",
                field,
            )
        )
    return found


# ---- the adapter -------------------------------------------------------------------------------


class BlueskyAdapter(PlatformAdapter):
    capabilities = Capabilities(
        platform=PLATFORM,
        text_max_graphemes=300,
        text_max_bytes=3000,
        max_images=4,
        max_videos=1,
        image_video_exclusive=True,
        alt_text_max_graphemes=2000,
        first_comment=True,
        first_comment_max_graphemes=300,
        idempotent_create=True,
        lookup=True,  # getRecord at the derived record keys
        renews_indefinitely=True,
        media_transfer="bytes",  # uploadBlob; URL media are fetched by the publishing service
        image_mime_types=frozenset({"image/*"}),  # the lexicon accepts any image type
        image_max_bytes=IMAGE_MAX_BYTES,
        video_mime_types=VIDEO_MIME_TYPES,
        video_max_bytes=VIDEO_MAX_BYTES,
    )

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig | None = None) -> None:
        super().__init__(http, config)
        self._xrpc = _Xrpc(http)

    @classmethod
    def preflight(cls, request: PublishRequest) -> list[ErrorDetail]:
        found: list[ErrorDetail] = []
        for index, item in enumerate(request.media):
            found += _media_problems(index, item)
        return found

    def classify(self, response: httpx.Response, *, creates: bool) -> PlatformError:
        """See ``classify_response``; ``creates`` changes nothing here because every create
        this adapter makes is idempotent."""
        return classify_response(response)

    # ---- refresh ---------------------------------------------------------------------------

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        service = str(tokens.extra.get("service") or DEFAULT_SERVICE).rstrip("/")
        app_password = tokens.extra.get("appPassword")
        stored_password = app_password if isinstance(app_password, str) else ""
        if tokens.refresh_token:
            try:
                data = await self._xrpc.call(
                    "POST", service, "com.atproto.server.refreshSession", token=tokens.refresh_token
                )
                return _session_tokens(data, service=service, app_password=stored_password, extra=tokens.extra)
            except AuthExpiredError as exc:
                if _error_name(exc) in _ACCOUNT_ERRORS:
                    raise
                # The refresh JWT is expired or revoked: log in again with the app password.
        identifier = tokens.extra.get("did") or tokens.extra.get("handle")
        if not stored_password or not isinstance(identifier, str):
            raise AuthExpiredError(
                "The Bluesky session ended and no app password is stored; reconnect the account.",
                platform=PLATFORM,
                rule="bluesky.auth.expired",
            )
        try:
            data = await self._xrpc.call(
                "POST",
                service,
                "com.atproto.server.createSession",
                body={"identifier": identifier, "password": stored_password},
            )
        except AuthExpiredError as exc:
            raise AuthExpiredError(
                "Bluesky refused the stored app password; reconnect the account.",
                platform=PLATFORM,
                rule="bluesky.auth.expired",
                remediation="Create a new app password in Bluesky and connect the account again.",
                platform_response=exc.platform_response,
            ) from None
        return _session_tokens(data, service=service, app_password=stored_password, extra=tokens.extra)

    # ---- publish ---------------------------------------------------------------------------

    async def publish(self, tokens: TokenSet, request: PublishRequest) -> PublishResult:
        session = _Session.of(tokens)
        blobs = self._blobs(request.media)  # refuse before anything is sent
        embed = await self._embed(session, blobs)
        record = await self._record(session, request.text, request.created_at, request, embed=embed)
        uri, cid, rkey = await self._put_post(session, self._rkeys(request), record)
        result = PublishResult(uri=uri, cid=cid, url=post_url(session.handle, rkey))
        if request.first_comment:
            result = await self._first_comment(session, request, result)
        return result

    async def find_published(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | None:
        session = _Session.of(tokens)
        found = await self._find(session, self._rkeys(request), request.text, request.created_at)
        if found is None:
            return None
        result = PublishResult(uri=found[0], cid=found[1], url=post_url(session.handle, found[2]))
        if request.first_comment:
            comment = await self._find(
                session, self._rkeys(request, FIRST_COMMENT_SALT), request.first_comment, _comment_time(request)
            )
            if comment is not None:
                result = replace(result, first_comment_uri=comment[0], first_comment_cid=comment[1])
        return result

    # ---- record keys -----------------------------------------------------------------------

    @staticmethod
    def _rkeys(request: PublishRequest, salt: str = "") -> list[str]:
        """The record keys this post may use, in order; almost always the first. The next ones
        are for the (about one in a million) case that another post of the same account,
        created in the same millisecond, derived the same key. Deterministic, so every attempt
        walks the same keys."""
        fallback = int(request.created_at.timestamp() * 1000)
        return [
            derive_tid(request.post_id, salt=salt if n == 0 else f"{salt}:{n}", fallback_ms=fallback)
            for n in range(KEY_CANDIDATES)
        ]

    # ---- pieces ----------------------------------------------------------------------------

    def _blobs(self, media: tuple[MediaItem, ...]) -> list[_Blob]:
        blobs = []
        for index, item in enumerate(media):
            if item.data is None:
                # The publishing service hands this adapter bytes (media_transfer="bytes"),
                # URL media included: no bytes here is a bug upstream, not a retryable state.
                raise ContentRejectedError(
                    "The media bytes did not reach the Bluesky adapter.",
                    platform=PLATFORM,
                    rule="bluesky.media.invalid",
                    field=f"media[{index}]",
                )
            problems = _media_problems(index, item)
            if problems:
                raise ContentRejectedError(
                    problems[0].message, platform=PLATFORM, rule=problems[0].rule, field=problems[0].field
                )
            sniffed = sniff(item.data)
            blobs.append(
                _Blob(
                    kind=item.kind,
                    data=item.data,
                    mime=_media_type(item) or "application/octet-stream",
                    alt=item.alt_text or "",
                    width=item.width or sniffed.width,
                    height=item.height or sniffed.height,
                )
            )
        return blobs

    async def _upload(self, session: _Session, blob: _Blob) -> dict[str, Any]:
        """``uploadBlob``: the blob ref to put into the record unchanged."""
        data = await self._xrpc.call(
            "POST",
            session.service,
            "com.atproto.repo.uploadBlob",
            token=session.access_token,
            content=blob.data,
            content_type=blob.mime,
        )
        ref = data.get("blob")
        if not isinstance(ref, dict):
            raise PlatformUnavailableError(
                "Bluesky answered the upload without a blob.", platform=PLATFORM, rule="bluesky.unavailable"
            )
        return ref

    async def _embed(self, session: _Session, blobs: list[_Blob]) -> dict[str, Any] | None:
        if not blobs:
            return None
        if blobs[0].kind == "video":  # one per post (capabilities; preflight counted)
            video = blobs[0]
            embed: dict[str, Any] = {"$type": "app.bsky.embed.video", "video": await self._upload(session, video)}
            if video.alt:
                embed["alt"] = video.alt
            if video.width and video.height:
                embed["aspectRatio"] = {"width": video.width, "height": video.height}
            return embed
        entries = []
        for image in blobs:  # in order: the embed lists them as the user did
            entry: dict[str, Any] = {"alt": image.alt, "image": await self._upload(session, image)}
            if image.width and image.height:
                entry["aspectRatio"] = {"width": image.width, "height": image.height}
            entries.append(entry)
        return {"$type": "app.bsky.embed.images", "images": entries}

    async def _record(
        self,
        session: _Session,
        text: str,
        created_at: datetime,
        request: PublishRequest,
        *,
        embed: dict[str, Any] | None = None,
        reply: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": POST_COLLECTION, "text": text, "createdAt": iso(created_at)}
        facets = await self._facets(session, text)
        if facets:
            record["facets"] = facets
        if reply is not None:
            record["reply"] = reply
        if embed is not None:
            record["embed"] = embed
        langs = request.options.get("langs")
        if isinstance(langs, list) and langs and all(isinstance(lang, str) for lang in langs):
            record["langs"] = langs[:MAX_LANGS]
        return record

    async def _facets(self, session: _Session, text: str) -> list[dict[str, Any]]:
        found = detect_facets(text)
        handles = mention_handles(found)
        dids = await self._resolve(session, handles) if handles else {}
        return facet_records(found, dids)

    async def _resolve(self, session: _Session, handles: list[str]) -> dict[str, str]:
        gate = asyncio.Semaphore(_RESOLVE_CONCURRENCY)

        async def one(handle: str) -> str | None:
            async with gate:
                try:
                    data = await self._xrpc.call(
                        "GET", session.service, "com.atproto.identity.resolveHandle", params={"handle": handle}
                    )
                except ContentRejectedError:
                    return None  # HandleNotFound and the like: plain text, no mention facet
            did = data.get("did")
            return did if isinstance(did, str) and did.startswith("did:") else None

        dids = await asyncio.gather(*(one(h) for h in handles))
        return {handle: did for handle, did in zip(handles, dids, strict=True) if did is not None}

    async def _put_post(self, session: _Session, rkeys: list[str], record: dict[str, Any]) -> tuple[str, str, str]:
        """Create the record at the first free key of ``rkeys``: (uri, cid, rkey)."""
        for rkey in rkeys:
            body = {
                "repo": session.did,
                "collection": POST_COLLECTION,
                "rkey": rkey,
                "record": record,
                "swapRecord": None,  # create-only: never overwrite what is at a key
            }
            try:
                data = await self._xrpc.call(
                    "POST", session.service, "com.atproto.repo.putRecord", token=session.access_token, body=body
                )
            except ContentRejectedError as exc:
                if _error_name(exc) != "InvalidSwap":
                    raise
                found = await self._get_post(session, rkey)
                if found is None:
                    raise
                if _same_post(found[2], record["text"], record["createdAt"]):
                    # An earlier attempt of this post was committed here (with, say, a mention
                    # that resolved then and not now): that record is the published post.
                    return found[0], found[1], rkey
                continue  # another post holds this key: take the next one
            uri, cid = _strong_ref(data)
            return uri, cid, rkey
        raise ContentRejectedError(
            "Bluesky already holds other posts at every record key of this post.",
            platform=PLATFORM,
            rule="bluesky.record.conflict",
        )

    async def _find(
        self, session: _Session, rkeys: list[str], text: str, created_at: datetime
    ) -> tuple[str, str, str] | None:
        """(uri, cid, rkey) of the record this post wrote, if any."""
        for rkey in rkeys:
            found = await self._get_post(session, rkey)
            if found is None:
                return None  # keys are taken in order: nothing further along either
            if _same_post(found[2], text, iso(created_at)):
                return found[0], found[1], rkey
        return None

    async def _get_post(self, session: _Session, rkey: str) -> tuple[str, str, Any] | None:
        """(uri, cid, value) of the post at ``rkey``, or None."""
        try:
            data = await self._xrpc.call(
                "GET",
                session.service,
                "com.atproto.repo.getRecord",
                params={"repo": session.did, "collection": POST_COLLECTION, "rkey": rkey},
            )
        except ContentRejectedError as exc:
            if _error_name(exc) == "RecordNotFound":
                return None
            raise
        uri, cid = _strong_ref(data)
        return uri, cid, data.get("value")

    async def _first_comment(self, session: _Session, request: PublishRequest, post: PublishResult) -> PublishResult:
        assert request.first_comment is not None and post.cid is not None
        parent = {"uri": post.uri, "cid": post.cid}
        record = await self._record(
            session, request.first_comment, _comment_time(request), request, reply={"root": parent, "parent": parent}
        )
        try:
            uri, cid, _ = await self._put_post(session, self._rkeys(request, FIRST_COMMENT_SALT), record)
        except ContentRejectedError as exc:
            # The post itself is live: failing it now would misreport it. Retryable errors do
            # propagate (a retry re-puts the post as a no-op and tries the comment again).
            logger.warning("bluesky first comment refused", extra={"post_id": request.post_id, "rule": exc.rule})
            refused = PublishWarning("first_comment.rejected", f"Bluesky refused the first comment: {exc.message}")
            return replace(post, warnings=(*post.warnings, refused))
        return replace(post, first_comment_uri=uri, first_comment_cid=cid)


def _comment_time(request: PublishRequest) -> datetime:
    """The first comment's createdAt: the stored post time + 1 ms, identical on every attempt."""
    return request.created_at + timedelta(milliseconds=1)


def _same_post(value: Any, text: str, created_at: str) -> bool:
    return isinstance(value, dict) and value.get("text") == text and value.get("createdAt") == created_at


def _strong_ref(data: dict[str, Any]) -> tuple[str, str]:
    uri, cid = data.get("uri"), data.get("cid")
    if not (isinstance(uri, str) and isinstance(cid, str)):
        raise PlatformUnavailableError(
            "Bluesky answered without the record's uri and cid.", platform=PLATFORM, rule="bluesky.unavailable"
        )
    return uri, cid

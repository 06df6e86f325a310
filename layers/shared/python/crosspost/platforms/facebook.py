"""Facebook Pages (Meta Graph API): the one Meta login, and publishing to a Page.

Facts used here are in PLATFORMS.md §2 (and §3.1 for the Instagram rows the login yields):

- Connect (``FacebookAuth``): the Facebook dialog, then the code for a short-lived user token,
  that for a long-lived one (about 60 days), and ``/me/accounts`` for the Pages with their Page
  tokens. A Page token obtained from a long-lived user token does not expire, so a ``facebook``
  row stores its Page token with no expiry (API.md: tokenExpiresAt null). Each Page with a linked
  Instagram professional account also yields an ``instagram`` row that publishes with the same
  Page token (``crosspost.platforms.instagram``).
- There is no refresh: a Page token dies with a password change, a lost Page role or a removed
  app, and only a new login brings it back (``refresh`` raises ``AuthExpiredError``).
- Publishing (``FacebookAdapter``) with the Page token: text to ``/{page}/feed``; one photo with
  ``/{page}/photos`` by URL; several photos as unpublished photos attached to a feed post
  (``attached_media``); a video with ``/{page}/videos`` by ``file_url``. Media reach Meta by URL
  (``media_transfer="url"``): Meta fetches the presigned GET itself.
- None of the creating calls is idempotent. After an outcome-unknown failure ``find_published``
  lists the Page's recent posts (videos: its videos) and matches the text and time.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import urlencode

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    PlatformError,
    PlatformUnavailableError,
    RateLimitedError,
)
from crosspost.lazy_imports import lazy_module
from crosspost.platforms.base import (
    Capabilities,
    ConnectedAccount,
    MediaItem,
    PlatformAdapter,
    PlatformConfig,
    PublishRequest,
    PublishResult,
    TokenSet,
)
from crosspost.platforms.graph import (
    GRAPH_VERSION,
    LOOKUP_LIMIT,
    GraphClient,
    appsecret_proof,
    classify_graph,
    graph_base,
    media_url,
    published_after,
    reject_media_problems,
    required_id,
    same_text,
)

if TYPE_CHECKING:
    import httpx
else:  # loaded on first use: preflight reads this module without any HTTP (cold start)
    httpx = lazy_module("httpx")

PLATFORM: Final = "facebook"
DIALOG_HOST: Final = "https://www.facebook.com"
TEXT_MAX: Final = 63_206
PHOTO_MAX_BYTES: Final = 4 * 1024 * 1024  # "Photos should be smaller than 4 MB" (1366046)
VIDEO_MAX_BYTES: Final = 1024 * 1024 * 1024  # non-resumable file_url uploads
MAX_PHOTOS: Final = 10

SCOPES: Final = (
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "business_management",
    "instagram_basic",
    "instagram_content_publish",
)
EXTENDED_SCOPES: Final = (
    "pages_read_user_content",
    "pages_manage_engagement",
    "instagram_manage_comments",
    "instagram_manage_insights",
)
PAGE_FIELDS: Final = (
    "id,name,username,link,access_token,tasks,picture.type(large){url},"
    "instagram_business_account{id,username,name,profile_picture_url}"
)
PAGES_PER_REQUEST: Final = 50
MAX_PAGE_REQUESTS: Final = 20  # 1,000 Pages: far more than anyone manages; stops a cursor loop


def page_url(page: dict[str, Any]) -> str:
    link = page.get("link")
    if isinstance(link, str) and link.startswith("https://"):
        return link
    return f"https://www.facebook.com/{page['id']}"


def post_url(post_id: str) -> str:
    """A post's address without asking Graph: facebook.com resolves ``{page}_{post}`` ids."""
    return f"https://www.facebook.com/{post_id}"


def absolute_permalink(value: Any) -> str | None:
    """Video permalinks come as a path (``/{page}/videos/{id}/``), post permalinks as URLs."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("https://"):
        return value
    return f"https://www.facebook.com/{value.lstrip('/')}" if value.startswith("/") else None


# ---- connect -------------------------------------------------------------------------------------


class FacebookAuth:
    """The Meta login (``OAuth2Auth``): one ``facebook`` row per Page and one ``instagram`` row per
    Page with a linked Instagram professional account."""

    platform: str = PLATFORM
    uses_pkce: bool = False

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig) -> None:
        self.http = http
        self.config = config
        self._graph = GraphClient(http, graph_base(config), platform=PLATFORM)

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None, extended_scopes: bool
    ) -> str:
        scopes = SCOPES + (EXTENDED_SCOPES if extended_scopes else ())
        query = urlencode(
            {
                "client_id": self.config.app().client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "scope": ",".join(scopes),
                "response_type": "code",
            }
        )
        return f"{self.config.host(DIALOG_HOST)}/{GRAPH_VERSION}/dialog/oauth?{query}"

    async def complete(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> list[ConnectedAccount]:
        app = self.config.app()
        short = await self._token(
            {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "redirect_uri": redirect_uri,
                "code": code,
            }
        )
        user_token = await self._token(
            {
                "grant_type": "fb_exchange_token",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "fb_exchange_token": short,
            }
        )
        proof = {"appsecret_proof": appsecret_proof(app.client_secret, user_token)}
        granted = await self._granted(user_token, proof)
        pages = await self._pages(user_token, proof)
        accounts = [self._page_account(page) for page in pages]
        accounts += [self._instagram_account(page, granted) for page in pages if _linked_instagram(page)]
        if not accounts:
            raise ContentRejectedError(
                "This Facebook login manages no Page crosspost can publish to.",
                platform=PLATFORM,
                rule="facebook.pages.none",
                remediation="Log in with a Facebook user who manages a Page, and select the Page in the dialog.",
                http_status=400,
            )
        return accounts

    async def _token(self, params: dict[str, str]) -> str:
        """``/oauth/access_token``. A refused code (expired, used, another redirect_uri) or
        token is fixed by logging in again: any 4xx but a rate limit is ``AuthExpiredError``."""
        response = await self._graph.send("GET", "oauth/access_token", token=None, params=params, creates=False)
        if not response.is_success:
            error = classify_graph(response, platform=PLATFORM, creates=False)
            if response.status_code >= 500 or isinstance(error, RateLimitedError):
                raise error
            raise AuthExpiredError(
                "Facebook refused the login (the code may have expired or been used); start the connect again.",
                platform=PLATFORM,
                rule="facebook.auth.code_invalid",
                remediation="Start the connect flow again.",
                platform_response=error.platform_response,
                http_status=401,
            )
        token = self._graph.json(response, creates=False).get("access_token")
        if not isinstance(token, str) or not token:
            raise PlatformUnavailableError(
                "Facebook answered the login without an access token.", platform=PLATFORM, rule="facebook.unavailable"
            )
        return token

    async def _granted(self, user_token: str, proof: dict[str, str]) -> list[str]:
        data = await self._graph.get("me/permissions", token=user_token, params=proof)
        entries = data.get("data")
        if not isinstance(entries, list):
            return []
        return [
            e["permission"]
            for e in entries
            if isinstance(e, dict) and e.get("status") == "granted" and isinstance(e.get("permission"), str)
        ]

    async def _pages(self, user_token: str, proof: dict[str, str]) -> list[dict[str, Any]]:
        """Every Page of ``/me/accounts`` that came with a Page token, following the cursors (the
        ``paging.next`` URL itself is not followed: it repeats the token in its query string)."""
        pages: list[dict[str, Any]] = []
        params = {**proof, "fields": PAGE_FIELDS, "limit": str(PAGES_PER_REQUEST)}
        for _ in range(MAX_PAGE_REQUESTS):
            data = await self._graph.get("me/accounts", token=user_token, params=params)
            entries = data.get("data")
            for page in entries if isinstance(entries, list) else []:
                if isinstance(page, dict) and isinstance(page.get("id"), str) and page.get("access_token"):
                    pages.append(page)
            paging = data.get("paging")
            after = paging.get("cursors", {}).get("after") if isinstance(paging, dict) else None
            if not (isinstance(paging, dict) and paging.get("next") and isinstance(after, str)):
                break
            params = {**params, "after": after}
        return pages

    @staticmethod
    def _page_account(page: dict[str, Any]) -> ConnectedAccount:
        name = str(page.get("name") or page["id"])
        username = str(page.get("username") or name)
        return ConnectedAccount(
            platform=PLATFORM,
            platform_account_id=page["id"],
            username=username,
            display_name=name,
            profile_image_url=_picture(page),
            profile_url=page_url(page),
            tokens=TokenSet(access_token=str(page["access_token"]), extra={"pageId": page["id"]}),
        )

    @staticmethod
    def _instagram_account(page: dict[str, Any], granted: list[str]) -> ConnectedAccount:
        ig = page["instagram_business_account"]
        username = str(ig.get("username") or ig["id"])
        picture = ig.get("profile_picture_url")
        return ConnectedAccount(
            platform="instagram",
            platform_account_id=ig["id"],
            username=username,
            display_name=ig.get("name") if isinstance(ig.get("name"), str) else None,
            profile_image_url=picture if isinstance(picture, str) else None,
            profile_url=f"https://www.instagram.com/{username}/" if isinstance(ig.get("username"), str) else None,
            # Publishes with the linked Page's token (no expiry), like postiz; the IG user id
            # and the Page it hangs off are what the adapter needs.
            tokens=TokenSet(access_token=str(page["access_token"]), extra={"igUserId": ig["id"], "pageId": page["id"]}),
            # Graph with Facebook Login only lists professional accounts linked to a Page and
            # does not say business from creator: both publish the same way.
            platform_block={"kind": "business", "accountType": "BUSINESS", "grantedScopes": granted},
        )


def _linked_instagram(page: dict[str, Any]) -> bool:
    ig = page.get("instagram_business_account")
    return isinstance(ig, dict) and isinstance(ig.get("id"), str) and bool(ig["id"])


def _picture(page: dict[str, Any]) -> str | None:
    picture = page.get("picture")
    data = picture.get("data") if isinstance(picture, dict) else None
    url = data.get("url") if isinstance(data, dict) else None
    return url if isinstance(url, str) else None


# ---- publishing ----------------------------------------------------------------------------------


class FacebookAdapter(PlatformAdapter):
    capabilities: ClassVar[Capabilities] = Capabilities(
        platform=PLATFORM,
        text_max_graphemes=TEXT_MAX,
        max_images=MAX_PHOTOS,
        max_videos=1,
        image_video_exclusive=True,
        lookup=True,
        # Page tokens have no expiry date (API.md tokenExpiresAt: null).
        renews_indefinitely=True,
        media_transfer="url",
        image_mime_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"}),
        image_max_bytes=PHOTO_MAX_BYTES,
        video_mime_types=frozenset({"video/mp4", "video/quicktime"}),
        video_max_bytes=VIDEO_MAX_BYTES,
    )

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig | None = None) -> None:
        super().__init__(http, config)
        self._graph = GraphClient(http, graph_base(self.config), platform=PLATFORM)

    def classify(self, response: httpx.Response, *, creates: bool) -> PlatformError:
        return classify_graph(response, platform=PLATFORM, creates=creates)

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        raise AuthExpiredError(
            "Facebook Page tokens cannot be renewed without the user; reconnect the account.",
            platform=PLATFORM,
            rule="facebook.auth.expired",
            remediation="Reconnect the Facebook account (log in again and select the Page).",
        )

    async def publish(self, tokens: TokenSet, request: PublishRequest) -> PublishResult:
        page_id = _page_id(tokens)
        reject_media_problems(self.capabilities, request.media)
        images = [m for m in request.media if m.kind == "image"]
        videos = [m for m in request.media if m.kind == "video"]
        token = tokens.access_token
        if videos:
            return await self._video(page_id, token, request.text, videos[0])
        if len(images) == 1:
            return await self._photo(page_id, token, request.text, images[0])
        if images:
            return await self._photos(page_id, token, request.text, images)
        data = await self._graph.post(f"{page_id}/feed", token=token, data={"message": request.text}, creates=True)
        return await self._result(required_id(data, "id", platform=PLATFORM, creates=True), token)

    async def _photo(self, page_id: str, token: str, text: str, image: MediaItem) -> PublishResult:
        form = {"url": media_url(image, 0, PLATFORM), "message": text, "published": "true"}
        if image.alt_text:
            form["alt_text_custom"] = image.alt_text
        data = await self._graph.post(f"{page_id}/photos", token=token, data=form, creates=True)
        post_id = data.get("post_id") or data.get("id")
        return await self._result(required_id({"id": post_id}, "id", platform=PLATFORM, creates=True), token)

    async def _photos(self, page_id: str, token: str, text: str, images: list[MediaItem]) -> PublishResult:
        """Unpublished photos first (invisible, harmless to repeat), then one feed post that
        attaches them: the only step that shows anything."""
        photo_ids = []
        for index, image in enumerate(images):
            form = {"url": media_url(image, index, PLATFORM), "published": "false"}
            if image.alt_text:
                form["alt_text_custom"] = image.alt_text
            data = await self._graph.post(f"{page_id}/photos", token=token, data=form, creates=False)
            photo_ids.append(required_id(data, "id", platform=PLATFORM, creates=False))
        attached = [{"media_fbid": photo_id} for photo_id in photo_ids]
        form = {"message": text, "attached_media": _json(attached)}
        data = await self._graph.post(f"{page_id}/feed", token=token, data=form, creates=True)
        return await self._result(required_id(data, "id", platform=PLATFORM, creates=True), token)

    async def _video(self, page_id: str, token: str, text: str, video: MediaItem) -> PublishResult:
        """Meta downloads and processes the video after answering; the post shows when it is
        ready, so there is nothing to wait for here."""
        form = {"file_url": media_url(video, 0, PLATFORM), "description": text}
        data = await self._graph.post(f"{page_id}/videos", token=token, data=form, creates=True)
        video_id = required_id(data, "id", platform=PLATFORM, creates=True)
        url = await self._permalink(video_id, token)
        return PublishResult(uri=video_id, url=url or f"https://www.facebook.com/{page_id}/videos/{video_id}/")

    async def _result(self, post_id: str, token: str) -> PublishResult:
        return PublishResult(uri=post_id, url=await self._permalink(post_id, token) or post_url(post_id))

    async def _permalink(self, object_id: str, token: str) -> str | None:
        """The post is live: a failed read of its address must not fail it."""
        try:
            data = await self._graph.get(object_id, token=token, params={"fields": "permalink_url"})
        except PlatformError:
            return None
        return absolute_permalink(data.get("permalink_url"))

    async def find_published(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | None:
        """The Page's newest posts (or videos, for a video post) with this text, made no earlier
        than the stored post: a feed post shows in ``/{page}/posts`` as soon as it exists, and an
        uploaded video in ``/{page}/videos`` while it is still processing."""
        page_id = _page_id(tokens)
        is_video = any(m.kind == "video" for m in request.media)
        edge, text_field = ("videos", "description") if is_video else ("posts", "message")
        params = {"fields": f"id,{text_field},created_time,permalink_url", "limit": str(LOOKUP_LIMIT)}
        data = await self._graph.get(f"{page_id}/{edge}", token=tokens.access_token, params=params)
        entries = data.get("data")
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                continue
            if same_text(entry.get(text_field), request.text) and published_after(
                entry.get("created_time"), request.created_at
            ):
                url = absolute_permalink(entry.get("permalink_url"))
                return PublishResult(uri=entry["id"], url=url or post_url(entry["id"]))
        return None


def _page_id(tokens: TokenSet) -> str:
    page_id = tokens.extra.get("pageId")
    if not isinstance(page_id, str) or not page_id:
        raise AuthExpiredError(
            "The stored Facebook connection names no Page; reconnect the account.",
            platform=PLATFORM,
            rule="facebook.auth.expired",
        )
    return page_id


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))

"""Simulated Facebook (Graph API for Pages) under ``/facebook`` (PLATFORMS.md §2). One prefix
serves ``www.facebook.com`` (the login dialog) and ``graph.facebook.com``; a leading
``/v{N}.0`` is accepted on every path.

Endpoints: ``GET /dialog/oauth`` (consents at once), ``GET|POST /oauth/access_token`` (code and
``fb_exchange_token`` grants), ``GET /me``, ``/me/permissions``, ``/me/accounts`` (paginated:
``limit``, ``after``, ``paging.next``), ``POST /{page}/feed`` (``message``, ``link``,
``attached_media``), ``POST /{page}/photos`` (``url``, ``message``/``caption``,
``published=false``), ``POST /{page}/videos`` (``file_url``, ``description``),
``GET /{page}/posts`` (also ``/feed``, ``/published_posts``), ``GET /{page}/videos``,
``GET /{id}?fields=...`` for Pages, posts, photos and videos.

What Meta checks and this does too: the token (190 with subcodes 463 expired / 460 revoked, or
"Cannot parse access token"), ``appsecret_proof`` when sent, Page tokens for Page writes (a user
token or another Page's token → 200 "(#200) If posting to a page ..."), the
``pages_manage_posts`` grant, media fetched from their URLs (324 for a missing or non-image file,
1366046 over 4 MiB, 352 for a non-video), and 506 "Duplicate status message" for the same text as
the Page's newest post within a day.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any, Final
from urllib.parse import urlencode

from local.sandbox.core import SandboxRequest, SandboxResponse
from local.sandbox.graph import (
    fields_of,
    graph_error,
    graph_token,
    invalid_param,
    invalid_token,
    missing_param,
    object_not_found,
    unknown_path,
)
from local.sandbox.meta import (
    FIXTURES,
    LONG_TOKEN_TTL,
    Caller,
    GraphFailure,
    MetaSandbox,
    Page,
    fetch,
    graph_time,
    permission_error,
    sniff,
)
from local.sandbox.oauth import OAuthError

TEXT_MAX: Final = 63_206
PHOTO_MAX_BYTES: Final = 4 * 1024 * 1024
DUPLICATE_WINDOW: Final = 24 * 3600.0
PAGE_LIMIT_DEFAULT: Final = 25
PAGE_LIMIT_MAX: Final = 100
PUBLISHING_EDGES: Final = frozenset({"feed", "photos", "videos"})
DEFAULT_PAGE_FIELDS: Final = ("name", "access_token", "category", "category_list", "id", "tasks")
TASKS: Final = ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]

_POST_AS_PAGE: Final = (
    "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with "
    "sufficient administrative permission"
)

_TOKEN_ERRORS: Final = {
    "invalid_client": (101, None, "Error validating application. Invalid application ID."),
    "invalid_code": (100, None, "Invalid verification code format."),
    "expired_code": (100, 36007, "This authorization code has expired."),
    "used_code": (100, 36009, "This authorization code has been used."),
    "redirect_mismatch": (
        100,
        36008,
        "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in "
        "the OAuth dialog request",
    ),
}


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(str(index).encode()).decode().rstrip("=")


def _uncursor(value: str | None) -> int:
    if not value:
        return 0
    try:
        return max(0, int(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()))
    except ValueError:
        return 0


def _limit(params: dict[str, str]) -> int:
    try:
        return max(1, min(PAGE_LIMIT_MAX, int(params.get("limit") or PAGE_LIMIT_DEFAULT)))
    except ValueError:
        return PAGE_LIMIT_DEFAULT


def _select(item: dict[str, Any], fields: list[str], default: tuple[str, ...]) -> dict[str, Any]:
    names = [f.split("{")[0].split(".")[0] for f in fields] or list(default)
    return {k: item[k] for k in names if k in item}


class FacebookSandbox(MetaSandbox):
    name = "facebook"
    publishing_edges = PUBLISHING_EDGES

    def route(self, request: SandboxRequest, path: str, parts: list[str], params: dict[str, str]) -> SandboxResponse:
        if parts == ["dialog", "oauth"] and request.method == "GET":
            with self.lock:
                return self.state.provider.authorize(request)
        if parts == ["oauth", "access_token"] and request.method in ("GET", "POST"):
            return self._access_token(params)
        with self.lock:
            caller = self.state.caller(graph_token(request, params))
            self._check_proof(params, graph_token(request, params) or "")
        if parts == ["me"] and request.method == "GET":
            return self._me(caller, params)
        if parts == ["me", "permissions"] and request.method == "GET":
            return self._permissions(caller)
        if parts == ["me", "accounts"] and request.method == "GET":
            return self._accounts(caller, params, request)
        if len(parts) == 2 and request.method == "POST":
            page = self._page_for_write(caller, parts[0])
            if parts[1] == "feed":
                return self._feed(page, params)
            if parts[1] == "photos":
                return self._photos(page, params)
            if parts[1] == "videos":
                return self._videos(page, params)
        if len(parts) == 2 and request.method == "GET" and parts[1] in ("posts", "feed", "published_posts", "videos"):
            return self._list(caller, parts[0], parts[1], params)
        if len(parts) == 1 and request.method == "GET":
            return self._object(caller, parts[0], params)
        return unknown_path(path)

    # ---- OAuth -----------------------------------------------------------------------------

    def _access_token(self, params: dict[str, str]) -> SandboxResponse:
        provider = self.state.provider
        with self.lock:
            try:
                provider.check_client(params.get("client_id"), None, secret_required=False)
            except OAuthError:
                return graph_error(400, 101, _TOKEN_ERRORS["invalid_client"][2])
            if params.get("client_secret") != provider.app["clientSecret"]:
                return graph_error(400, 1, "Error validating client secret.")
            if params.get("grant_type") == "fb_exchange_token":
                try:
                    issued = provider.exchange_access(params.get("fb_exchange_token"), access_ttl=LONG_TOKEN_TTL)
                except OAuthError as exc:
                    return invalid_token(exc.reason)
            else:
                if not params.get("code"):
                    return missing_param("code")
                try:
                    grant = provider.redeem(params.get("code"), redirect_uri=params.get("redirect_uri"))
                except OAuthError as exc:
                    code, subcode, message = _TOKEN_ERRORS.get(exc.reason, _TOKEN_ERRORS["invalid_code"])
                    return graph_error(400, code, message, subcode=subcode)
                issued = provider.issue(grant.user, grant.scopes, prefix="EAA")
            body: dict[str, Any] = {"access_token": issued.access.value, "token_type": "bearer"}
            expires_in = issued.expires_in(time.time())
            if expires_in is not None:
                body["expires_in"] = expires_in
            return SandboxResponse.json(200, body)

    def _check_proof(self, params: dict[str, str], token: str) -> None:
        proof = params.get("appsecret_proof")
        if proof is None:
            return
        secret = self.state.provider.app["clientSecret"].encode()
        expected = hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(proof, expected):
            raise GraphFailure(
                graph_error(
                    400, 100, "Invalid appsecret_proof provided in the API argument", type_="GraphMethodException"
                )
            )

    # ---- the user ----------------------------------------------------------------------------

    def _me(self, caller: Caller, params: dict[str, str]) -> SandboxResponse:
        if caller.page is not None:  # /me with a Page token is the Page
            return SandboxResponse.json(200, _select(self._page_node(caller.page), fields_of(params), ("name", "id")))
        user = caller.user
        node = {
            "id": user.id,
            "name": user.name,
            "picture": {
                "data": {
                    "url": f"https://scontent.xx.fbcdn.net/sandbox/{user.id}.jpg",
                    "height": 50,
                    "width": 50,
                    "is_silhouette": False,
                }
            },
        }
        return SandboxResponse.json(200, _select(node, fields_of(params), ("name", "id")))

    def _permissions(self, caller: Caller) -> SandboxResponse:
        entries = [{"permission": "public_profile", "status": "granted"}]
        for scope in caller.token.scopes:
            if scope != "public_profile":
                entries.append({"permission": scope, "status": "granted" if caller.granted(scope) else "declined"})
        return SandboxResponse.json(200, {"data": entries})

    def _accounts(self, caller: Caller, params: dict[str, str], request: SandboxRequest) -> SandboxResponse:
        if caller.page is not None:
            raise GraphFailure(
                graph_error(400, 100, "(#100) Tried accessing nonexisting field (accounts) on node type (Page)")
            )
        if not caller.granted("pages_show_list"):
            return SandboxResponse.json(200, {"data": []})
        fields = fields_of(params)
        start, limit = _uncursor(params.get("after")), _limit(params)
        pages = caller.user.pages
        chosen = pages[start : start + limit]
        with self.lock:
            data = [self._account_entry(caller, page, fields) for page in chosen]
        body: dict[str, Any] = {"data": data}
        if chosen:
            body["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(chosen))}}
            if start + len(chosen) < len(pages):
                # Like Meta's, the next URL repeats every parameter, the token included.
                query = {k: v for k, v in params.items() if k != "after"}
                query["after"] = _cursor(start + len(chosen))
                body["paging"]["next"] = f"{request.base_url}{request.path}?{urlencode(query)}"
        return SandboxResponse.json(200, body)

    def _account_entry(self, caller: Caller, page: Page, fields: list[str]) -> dict[str, Any]:
        node = self._page_node(page)
        node["access_token"] = self.state.page_token(caller, page)
        node["tasks"] = list(TASKS)
        node["category_list"] = [{"id": "2500", "name": page.category}]
        entry = _select(node, fields, DEFAULT_PAGE_FIELDS)
        for spec in fields:
            if spec.startswith("instagram_business_account"):
                entry.pop("instagram_business_account", None)
                if page.instagram is not None:
                    ig = page.instagram
                    full = {
                        "id": ig.id,
                        "username": ig.username,
                        "name": ig.name,
                        "profile_picture_url": ig.profile_picture_url,
                    }
                    wanted = re.findall(r"[a-z_]+", spec.partition("{")[2]) or ["id"]
                    entry["instagram_business_account"] = {k: full[k] for k in wanted if k in full}
        return entry

    @staticmethod
    def _page_node(page: Page) -> dict[str, Any]:
        node: dict[str, Any] = {
            "id": page.id,
            "name": page.name,
            "category": page.category,
            "link": page.link,
            "picture": {"data": {"url": page.picture_url, "height": 200, "width": 200, "is_silhouette": False}},
        }
        if page.username:
            node["username"] = page.username
        return node

    # ---- Page writes -------------------------------------------------------------------------

    def _page_for_write(self, caller: Caller, page_id: str) -> Page:
        if self.state.page(page_id) is None:
            raise GraphFailure(object_not_found(page_id))
        if caller.page is None or caller.page.id != page_id or not caller.granted("pages_manage_posts"):
            raise permission_error(_POST_AS_PAGE)
        return caller.page

    def _new_post(self, page: Page, kind: str, message: str | None, **extra: Any) -> dict[str, Any]:
        now = time.time()
        number = self.state.new_id("")
        post_id = f"{page.id}_{number}"
        record: dict[str, Any] = {
            "id": post_id,
            "pageId": page.id,
            "type": kind,
            "message": message,
            "createdTime": graph_time(now),
            "createdAt": now,
            "permalinkUrl": f"https://www.facebook.com/{page.id}/posts/{number}",
            **extra,
        }
        self.records.put(post_id, "post", record)
        return record

    def _check_message(self, page: Page, message: str | None, *, duplicates: bool) -> None:
        if message is not None and len(message) > TEXT_MAX:
            raise GraphFailure(invalid_param("Message is too long"))
        if not duplicates or not message:
            return
        mine = [p for p in self.records.items("post") if p["pageId"] == page.id]
        if mine and mine[-1].get("message") == message and time.time() - mine[-1]["createdAt"] < DUPLICATE_WINDOW:
            raise GraphFailure(graph_error(400, 506, "(#506) Duplicate status message"))

    def _feed(self, page: Page, params: dict[str, str]) -> SandboxResponse:
        message = params.get("message")
        attached = _attached_media(params)
        if attached is None:
            raise GraphFailure(invalid_param("param attached_media must be an array of objects with media_fbid"))
        if not message and not params.get("link") and not attached:
            raise GraphFailure(invalid_param("Missing message or attachment"))
        with self.lock:
            self._check_message(page, message, duplicates=not attached)
            photos = []
            for index, fbid in enumerate(attached):
                photo = self.records.get(("photo", fbid))
                if photo is None or photo["pageId"] != page.id or photo.get("attachedTo"):
                    raise GraphFailure(invalid_param(f"attached_media[{index}] has an invalid media_fbid {fbid}"))
                photos.append(photo)
            kind = "album" if photos else ("link" if params.get("link") else "status")
            record = self._new_post(
                page,
                kind,
                message,
                link=params.get("link"),
                attachedMedia=[{"id": p["id"], "url": p["url"], "altText": p.get("altText")} for p in photos],
            )
            for photo in photos:
                photo["attachedTo"] = record["id"]
        return SandboxResponse.json(200, {"id": record["id"]})

    def _photos(self, page: Page, params: dict[str, str]) -> SandboxResponse:
        url = params.get("url")
        if not url:
            raise GraphFailure(graph_error(400, 324, "(#324) Requires upload file"))
        message = params.get("message") or params.get("caption")
        published = params.get("published", "true").lower() != "false"
        fetched = fetch(url)
        mime = sniff(fetched.data)[0] if fetched else None
        if fetched is None or mime is None or not mime.startswith("image/"):
            raise GraphFailure(graph_error(400, 324, "(#324) Missing or invalid image file"))
        if len(fetched.data) > PHOTO_MAX_BYTES:
            raise GraphFailure(
                graph_error(
                    400,
                    100,
                    "(#100) Photos should be smaller than 4 MB and saved as JPG, PNG, GIF, TIFF, HEIF or WebP files.",
                    subcode=1366046,
                    user_title="Photo is too large",
                )
            )
        with self.lock:
            self._check_message(page, message, duplicates=False)
            photo_id = self.state.new_id("5")
            photo = {
                "id": photo_id,
                "pageId": page.id,
                "url": url,
                "contentType": mime,
                "size": len(fetched.data),
                "altText": params.get("alt_text_custom"),
                "published": published,
                "createdAt": time.time(),
            }
            self.records.put(("photo", photo_id), "photo", photo)
            if not published:
                return SandboxResponse.json(200, {"id": photo_id})
            record = self._new_post(
                page, "photo", message, attachedMedia=[{"id": photo_id, "url": url, "altText": photo["altText"]}]
            )
            photo["attachedTo"] = record["id"]
        return SandboxResponse.json(200, {"id": photo_id, "post_id": record["id"]})

    def _videos(self, page: Page, params: dict[str, str]) -> SandboxResponse:
        url = params.get("file_url")
        if not url:
            raise GraphFailure(graph_error(400, 390, "(#390) There was a problem uploading your video file."))
        fetched = fetch(url)
        mime = sniff(fetched.data)[0] if fetched else None
        if fetched is None or mime is None or not mime.startswith("video/"):
            raise GraphFailure(
                graph_error(400, 352, "Sorry, the video file you selected is in a format that we don't support.")
            )
        description = params.get("description")
        with self.lock:
            self._check_message(page, description, duplicates=False)
            video_id = self.state.new_id("7")
            self._new_post(
                page,
                "video",
                description,
                videoId=video_id,
                title=params.get("title"),
                video={"url": url, "contentType": mime, "size": len(fetched.data)},
                videoPermalink=f"/{page.id}/videos/{video_id}/",
            )
        return SandboxResponse.json(200, {"id": video_id})

    # ---- reads -------------------------------------------------------------------------------

    def _readable_page(self, caller: Caller, page_id: str) -> Page:
        page = self.state.page(page_id)
        if page is None or (caller.page is None and caller.manages(page_id) is None):
            raise GraphFailure(object_not_found(page_id))
        if caller.page is not None and caller.page.id != page_id:
            raise GraphFailure(object_not_found(page_id))
        return page

    def _list(self, caller: Caller, page_id: str, edge: str, params: dict[str, str]) -> SandboxResponse:
        page = self._readable_page(caller, page_id)
        fields = fields_of(params)
        with self.lock:
            posts = [p for p in self.records.items("post") if p["pageId"] == page.id]
        if edge == "videos":
            entries = [self._video_node(p) for p in posts if p["type"] == "video"]
            default: tuple[str, ...] = ("id", "description", "updated_time")
        else:
            entries = [self._post_node(p) for p in posts]
            default = ("id", "message", "created_time")
        entries.reverse()  # newest first
        start, limit = _uncursor(params.get("after")), _limit(params)
        chosen = entries[start : start + limit]
        body: dict[str, Any] = {"data": [_select(e, fields, default) for e in chosen]}
        if start + len(chosen) < len(entries):
            body["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(chosen))}}
        return SandboxResponse.json(200, body)

    @staticmethod
    def _post_node(post: dict[str, Any]) -> dict[str, Any]:
        node = {"id": post["id"], "created_time": post["createdTime"], "permalink_url": post["permalinkUrl"]}
        if post.get("message"):
            node["message"] = post["message"]
        return node

    @staticmethod
    def _video_node(post: dict[str, Any]) -> dict[str, Any]:
        node = {
            "id": post["videoId"],
            "created_time": post["createdTime"],
            "updated_time": post["createdTime"],
            "permalink_url": post["videoPermalink"],
            "post_id": post["id"],
        }
        if post.get("message"):
            node["description"] = post["message"]
        return node

    def _object(self, caller: Caller, object_id: str, params: dict[str, str]) -> SandboxResponse:
        fields = fields_of(params)
        if self.state.page(object_id) is not None:
            page = self._readable_page(caller, object_id)
            return SandboxResponse.json(200, _select(self._page_node(page), fields, ("name", "id")))
        with self.lock:
            post = self.records.get(object_id)
            photo = self.records.get(("photo", object_id))
            video = next((p for p in self.records.items("post") if p.get("videoId") == object_id), None)
        owner = (post or photo or video or {}).get("pageId")
        if (
            owner is None
            or (caller.page is not None and caller.page.id != owner)
            or (caller.page is None and caller.manages(owner) is None)
        ):
            raise GraphFailure(object_not_found(object_id))
        if post is not None:
            node = self._post_node(post)
        elif video is not None:
            node = {**self._video_node(video), "status": {"video_status": "ready"}}
        else:
            assert photo is not None
            node = {"id": photo["id"], "created_time": graph_time(photo["createdAt"])}
            if photo.get("attachedTo"):
                node["link"] = f"https://www.facebook.com/photo/?fbid={photo['id']}"
        return SandboxResponse.json(200, _select(node, fields, ("id", "created_time")))

    # ---- control -------------------------------------------------------------------------------

    def control(self, action: str, request: SandboxRequest) -> SandboxResponse | None:
        if action == "users" and request.method == "GET":
            users = [
                {
                    "user": u.key,
                    "id": u.id,
                    "name": u.name,
                    "pages": [
                        {"id": p.id, "name": p.name, "instagram": p.instagram.username if p.instagram else None}
                        for p in u.pages
                    ],
                    "declined": sorted(u.declined),
                }
                for u in FIXTURES.values()
            ]
            return SandboxResponse.json(200, {"users": users})
        if action == "photos" and request.method == "GET":
            return SandboxResponse.json(200, {"photos": [dict(p) for p in self.records.items("photo")]})
        return self.state.provider.control(action, request)


def _attached_media(params: dict[str, str]) -> list[str] | None:
    """``attached_media`` as a JSON array, or ``attached_media[N]`` form keys; the media_fbids in
    order, or None when it is malformed."""
    raw: list[Any] = []
    if "attached_media" in params:
        try:
            parsed = json.loads(params["attached_media"])
        except ValueError:
            return None
        if not isinstance(parsed, list):
            return None
        raw = parsed
    indexed = sorted(
        (int(m.group(1)), value)
        for key, value in params.items()
        if (m := re.fullmatch(r"attached_media\[(\d+)\]", key))
    )
    for _, value in indexed:
        try:
            raw.append(json.loads(value))
        except ValueError:
            return None
    ids = []
    for entry in raw:
        fbid = entry.get("media_fbid") if isinstance(entry, dict) else None
        if isinstance(fbid, int) and not isinstance(fbid, bool):
            fbid = str(fbid)
        if not isinstance(fbid, str) or not fbid:
            return None
        ids.append(fbid)
    return ids

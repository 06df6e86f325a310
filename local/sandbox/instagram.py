"""Simulated Instagram Graph API (with Facebook Login) under ``/instagram`` (PLATFORMS.md §3).
In reality the same ``graph.facebook.com`` host as Facebook; here its own prefix, sharing the
Meta state (``local.sandbox.meta``), so a Page token from the Facebook login works here.

Endpoints (a leading ``/v{N}.0`` is accepted): ``GET /{ig_user}?fields=...``,
``POST /{ig_user}/media`` (containers: ``image_url``; ``media_type=REELS`` + ``video_url``;
``is_carousel_item`` with ``image_url`` or ``media_type=VIDEO`` + ``video_url``;
``media_type=CAROUSEL`` + ``children``), ``GET /{container}?fields=status_code,status``,
``POST /{ig_user}/media_publish`` (``creation_id``), ``GET /{media}?fields=permalink,...``,
``GET /{ig_user}/media`` (newest first), ``GET /{ig_user}/content_publishing_limit``.

Checked as Instagram does: the token may be a Page token of the linked Page or a user token of
someone who manages it; ``instagram_content_publish`` must be granted ((#10) otherwise);
images are fetched and must be JPEG (2207005), ≤ 8 MiB (36000/2207004) and 4:5..1.91:1
(36003/2207009), an unreachable URL is 9004/2207052; videos are fetched while the container
processes and end in ``ERROR`` (status carries 2207052 / 2207026) when unreachable or not a video;
carousels take 2–10 finished children of the same account (2207028); ``media_publish`` of an
unfinished container is 9007/2207027, over the daily quota 9/2207042.
"""

from __future__ import annotations

import time
from typing import Any, Final

from local.sandbox.core import SandboxRequest, SandboxResponse
from local.sandbox.graph import (
    fields_of,
    graph_error,
    graph_params,
    graph_token,
    invalid_param,
    missing_param,
    object_not_found,
    unknown_path,
)
from local.sandbox.meta import (
    Caller,
    Container,
    GraphFailure,
    InstagramAccount,
    MetaSandbox,
    fetch,
    graph_time,
    sniff,
)

CAPTION_MAX: Final = 2_200
IMAGE_MAX_BYTES: Final = 8 * 1024 * 1024
ASPECT_MIN: Final = 0.8
ASPECT_MAX: Final = 1.91
CAROUSEL_MIN: Final = 2
CAROUSEL_MAX: Final = 10
QUOTA_WINDOW: Final = 86_400
LIST_LIMIT_DEFAULT: Final = 25

_NO_PERMISSION: Final = "(#10) Application does not have permission for this action"


def _fetch_failed() -> GraphFailure:
    return GraphFailure(
        graph_error(
            400,
            9004,
            "Only photo or video can be accepted as media type.",
            subcode=2207052,
            user_title="Media download has failed.",
            user_msg="The media could not be fetched from the URI.",
        )
    )


class InstagramSandbox(MetaSandbox):
    name = "instagram"
    publishing_edges = frozenset({"media", "media_publish"})

    def describe_call(self, request: SandboxRequest) -> dict[str, Any]:
        params = graph_params(request)
        return {k: params[k] for k in ("media_type", "creation_id") if k in params}

    def route(self, request: SandboxRequest, path: str, parts: list[str], params: dict[str, str]) -> SandboxResponse:
        with self.lock:
            caller = self.state.caller(graph_token(request, params))
        if len(parts) == 2 and request.method == "POST" and parts[1] == "media":
            return self._create(self._account(caller, parts[0], publish=True), params)
        if len(parts) == 2 and request.method == "POST" and parts[1] == "media_publish":
            return self._publish(self._account(caller, parts[0], publish=True), params)
        if len(parts) == 2 and request.method == "GET" and parts[1] == "media":
            return self._list(self._account(caller, parts[0]), params)
        if len(parts) == 2 and request.method == "GET" and parts[1] == "content_publishing_limit":
            return self._quota(self._account(caller, parts[0]))
        if len(parts) == 1 and request.method == "GET":
            return self._object(caller, parts[0], params)
        return unknown_path(path)

    def _account(self, caller: Caller, ig_id: str, *, publish: bool = False) -> InstagramAccount:
        found = self.state.instagram(ig_id)
        if found is None:
            raise GraphFailure(object_not_found(ig_id))
        account, page = found
        allowed = caller.page.id == page.id if caller.page is not None else caller.manages(page.id) is not None
        if not allowed or not caller.granted("instagram_basic"):
            raise GraphFailure(object_not_found(ig_id))
        if publish and not caller.granted("instagram_content_publish"):
            raise GraphFailure(graph_error(403, 10, _NO_PERMISSION))
        return account

    # ---- containers --------------------------------------------------------------------------

    def _create(self, account: InstagramAccount, params: dict[str, str]) -> SandboxResponse:
        media_type = (params.get("media_type") or "").upper()
        carousel_item = params.get("is_carousel_item", "false").lower() == "true"
        caption = params.get("caption")
        if caption is not None and len(caption) > CAPTION_MAX:
            raise GraphFailure(
                graph_error(400, 100, "The caption is too long.", subcode=2207010, user_title="Caption too long")
            )
        if media_type == "CAROUSEL":
            return self._create_carousel(account, params, caption)
        if media_type in ("REELS", "VIDEO"):
            if media_type == "VIDEO" and not carousel_item:
                raise GraphFailure(
                    invalid_param(
                        "The VIDEO media type is no longer supported for feed videos; use REELS.", subcode=2207023
                    )
                )
            if not params.get("video_url"):
                raise GraphFailure(missing_param("video_url"))
            return self._create_video(account, params, caption, media_type, carousel_item)
        if media_type not in ("", "IMAGE"):
            raise GraphFailure(invalid_param(f"The media type {media_type} is not supported.", subcode=2207023))
        if not params.get("image_url"):
            raise GraphFailure(missing_param("image_url"))
        return self._create_image(account, params, caption, carousel_item)

    def _create_image(
        self, account: InstagramAccount, params: dict[str, str], caption: str | None, carousel_item: bool
    ) -> SandboxResponse:
        url = params["image_url"]
        fetched = fetch(url)
        if fetched is None:
            raise _fetch_failed()
        mime, width, height = sniff(fetched.data)
        if mime != "image/jpeg":
            raise GraphFailure(
                graph_error(
                    400,
                    9004,
                    "The image format is not supported.",
                    subcode=2207005,
                    user_title="Unsupported format",
                    user_msg="The image format is not supported. Supported format: JPEG.",
                )
            )
        if len(fetched.data) > IMAGE_MAX_BYTES:
            raise GraphFailure(
                graph_error(400, 36000, "The image size is too large.", subcode=2207004, user_title="Image too large")
            )
        if width and height and not ASPECT_MIN <= width / height <= ASPECT_MAX:
            raise GraphFailure(
                graph_error(
                    400,
                    36003,
                    "The aspect ratio is not supported.",
                    subcode=2207009,
                    user_title="Invalid aspect ratio",
                    user_msg="The submitted image with aspect ratio must be between 4:5 and 1.91:1.",
                )
            )
        container = self._container(account, "IMAGE", caption, url, params.get("alt_text"), carousel_item)
        container.media_meta = {"contentType": mime, "width": width, "height": height, "size": len(fetched.data)}
        return SandboxResponse.json(200, {"id": container.id})

    def _create_video(
        self, account: InstagramAccount, params: dict[str, str], caption: str | None, kind: str, carousel_item: bool
    ) -> SandboxResponse:
        url = params["video_url"]
        fetched = fetch(url)  # Meta downloads while the container processes: problems show as ERROR
        mime = sniff(fetched.data)[0] if fetched else None
        error = 2207052 if fetched is None else (None if mime and mime.startswith("video/") else 2207026)
        container = self._container(account, kind, caption, url, None, carousel_item, error=error)
        if fetched is not None:
            container.media_meta = {"contentType": mime, "size": len(fetched.data)}
        return SandboxResponse.json(200, {"id": container.id})

    def _create_carousel(
        self, account: InstagramAccount, params: dict[str, str], caption: str | None
    ) -> SandboxResponse:
        children = [c.strip() for c in (params.get("children") or "").split(",") if c.strip()]
        if not CAROUSEL_MIN <= len(children) <= CAROUSEL_MAX:
            raise GraphFailure(
                invalid_param(
                    f"The carousel should have at least {CAROUSEL_MIN} and at most {CAROUSEL_MAX} children.",
                    subcode=2207028,
                )
            )
        with self.lock:
            for child_id in children:
                child = self.state.containers.get(child_id)
                if child is None or child.ig_user != account.id or not child.is_carousel_item:
                    raise GraphFailure(invalid_param(f"Invalid carousel child {child_id}.", subcode=2207028))
                status = self.state.status_of(child, poll=False)
                if status != "FINISHED":
                    raise GraphFailure(
                        graph_error(
                            400,
                            9007,
                            "Media ID is not available",
                            subcode=2207027,
                            user_title="Media not ready",
                            user_msg=f"The carousel child {child_id} is not ready ({status}).",
                        )
                    )
            container = self._container(account, "CAROUSEL", caption, None, None, False, children=children)
        return SandboxResponse.json(200, {"id": container.id})

    def _container(
        self,
        account: InstagramAccount,
        kind: str,
        caption: str | None,
        url: str | None,
        alt_text: str | None,
        carousel_item: bool,
        *,
        children: list[str] | None = None,
        error: int | None = None,
    ) -> Container:
        with self.lock:
            container = Container(
                id=self.state.new_id("179"),
                ig_user=account.id,
                kind=kind,
                caption=caption,
                media_url=url,
                alt_text=alt_text,
                is_carousel_item=carousel_item,
                children=children or [],
                created_at=time.time(),
                error_subcode=error,
            )
            self.state.containers[container.id] = container
        return container

    # ---- publish -----------------------------------------------------------------------------

    def _publish(self, account: InstagramAccount, params: dict[str, str]) -> SandboxResponse:
        creation_id = params.get("creation_id")
        if not creation_id:
            raise GraphFailure(missing_param("creation_id"))
        with self.lock:
            container = self.state.containers.get(creation_id)
            if container is None or container.ig_user != account.id or container.is_carousel_item:
                raise GraphFailure(object_not_found(creation_id))
            status = self.state.status_of(container, poll=False)
            if status != "FINISHED":
                subcode, title = (2207020, "Media expired") if status == "EXPIRED" else (2207027, "Media not ready")
                raise GraphFailure(
                    graph_error(
                        400,
                        9007,
                        "Media ID is not available",
                        subcode=subcode,
                        user_title=title,
                        user_msg="The media is not ready for publishing, please wait for a moment",
                    )
                )
            if self._published_today(account) >= self.state.quota_total:
                raise GraphFailure(
                    graph_error(
                        400,
                        9,
                        "Application request limit reached",
                        subcode=2207042,
                        type_="OAuthException",
                        user_title="Max posts reached",
                        user_msg="You have reached the maximum number of posts that can be published in 24 hours.",
                    )
                )
            record = self._media_record(account, container)
            container.published_media_id = record["id"]
            self.records.put(record["id"], "post", record)
        return SandboxResponse.json(200, {"id": record["id"]})

    def _media_record(self, account: InstagramAccount, container: Container) -> dict[str, Any]:
        now = time.time()
        shortcode = self.state.shortcode()
        media_type = {"IMAGE": "IMAGE", "REELS": "VIDEO", "CAROUSEL": "CAROUSEL_ALBUM"}[container.kind]
        product = "REELS" if container.kind == "REELS" else "FEED"
        children = [self._child_entry(self.state.containers[c]) for c in container.children]
        return {
            "id": self.state.new_id("180"),
            "igUserId": account.id,
            "username": account.username,
            "containerId": container.id,
            "mediaType": media_type,
            "mediaProductType": product,
            "caption": container.caption,
            "mediaUrl": container.media_url,
            "altText": container.alt_text,
            "media": container.media_meta,
            "children": children,
            "permalink": f"https://www.instagram.com/{'reel' if product == 'REELS' else 'p'}/{shortcode}/",
            "shortcode": shortcode,
            "timestamp": graph_time(now),
            "createdAt": now,
        }

    @staticmethod
    def _child_entry(child: Container) -> dict[str, Any]:
        return {
            "containerId": child.id,
            "mediaType": "IMAGE" if child.kind == "IMAGE" else "VIDEO",
            "mediaUrl": child.media_url,
            "altText": child.alt_text,
        }

    def _published_today(self, account: InstagramAccount) -> int:
        since = time.time() - QUOTA_WINDOW
        return sum(1 for m in self.records.items("post") if m["igUserId"] == account.id and m["createdAt"] >= since)

    # ---- reads -------------------------------------------------------------------------------

    def _quota(self, account: InstagramAccount) -> SandboxResponse:
        with self.lock:
            used = self._published_today(account)
        config = {"quota_total": self.state.quota_total, "quota_duration": QUOTA_WINDOW}
        return SandboxResponse.json(200, {"data": [{"quota_usage": used, "config": config}]})

    def _list(self, account: InstagramAccount, params: dict[str, str]) -> SandboxResponse:
        fields = fields_of(params) or ["id"]
        with self.lock:
            media = [self._media_node(m) for m in self.records.items("post") if m["igUserId"] == account.id]
        media.reverse()
        try:
            limit = max(1, min(100, int(params.get("limit") or LIST_LIMIT_DEFAULT)))
        except ValueError:
            limit = LIST_LIMIT_DEFAULT
        data = [{k: node[k] for k in fields if k in node} for node in media[:limit]]
        return SandboxResponse.json(200, {"data": data})

    @staticmethod
    def _media_node(media: dict[str, Any]) -> dict[str, Any]:
        node = {
            "id": media["id"],
            "media_type": media["mediaType"],
            "media_product_type": media["mediaProductType"],
            "permalink": media["permalink"],
            "shortcode": media["shortcode"],
            "timestamp": media["timestamp"],
            "username": media["username"],
        }
        if media.get("caption"):
            node["caption"] = media["caption"]
        if media.get("mediaUrl"):
            node["media_url"] = media["mediaUrl"]
        return node

    def _object(self, caller: Caller, object_id: str, params: dict[str, str]) -> SandboxResponse:
        fields = fields_of(params) or ["id"]
        if self.state.instagram(object_id) is not None:
            account = self._account(caller, object_id)
            node: dict[str, Any] = {
                "id": account.id,
                "username": account.username,
                "name": account.name,
                "profile_picture_url": account.profile_picture_url,
                "followers_count": 42,
                "media_count": len([m for m in self.records.items("post") if m["igUserId"] == account.id]),
            }
            return SandboxResponse.json(200, {k: node[k] for k in fields if k in node})
        with self.lock:
            container = self.state.containers.get(object_id)
            media = self.records.get(object_id)
            if container is not None:
                self._account(caller, container.ig_user)
                status = self.state.status_of(container, poll=True)
                node = {"id": container.id, "status_code": status, "status": _status_text(container, status)}
                return SandboxResponse.json(200, {k: node[k] for k in ["id", *fields] if k in node})
        if media is None:
            raise GraphFailure(object_not_found(object_id))
        self._account(caller, media["igUserId"])
        node = self._media_node(media)
        return SandboxResponse.json(200, {k: node[k] for k in ["id", *fields] if k in node})

    # ---- control -----------------------------------------------------------------------------

    def control(self, action: str, request: SandboxRequest) -> SandboxResponse | None:
        if action == "settings" and request.method in ("GET", "POST"):
            return self._settings(request)
        if action == "expire-containers" and request.method == "POST":
            for container in self.state.containers.values():
                container.expired = True
            return SandboxResponse.json(200, {"expired": len(self.state.containers)})
        if action == "containers" and request.method == "GET":
            listed = [
                {
                    "id": c.id,
                    "igUserId": c.ig_user,
                    "kind": c.kind,
                    "status": self.state.status_of(c, poll=False),
                    "children": c.children,
                    "publishedMediaId": c.published_media_id,
                }
                for c in self.state.containers.values()
            ]
            return SandboxResponse.json(200, {"containers": listed})
        # expire-codes / revoke-tokens: the one Facebook login behind both platforms
        return self.state.provider.control(action, request)

    def _settings(self, request: SandboxRequest) -> SandboxResponse:
        if request.method == "POST":
            try:
                spec = request.json() or {}
            except ValueError:
                spec = None
            if not isinstance(spec, dict):
                return graph_error(400, 100, "the body must be a JSON object")
            names = {*self.state.processing, "publishingQuota"}
            for name, value in spec.items():
                if name not in names or isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    return graph_error(400, 100, f"{name}: expected one of {sorted(names)} with a number ≥ 0")
            for name, value in spec.items():
                if name == "publishingQuota":
                    self.state.quota_total = int(value)
                else:
                    self.state.processing[name] = float(value)
        return SandboxResponse.json(200, {**self.state.processing, "publishingQuota": self.state.quota_total})


def _status_text(container: Container, status: str) -> str:
    if status == "ERROR":
        return f"Error: Media upload has failed with error code {container.error_subcode}"
    if status == "IN_PROGRESS":
        return "In Progress"
    if status == "EXPIRED":
        return "Expired: the container was not published within 24 hours"
    return status.capitalize()

"""Instagram professional accounts through the Graph API with Facebook Login (PLATFORMS.md §3).

Connecting goes through Facebook (``crosspost.platforms.facebook.FacebookAuth``): an Instagram
row holds the linked Page's token (no expiry, no refresh) and the IG user id.

Publishing is container → (processing) → ``media_publish``:

- one image: an image container; one video: a ``REELS`` container; 2–10 items: one child
  container each (``is_carousel_item``), then a ``CAROUSEL`` container over them;
- containers process on Meta's side (``status_code`` IN_PROGRESS → FINISHED, or ERROR): the
  adapter polls until ``request.deadline`` and otherwise returns ``PublishProgress`` with the
  container ids, and the next attempt resumes from them;
- ``media_publish`` is the only step that is not safe to repeat. Before it, a resumed attempt
  reads the container: ``PUBLISHED`` means an earlier attempt went out (the media is then found
  in the account's media list), so it is never published twice. ``find_published`` does the same
  after an outcome-unknown failure, and without a container id it matches the caption and time
  in the account's newest media.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Final

from crosspost.errors import (
    AuthExpiredError,
    ContentRejectedError,
    ErrorDetail,
    OutcomeUnknownError,
    PlatformError,
)
from crosspost.lazy_imports import lazy_module
from crosspost.platforms.base import (
    Capabilities,
    MediaItem,
    PlatformAdapter,
    PlatformConfig,
    PublishProgress,
    PublishRequest,
    PublishResult,
    TokenSet,
)
from crosspost.platforms.graph import (
    LOOKUP_LIMIT,
    GraphClient,
    classify_graph,
    graph_base,
    media_error,
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

PLATFORM: Final = "instagram"
CAPTION_MAX: Final = 2_200
HASHTAGS_MAX: Final = 30
MENTIONS_MAX: Final = 20
CAROUSEL_MAX: Final = 10
IMAGE_MAX_BYTES: Final = 8 * 1024 * 1024
VIDEO_MAX_BYTES: Final = 300 * 1024 * 1024
ASPECT_RATIO: Final = (0.8, 1.91)  # 4:5 .. 1.91:1

# Polling a container within one attempt: quick at first (images are usually done at once),
# then at most every few seconds.
POLL_FIRST_SECONDS: Final = 0.5
POLL_MAX_SECONDS: Final = 5.0
# When the attempt's budget is spent: look again after this long (Meta suggests about once a
# minute for videos; a shorter first look keeps short clips quick).
CHECK_AFTER_SECONDS: Final = 15.0

_HASHTAG: Final = re.compile(r"(?<![\w&])#\w+")
_MENTION: Final = re.compile(r"(?<![\w.])@[\w.]+")
_ERROR_SUBCODE: Final = re.compile(r"\b(2207\d{3})\b")

READY: Final = frozenset({"FINISHED", "PUBLISHED"})


def hashtag_count(text: str) -> int:
    return len(_HASHTAG.findall(text))


def mention_count(text: str) -> int:
    return len(_MENTION.findall(text))


def container_error_rule(status: Any) -> tuple[str, str]:
    """(rule, what) for a container in ERROR: its ``status`` field carries the error subcode."""
    found = _ERROR_SUBCODE.search(status) if isinstance(status, str) else None
    known = media_error(int(found.group(1))) if found else None
    if known is None:
        return f"{PLATFORM}.container.error", "Instagram could not process the media."
    return f"{PLATFORM}.{known[0]}", known[1]


class InstagramAdapter(PlatformAdapter):
    capabilities: ClassVar[Capabilities] = Capabilities(
        platform=PLATFORM,
        text_max_graphemes=CAPTION_MAX,
        max_images=CAROUSEL_MAX,
        max_videos=CAROUSEL_MAX,
        image_video_exclusive=False,  # carousels mix images and videos
        max_media=CAROUSEL_MAX,
        media_required=True,
        lookup=True,
        renews_indefinitely=True,  # the Page token has no expiry date
        media_transfer="url",
        image_mime_types=frozenset({"image/jpeg"}),
        image_max_bytes=IMAGE_MAX_BYTES,
        video_mime_types=frozenset({"video/mp4", "video/quicktime"}),
        video_max_bytes=VIDEO_MAX_BYTES,
        image_aspect_ratio=ASPECT_RATIO,
    )

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig | None = None) -> None:
        super().__init__(http, config)
        self._graph = GraphClient(http, graph_base(self.config), platform=PLATFORM)

    @classmethod
    def preflight(cls, request: PublishRequest) -> list[ErrorDetail]:
        """Caption quirks; media types, sizes, ratios and counts come from the capabilities."""
        found: list[ErrorDetail] = []
        if (n := hashtag_count(request.text)) > HASHTAGS_MAX:
            found.append(
                ErrorDetail(
                    f"{PLATFORM}.text.hashtags_max", f"Instagram allows {HASHTAGS_MAX} hashtags; this has {n}.", "text"
                )
            )
        if (n := mention_count(request.text)) > MENTIONS_MAX:
            found.append(
                ErrorDetail(
                    f"{PLATFORM}.text.mentions_max",
                    f"Instagram allows {MENTIONS_MAX} @-mentions; this has {n}.",
                    "text",
                )
            )
        return found

    def classify(self, response: httpx.Response, *, creates: bool) -> PlatformError:
        return classify_graph(response, platform=PLATFORM, creates=creates)

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        raise AuthExpiredError(
            "The Page token this Instagram account publishes with cannot be renewed without the user; "
            "reconnect through Facebook.",
            platform=PLATFORM,
            rule="instagram.auth.expired",
            remediation="Reconnect the Facebook account that manages the linked Page.",
        )

    # ---- publish ---------------------------------------------------------------------------

    async def publish(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | PublishProgress:
        ig_user = _ig_user(tokens)
        token = tokens.access_token
        self._check_media(request.media)
        state: dict[str, Any] = dict(request.progress or {})
        container = state.get("containerId")
        known: list[str] | None = None  # the container's status when it was just read
        if isinstance(container, str):
            status = await self._status(container, token)
            known = [status]
            if status == "PUBLISHED":  # an earlier attempt published it and lost the answer
                found = await self._find(ig_user, token, request)
                if found is None:
                    raise OutcomeUnknownError(
                        "Instagram shows the post's container as published but not the post itself yet.",
                        platform=PLATFORM,
                        rule=f"{PLATFORM}.outcome_unknown",
                    )
                return found
            if status == "EXPIRED":  # never published (containers live 24 h): start again
                state, known = {}, None
        if not isinstance(state.get("containerId"), str):
            if len(request.media) > 1:
                waited = await self._carousel_children(ig_user, token, request, state)
                if waited is not None:
                    return waited
                state["containerId"] = await self._create(
                    ig_user,
                    token,
                    {"media_type": "CAROUSEL", "children": ",".join(state["children"]), "caption": request.text},
                )
            else:
                state["containerId"] = await self._create(ig_user, token, _single(request))
        container_id: str = state["containerId"]
        ready = await self._wait([container_id], token, request.deadline, known=known)
        if ready == "expired":
            return await self.publish(tokens, _restart(request))
        if not ready:
            return PublishProgress(state=state, check_after=CHECK_AFTER_SECONDS)
        data = await self._graph.post(
            f"{ig_user}/media_publish", token=token, data={"creation_id": container_id}, creates=True
        )
        media_id = required_id(data, "id", platform=PLATFORM, creates=True)
        return PublishResult(uri=media_id, url=await self._permalink(media_id, token))

    def _check_media(self, media: tuple[MediaItem, ...]) -> None:
        if not media:
            raise ContentRejectedError(
                "Instagram posts need at least one image or video.",
                platform=PLATFORM,
                rule=f"{PLATFORM}.media.required",
                field="media",
                remediation="Attach an image or a video.",
            )
        if len(media) > CAROUSEL_MAX:
            raise ContentRejectedError(
                f"Instagram carousels take 2 to {CAROUSEL_MAX} items.",
                platform=PLATFORM,
                rule=f"{PLATFORM}.media.count_max",
                field="media",
            )
        reject_media_problems(self.capabilities, media)

    async def _carousel_children(
        self, ig_user: str, token: str, request: PublishRequest, state: dict[str, Any]
    ) -> PublishProgress | None:
        """Create (or resume) the child containers and wait until every one is FINISHED; the
        carousel container can only be made from finished children."""
        children = state.get("children")
        if not (isinstance(children, list) and all(isinstance(c, str) for c in children)):
            children = [await self._create(ig_user, token, _child(item, i)) for i, item in enumerate(request.media)]
            state["children"] = children
        ready = await self._wait(children, token, request.deadline)
        if ready == "expired":
            state.pop("children")
            return await self._carousel_children(ig_user, token, _restart(request), state)
        if not ready:
            return PublishProgress(state=state, check_after=CHECK_AFTER_SECONDS)
        return None

    async def _create(self, ig_user: str, token: str, form: dict[str, str]) -> str:
        # A container is invisible until published: creating another one is harmless.
        data = await self._graph.post(f"{ig_user}/media", token=token, data=form, creates=False)
        return required_id(data, "id", platform=PLATFORM, creates=False)

    async def _status(self, container_id: str, token: str) -> str:
        data = await self._graph.get(container_id, token=token, params={"fields": "status_code,status"})
        code = data.get("status_code")
        if code == "ERROR":
            rule, what = container_error_rule(data.get("status"))
            raise ContentRejectedError(
                f"Instagram could not process the media: {what}",
                platform=PLATFORM,
                rule=rule,
                platform_response={"status_code": code, "status": str(data.get("status"))[:300]},
            )
        return code if isinstance(code, str) else "IN_PROGRESS"

    async def _wait(
        self, container_ids: list[str], token: str, deadline: float | None, *, known: list[str] | None = None
    ) -> bool | str:
        """True when every container is ready, False when the deadline comes first, "expired"
        when one expired. ``deadline`` None: look once, do not wait. ``known``: the statuses
        just read, used instead of a first read."""
        interval = POLL_FIRST_SECONDS
        while True:
            statuses = known or [await self._status(c, token) for c in container_ids]
            known = None
            if "EXPIRED" in statuses:
                return "expired"
            if all(s in READY for s in statuses):
                return True
            if deadline is None or time.monotonic() + interval > deadline:
                return False
            await asyncio.sleep(interval)
            interval = min(interval * 2, POLL_MAX_SECONDS)

    async def _permalink(self, media_id: str, token: str) -> str | None:
        try:  # the post is live: failing to read its address must not fail it
            data = await self._graph.get(media_id, token=token, params={"fields": "permalink"})
        except PlatformError:
            return None
        link = data.get("permalink")
        return link if isinstance(link, str) and link.startswith("https://") else None

    # ---- reconcile -------------------------------------------------------------------------

    async def find_published(self, tokens: TokenSet, request: PublishRequest) -> PublishResult | None:
        """A known container answers for itself (only PUBLISHED went out); otherwise the newest
        media with this caption, published no earlier than the stored post."""
        ig_user = _ig_user(tokens)
        container = (request.progress or {}).get("containerId")
        if isinstance(container, str):
            try:
                status = await self._status(container, tokens.access_token)
            except ContentRejectedError:
                return None  # a container in ERROR was never published
            if status != "PUBLISHED":
                return None
        return await self._find(ig_user, tokens.access_token, request)

    async def _find(self, ig_user: str, token: str, request: PublishRequest) -> PublishResult | None:
        params = {"fields": "id,caption,timestamp,permalink,media_type", "limit": str(LOOKUP_LIMIT)}
        data = await self._graph.get(f"{ig_user}/media", token=token, params=params)
        entries = data.get("data")
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                continue
            if same_text(entry.get("caption"), request.text) and published_after(
                entry.get("timestamp"), request.created_at
            ):
                link = entry.get("permalink")
                return PublishResult(uri=entry["id"], url=link if isinstance(link, str) else None)
        return None


def _ig_user(tokens: TokenSet) -> str:
    ig_user = tokens.extra.get("igUserId")
    if not isinstance(ig_user, str) or not ig_user:
        raise AuthExpiredError(
            "The stored Instagram connection names no Instagram account; reconnect through Facebook.",
            platform=PLATFORM,
            rule="instagram.auth.expired",
        )
    return ig_user


def _single(request: PublishRequest) -> dict[str, str]:
    item = request.media[0]
    if item.kind == "video":
        return {
            "media_type": "REELS",
            "video_url": media_url(item, 0, PLATFORM),
            "caption": request.text,
            "share_to_feed": "true",
        }
    form = {"image_url": media_url(item, 0, PLATFORM), "caption": request.text}
    if item.alt_text:
        form["alt_text"] = item.alt_text
    return form


def _child(item: MediaItem, index: int) -> dict[str, str]:
    if item.kind == "video":
        return {"media_type": "VIDEO", "video_url": media_url(item, index, PLATFORM), "is_carousel_item": "true"}
    form = {"image_url": media_url(item, index, PLATFORM), "is_carousel_item": "true"}
    if item.alt_text:
        form["alt_text"] = item.alt_text
    return form


def _restart(request: PublishRequest) -> PublishRequest:
    return replace(request, progress=None)

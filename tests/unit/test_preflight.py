"""Stage-A preflight is driven by an adapter's declared capabilities."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crosspost.errors import PlatformError
from crosspost.platforms.base import (
    Capabilities,
    MediaItem,
    PlatformAdapter,
    PublishRequest,
    PublishResult,
    TokenSet,
)
from crosspost.services.preflight import preflight


class LimitedAdapter(PlatformAdapter):
    capabilities = Capabilities(
        platform="demo",
        text_max_graphemes=10,
        text_max_bytes=20,
        max_images=2,
        max_videos=1,
        alt_text_max_graphemes=5,
        media_required=True,
        first_comment=True,
        first_comment_max_graphemes=3,
    )

    async def publish(self, tokens: TokenSet, request: PublishRequest) -> PublishResult:
        raise NotImplementedError

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        raise NotImplementedError

    def classify(self, response: object, *, creates: bool) -> PlatformError:
        raise NotImplementedError


IMAGE = MediaItem(kind="image")
VIDEO = MediaItem(kind="video")


def rules(
    text: str = "ok",
    media: tuple[MediaItem, ...] = (IMAGE,),
    first_comment: str | None = None,
    blocks: frozenset[str] = frozenset(),
) -> set[str]:
    request = PublishRequest(
        post_id="", text=text, created_at=datetime.now(UTC), media=media, first_comment=first_comment
    )
    return {d.rule for d in preflight(LimitedAdapter, request, set(blocks))}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, set()),
        ({"text": "x" * 11}, {"demo.text.max_graphemes"}),
        ({"text": "🇫🇷" * 10}, {"demo.text.max_bytes"}),  # 10 graphemes (flags), 80 bytes
        ({"text": "e\u0301" * 10}, {"demo.text.max_bytes"}),  # combining accents: 10 graphemes, 30 bytes
        ({"media": ()}, {"demo.media.required"}),
        ({"media": (IMAGE, VIDEO)}, {"demo.media.image_video_exclusive"}),
        ({"media": (IMAGE, IMAGE, IMAGE)}, {"demo.media.count_max"}),
        ({"media": (VIDEO, VIDEO)}, {"demo.media.count_max"}),
        ({"media": (MediaItem(kind="image", alt_text="toolong"),)}, {"demo.media.alt_text_max_graphemes"}),
        ({"first_comment": "four"}, {"demo.first_comment.max_graphemes"}),
        ({"blocks": frozenset({"pinterest"})}, {"post.options.platform_mismatch"}),
        ({"text": "x" * 30, "media": ()}, {"demo.text.max_graphemes", "demo.text.max_bytes", "demo.media.required"}),
    ],
)
def test_rules(kwargs: dict[str, object], expected: set[str]) -> None:
    assert rules(**kwargs) == expected  # type: ignore[arg-type]

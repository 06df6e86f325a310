"""Stage-A preflight is driven by an adapter's declared capabilities."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from crosspost.errors import ErrorDetail, PlatformError
from crosspost.platforms.base import (
    Capabilities,
    MediaItem,
    PlatformAdapter,
    PublishRequest,
    PublishResult,
    TokenSet,
)
from crosspost.services.preflight import preflight, preflight_error


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


# ---- stage B where the media's type, size and dimensions are known -------------------------------


class PickyAdapter(LimitedAdapter):
    capabilities = Capabilities(
        platform="picky",
        text_max_graphemes=100,
        max_images=3,
        max_videos=2,
        max_media=4,
        image_video_exclusive=False,
        image_mime_types=frozenset({"image/jpeg"}),
        image_max_bytes=1000,
        video_mime_types=frozenset({"video/*"}),
        video_max_bytes=5000,
        image_aspect_ratio=(0.8, 1.91),
    )


def picky(*media: MediaItem) -> list[tuple[str, str | None]]:
    request = PublishRequest(post_id="", text="ok", created_at=datetime.now(UTC), media=media)
    return [(d.rule, d.field) for d in preflight(PickyAdapter, request, set())]


JPEG = MediaItem(kind="image", content_type="image/jpeg", size=500, width=1080, height=1080)
MP4 = MediaItem(kind="video", content_type="video/mp4", size=4000)


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        ((JPEG, MP4), []),
        ((MediaItem(kind="image"),), []),  # a URL medium: nothing known until publish
        ((replace(JPEG, content_type="image/png"),), [("picky.media.mime_allowed", "media[0]")]),
        ((MP4, replace(MP4, content_type="video/quicktime")), []),  # video/* accepts every video type
        ((JPEG, replace(JPEG, size=1001)), [("picky.media.too_large", "media[1]")]),
        ((replace(JPEG, size=None, data=bytes(1001)),), [("picky.media.too_large", "media[0]")]),
        ((replace(MP4, size=5001),), [("picky.media.too_large", "media[0]")]),
        ((replace(JPEG, width=1080, height=1350),), []),  # 4:5, the edge
        ((replace(JPEG, width=1079, height=1350),), []),  # rounds like the platforms do
        ((replace(JPEG, width=1000, height=1350),), [("picky.media.aspect_ratio", "media[0]")]),
        ((replace(JPEG, width=2000, height=500),), [("picky.media.aspect_ratio", "media[0]")]),
        ((replace(MP4, content_type="video/mp4"),) * 2 + (JPEG,) * 2, []),
        ((MP4,) * 2 + (JPEG,) * 3, [("picky.media.count_max", "media")]),  # 5 > max_media 4
        ((JPEG,) * 4, [("picky.media.count_max", "media")]),  # 4 > max_images 3
        (
            (replace(JPEG, content_type="image/gif", size=2000, width=10, height=100),),
            [
                ("picky.media.mime_allowed", "media[0]"),
                ("picky.media.too_large", "media[0]"),
                ("picky.media.aspect_ratio", "media[0]"),
            ],
        ),
    ],
)
def test_stage_b_runs_wherever_type_size_and_dimensions_are_known(
    media: tuple[MediaItem, ...], expected: list[tuple[str, str | None]]
) -> None:
    assert picky(*media) == expected


def test_given_an_adapter_repeating_a_capability_check_then_each_failure_is_reported_once() -> None:
    class Repeating(PickyAdapter):
        @classmethod
        def preflight(cls, request: PublishRequest) -> list[ErrorDetail]:
            return [ErrorDetail("picky.media.too_large", "again", "media[0]"), ErrorDetail("picky.quirk", "q", None)]

    request = PublishRequest(post_id="", text="ok", created_at=datetime.now(UTC), media=(replace(JPEG, size=9999),))
    assert [d.rule for d in preflight(Repeating, request, set())] == ["picky.media.too_large", "picky.quirk"]


@pytest.mark.parametrize(
    ("rules", "code", "status", "headline"),
    [
        (["demo.text.max_graphemes", "media.url.forbidden"], "preflight_failed", 400, "demo.text.max_graphemes"),
        (["demo.text.max_graphemes", "media.not_ready"], "validation_failed", 400, "media.not_ready"),
        (["media[1].bytesBase64", "demo.media.count_max"], "validation_failed", 400, "media[1].bytesBase64"),
        (["media.not_ready", "media.unknown", "demo.text.max_graphemes"], "not_found", 404, "media.unknown"),
    ],
)
def test_the_answer_to_collected_failures_names_the_gravest_and_lists_all(
    rules: list[str], code: str, status: int, headline: str
) -> None:
    error = preflight_error([ErrorDetail(rule, f"{rule} failed", "media") for rule in rules], "demo")
    assert (error.code, error.http_status, error.rule, error.platform) == (code, status, headline, "demo")
    assert [d.rule for d in error.details] == rules


# ---- the real Bluesky adapter, rule by rule (API.md "Preflight rules") ------------------------------


def bluesky(**kwargs: object) -> set[str]:
    from crosspost.platforms.bluesky import BlueskyAdapter

    fields: dict[str, object] = {"post_id": "", "text": "hello", "created_at": datetime.now(UTC)}
    blocks = kwargs.pop("blocks", set())
    fields.update(kwargs)
    return {d.rule for d in preflight(BlueskyAdapter, PublishRequest(**fields), set(blocks))}  # type: ignore[arg-type]


PNG_ITEM = MediaItem(kind="image", content_type="image/png", size=1000, width=800, height=600)
VIDEO_ITEM = MediaItem(kind="video", content_type="video/mp4", size=100_000)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, set()),
        ({"text": "x" * 300}, set()),
        ({"text": "x" * 301}, {"bluesky.text.max_graphemes"}),
        ({"text": "👩‍👩‍👧‍👦" * 121}, {"bluesky.text.max_bytes"}),  # 121 graphemes of 25 bytes
        ({"media": (PNG_ITEM,) * 4}, set()),
        ({"media": (PNG_ITEM,) * 5}, {"bluesky.media.count_max"}),
        ({"media": (VIDEO_ITEM,) * 2}, {"bluesky.media.count_max"}),
        ({"media": (PNG_ITEM, VIDEO_ITEM)}, {"bluesky.media.image_video_exclusive"}),
        ({"media": (replace(PNG_ITEM, alt_text="a" * 2000),)}, set()),
        ({"media": (replace(PNG_ITEM, alt_text="a" * 2001),)}, {"bluesky.media.alt_text_max_graphemes"}),
        ({"media": (replace(PNG_ITEM, size=2_000_001),)}, {"bluesky.media.too_large"}),
        ({"media": (replace(VIDEO_ITEM, content_type="video/quicktime"),)}, {"bluesky.media.mime_allowed"}),
        ({"first_comment": "c" * 301}, {"bluesky.first_comment.max_graphemes"}),
        ({"blocks": {"pinterest"}}, {"post.options.platform_mismatch"}),
    ],
)
def test_bluesky_rules(kwargs: dict[str, object], expected: set[str]) -> None:
    assert bluesky(**kwargs) == expected

"""How Threads counts text (PLATFORMS.md §4.3: emoji count as their UTF-8 bytes), and the
Threads rules of the stage-A preflight."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crosspost.platforms.base import MediaItem, PublishRequest
from crosspost.platforms.threads import ThreadsAdapter, threads_text_length
from crosspost.services.preflight import preflight
from local.sandbox.threads import text_length as sandbox_text_length


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("", 0),
        ("😀", 4),  # U+1F600: 4 UTF-8 bytes
        ("👍🏽", 8),  # emoji + skin tone modifier
        ("👨\u200d👩\u200d👧", 18),  # ZWJ family: one grapheme, 18 bytes
        ("🇫🇷", 8),  # flag: two regional indicators
        ("1\ufe0f\u20e3", 7),  # keycap
        ("❤\ufe0f", 6),  # heart with the emoji variation selector
        ("❤", 1),  # text presentation: an ordinary character
        ("©", 1),
        ("中文", 2),  # CJK counts as characters, not bytes
        ("e\u0301", 1),  # e + combining acute: one grapheme
        ("hi 😀!", 8),
    ],
)
def test_text_length_counts_emoji_as_their_bytes(text: str, expected: int) -> None:
    assert threads_text_length(text) == expected
    assert ThreadsAdapter.text_length(text) == expected
    # The sandbox counts independently: the two must agree.
    assert sandbox_text_length(text) == expected


def request(text: str = "Hello", **kwargs: object) -> PublishRequest:
    return PublishRequest(post_id="post_1", text=text, created_at=datetime(2026, 5, 8, tzinfo=UTC), **kwargs)  # type: ignore[arg-type]


def rules(req: PublishRequest) -> list[str]:
    blocks = {name for name in ("threads", "pinterest") if name in req.options}
    return [d.rule for d in preflight(ThreadsAdapter, req, blocks)]


def test_500_characters_pass_and_emoji_tip_it_over() -> None:
    assert rules(request("a" * 500)) == []
    assert rules(request("a" * 496 + "😀")) == []  # 496 + 4 = 500
    assert rules(request("a" * 497 + "😀")) == ["threads.text.max_graphemes"]  # 501


def test_twenty_mixed_media_pass_and_twenty_one_do_not() -> None:
    image = MediaItem(kind="image", url="https://cdn.example/a.jpg", content_type="image/jpeg")
    video = MediaItem(kind="video", url="https://cdn.example/v.mp4", content_type="video/mp4")
    assert rules(request(media=(image,) * 10 + (video,) * 10)) == []
    assert "threads.media.count_max" in rules(request(media=(image,) * 11 + (video,) * 10))


def test_only_jpeg_and_png_images_within_8_mb() -> None:
    gif = MediaItem(kind="image", url="https://cdn.example/a.gif", content_type="image/gif", size=100)
    big = MediaItem(kind="image", url="https://cdn.example/a.jpg", content_type="image/jpeg", size=9 * 1024 * 1024)
    assert "threads.media.mime_allowed" in rules(request(media=(gif,)))
    assert "threads.media.too_large" in rules(request(media=(big,)))


def test_reply_to_id_must_be_a_media_id() -> None:
    assert rules(request(options={"threads": {"replyToId": "17890000000000001"}})) == []
    assert rules(request(options={"threads": {"replyToId": None}})) == []
    found = preflight(ThreadsAdapter, request(options={"threads": {"replyToId": "../me"}}), {"threads"})
    assert [(d.rule, d.field) for d in found] == [("threads.reply_to.invalid", "threads.replyToId")]


def test_alt_text_is_limited_to_1000_characters() -> None:
    item = MediaItem(kind="image", url="https://cdn.example/a.jpg", content_type="image/jpeg", alt_text="x" * 1001)
    assert "threads.media.alt_text_max_graphemes" in rules(request(media=(item,)))

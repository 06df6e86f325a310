"""Stage-A preflight (API.md "Preflight rules"): every check that needs no platform call, run
before anything is stored. Limits come from the adapter's ``Capabilities``; an adapter adds its
own quirks through ``preflight``. Every failing rule is reported, not just the first."""

from __future__ import annotations

from crosspost.errors import ErrorDetail
from crosspost.platforms.base import Capabilities, PlatformAdapter, PublishRequest
from crosspost.platforms.text import grapheme_count, utf8_len

OPTION_BLOCKS = ("pinterest", "threads")


def _text_rules(
    caps: Capabilities, text: str, *, what: str, field: str, max_graphemes: int | None, max_bytes: int | None
) -> list[ErrorDetail]:
    p = caps.platform
    found: list[ErrorDetail] = []
    if max_graphemes is not None and (n := grapheme_count(text)) > max_graphemes:
        found.append(
            ErrorDetail(
                f"{p}.{what}.max_graphemes",
                f"{p.title()} allows {max_graphemes} characters; this has {n}.",
                field,
            )
        )
    if max_bytes is not None and (n := utf8_len(text)) > max_bytes:
        found.append(
            ErrorDetail(f"{p}.{what}.max_bytes", f"{p.title()} allows {max_bytes} UTF-8 bytes; this has {n}.", field)
        )
    return found


def preflight(adapter: type[PlatformAdapter], request: PublishRequest, option_blocks: set[str]) -> list[ErrorDetail]:
    caps = adapter.capabilities
    p = caps.platform
    found = _text_rules(
        caps,
        request.text,
        what="text",
        field="text",
        max_graphemes=caps.text_max_graphemes,
        max_bytes=caps.text_max_bytes,
    )
    if request.first_comment is not None and caps.first_comment:
        found += _text_rules(
            caps,
            request.first_comment,
            what="first_comment",
            field="firstComment.text",
            max_graphemes=caps.first_comment_max_graphemes,
            max_bytes=None,
        )

    images = [m for m in request.media if m.kind == "image"]
    videos = [m for m in request.media if m.kind == "video"]
    if caps.media_required and not request.media:
        found.append(
            ErrorDetail(f"{p}.media.required", f"{p.title()} posts need at least one image or video.", "media")
        )
    if caps.image_video_exclusive and images and videos:
        found.append(
            ErrorDetail(
                f"{p}.media.image_video_exclusive",
                f"{p.title()} posts carry images or a video, not both.",
                "media",
            )
        )
    if len(images) > caps.max_images or len(videos) > caps.max_videos:
        found.append(
            ErrorDetail(
                f"{p}.media.count_max",
                f"{p.title()} allows up to {caps.max_images} images or {caps.max_videos} video per post.",
                "media",
            )
        )
    if caps.alt_text_max_graphemes is not None:
        for i, item in enumerate(request.media):
            if item.alt_text and grapheme_count(item.alt_text) > caps.alt_text_max_graphemes:
                found.append(
                    ErrorDetail(
                        f"{p}.media.alt_text_max_graphemes",
                        f"Alt text is limited to {caps.alt_text_max_graphemes} characters on {p.title()}.",
                        f"media[{i}].altText",
                    )
                )
    for block in sorted(option_blocks):
        if block != p:
            found.append(
                ErrorDetail(
                    "post.options.platform_mismatch",
                    f"The '{block}' options apply to {block} accounts only.",
                    block,
                )
            )
    return found + adapter.preflight(request)

"""Stage-A preflight (API.md "Preflight rules"): every check that needs no platform call, run
before anything is stored. Limits come from the adapter's ``Capabilities``; an adapter adds its
own quirks through ``preflight``. Every failing rule is reported, not just the first.

Stage B (a platform's MIME, byte and aspect-ratio limits) is ``media_limits``: stage A runs it on
every medium whose type and size are known at request time (inline bytes, uploaded media), and the
publisher runs the same function on media fetched from a URL at publish.

``preflight_error`` turns the collected failures into the one error the API answers: 404
``not_found`` when a ``mediaId`` is unknown, else 400 ``validation_failed`` when the request itself
is wrong (a medium not uploaded yet, bytes of an unsupported type), else 400 ``preflight_failed``;
``details`` always lists every failure.
"""

from __future__ import annotations

from crosspost.errors import CrosspostError, ErrorDetail, NotFoundError, PreflightFailedError, ValidationFailedError
from crosspost.platforms.base import Capabilities, MediaItem, PlatformAdapter, PublishRequest
from crosspost.platforms.text import grapheme_count, utf8_len

OPTION_BLOCKS = ("pinterest", "threads")

# Rules about the request's own media rather than a platform's limits (see ``preflight_error``).
MEDIA_UNKNOWN = "media.unknown"
MEDIA_REQUEST_RULES = frozenset(
    {
        "media.not_ready",
        "media.failed",
        "media.type_unsupported",
        "media.kind_mismatch",
        "media.content_type_mismatch",
        "media.bytes_invalid",
    }
)
# Aspect ratios are compared with this slack: 1080 × 1350 is 0.8 exactly, but 1079 × 1350 should pass
# a 4:5 minimum as the platforms themselves round.
_ASPECT_SLACK = 0.005


def _text_rules(
    adapter: type[PlatformAdapter],
    text: str,
    *,
    what: str,
    field: str,
    max_graphemes: int | None,
    max_bytes: int | None,
) -> list[ErrorDetail]:
    p = adapter.capabilities.platform
    found: list[ErrorDetail] = []
    count = adapter.text_length if what == "text" else grapheme_count
    if max_graphemes is not None and (n := count(text)) > max_graphemes:
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
        adapter,
        request.text,
        what="text",
        field="text",
        max_graphemes=caps.text_max_graphemes,
        max_bytes=caps.text_max_bytes,
    )
    if request.first_comment is not None and caps.first_comment:
        found += _text_rules(
            adapter,
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
                f"{p.title()} allows up to {_count(caps.max_images, 'image')} and "
                f"{_count(caps.max_videos, 'video')} per post; this one has "
                f"{_count(len(images), 'image')} and {_count(len(videos), 'video')}.",
                "media",
            )
        )
    elif caps.max_media is not None and len(request.media) > caps.max_media:
        found.append(
            ErrorDetail(
                f"{p}.media.count_max",
                f"{p.title()} allows up to {caps.max_media} media items per post; this one has {len(request.media)}.",
                "media",
            )
        )
    for index, item in enumerate(request.media):
        found += media_limits(caps, index, item)
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
    # The platform's own rules lead: they are the more specific ones (Pinterest's
    # `single_only` names the problem better than the generic `count_max` it implies).
    return _unique(adapter.preflight(request) + found)


def media_limits(caps: Capabilities, index: int, item: MediaItem) -> list[ErrorDetail]:
    """Stage B: the platform's MIME types, byte limit and image aspect ratio, checked as far as
    ``item``'s type, size (or bytes) and dimensions are known; an unknown value is not a failure."""
    p = caps.platform
    field = f"media[{index}]"
    is_image = item.kind == "image"
    found: list[ErrorDetail] = []
    allowed = caps.image_mime_types if is_image else caps.video_mime_types
    if item.content_type is not None and not _accepts(allowed, item.content_type):
        accepted = ", ".join(sorted(allowed)) or "none"
        found.append(
            ErrorDetail(
                f"{p}.media.mime_allowed",
                f"{p.title()} accepts {accepted} for {item.kind}s; this one is {item.content_type}.",
                field,
            )
        )
    limit = caps.image_max_bytes if is_image else caps.video_max_bytes
    size = item.size if item.size is not None else (len(item.data) if item.data is not None else None)
    if limit is not None and size is not None and size > limit:
        found.append(
            ErrorDetail(
                f"{p}.media.too_large",
                f"{p.title()} {item.kind}s are limited to {limit:,} bytes; this one has {size:,}.",
                field,
            )
        )
    if is_image and caps.image_aspect_ratio is not None and item.width and item.height:
        low, high = caps.image_aspect_ratio
        ratio = item.width / item.height
        if not low - _ASPECT_SLACK <= ratio <= high + _ASPECT_SLACK:
            found.append(
                ErrorDetail(
                    f"{p}.media.aspect_ratio",
                    f"{p.title()} images need a width/height ratio between {low:g} and {high:g}; "
                    f"this one is {item.width} × {item.height} ({ratio:.2f}).",
                    field,
                )
            )
    return found


def preflight_error(details: list[ErrorDetail], platform: str | None) -> CrosspostError:
    """The error to answer for ``details`` (not empty), every failure listed."""
    details = _unique(details)
    unknown = [d for d in details if d.rule == MEDIA_UNKNOWN]
    request = [d for d in details if d.rule in MEDIA_REQUEST_RULES or d.rule.startswith("media[")]
    error: CrosspostError
    if unknown:
        first = unknown[0]
        error = NotFoundError(first.message, rule=first.rule, field=first.field, details=details)
    elif request:
        first = request[0]
        error = ValidationFailedError(first.message, rule=first.rule, field=first.field, details=details)
    else:
        error = PreflightFailedError.from_details(details)
    error.platform = platform
    return error


def _accepts(allowed: frozenset[str], content_type: str) -> bool:
    """``allowed`` names types (``image/png``) or whole families (``image/*``)."""
    return content_type in allowed or f"{content_type.split('/')[0]}/*" in allowed


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _unique(details: list[ErrorDetail]) -> list[ErrorDetail]:
    """Each (rule, field) once: an adapter's own checks may repeat a capability check."""
    seen: set[tuple[str, str | None]] = set()
    unique = []
    for detail in details:
        if (detail.rule, detail.field) not in seen:
            seen.add((detail.rule, detail.field))
            unique.append(detail)
    return unique

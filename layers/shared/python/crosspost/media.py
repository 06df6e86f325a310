"""What a media file is, from its first bytes: type (magic numbers) and dimensions.

Neutral ground for everything that looks at media: the media service (uploads, inline bytes, URL
media fetched at publish), the preflight's stage-B checks and the platform adapters that need an
image's aspect ratio. Pure functions over bytes: no I/O, nothing imported beyond the standard
library, so the API paths that never see media pay nothing for it.

Only the leading bytes are read: an image's header, an MP4/QuickTime file's ``ftyp`` box and, when
it is within the bytes given, the first video track's header (``moov/trak/tkhd``) for its size.
A presigned upload is sniffed from its first ``SNIFF_BYTES`` (a ranged GET), so a video whose
``moov`` box sits at the end of the file has unknown dimensions; that is fine: nothing requires them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

MediaKind = Literal["image", "video"]

# How much of an object is read to sniff it: image headers sit at the start (a JPEG's EXIF block
# may push its frame header past 64 KiB), and a "fast start" MP4 has its moov box up front.
SNIFF_BYTES: Final = 256 * 1024

# Every type crosspost accepts at all; which of them a platform takes is its Capabilities' business.
SUPPORTED_TYPES: Final[dict[str, MediaKind]] = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/gif": "image",
    "image/webp": "image",
    "video/mp4": "video",
    "video/quicktime": "video",
}


@dataclass(frozen=True)
class Sniffed:
    """What the bytes say: a MIME type (None: not a format crosspost recognises) and, where the
    header carries them, pixel dimensions."""

    content_type: str | None
    width: int | None = None
    height: int | None = None

    @property
    def kind(self) -> MediaKind | None:
        return SUPPORTED_TYPES.get(self.content_type or "")


def kind_of(content_type: str) -> MediaKind | None:
    """The kind of a supported type (``image/png`` → image), None for anything else."""
    return SUPPORTED_TYPES.get(normalize_content_type(content_type))


def normalize_content_type(value: str | None) -> str:
    """``Image/JPEG; charset=x`` → ``image/jpeg``; ``image/jpg`` (a common misspelling) → ``image/jpeg``."""
    media_type = (value or "").split(";")[0].strip().lower()
    return "image/jpeg" if media_type in ("image/jpg", "image/pjpeg") else media_type


def sniff(data: bytes) -> Sniffed:
    """The type and dimensions of ``data`` (a whole file or its first bytes)."""
    mime, width, height = sniff_image(data)
    if mime is not None:
        return Sniffed(mime, width, height)
    return _sniff_iso_media(data)


# ---- images --------------------------------------------------------------------------------------


def _jpeg_size(data: bytes) -> tuple[int | None, int | None]:
    """Width and height from the first frame header (SOFn) of a JPEG, walking its segments."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None, None


def sniff_image(data: bytes) -> tuple[str | None, int | None, int | None]:
    """(MIME type, width, height) from an image's first bytes; ``None`` where unknown.
    JPEG, PNG, GIF and WebP (lossy, lossless and extended)."""
    width: int | None = None
    height: int | None = None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        mime = "image/png"
        if data[12:16] == b"IHDR":
            width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    elif data.startswith(b"\xff\xd8\xff"):
        mime = "image/jpeg"
        width, height = _jpeg_size(data)
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        mime = "image/gif"
        width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        mime = "image/webp"
        chunk = data[12:16]
        if chunk == b"VP8X" and len(data) >= 30:
            width, height = 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
        elif chunk == b"VP8 " and len(data) >= 30:
            width = int.from_bytes(data[26:28], "little") & 0x3FFF
            height = int.from_bytes(data[28:30], "little") & 0x3FFF
        elif chunk == b"VP8L" and len(data) >= 25:
            bits = int.from_bytes(data[21:25], "little")
            width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    else:
        return None, None, None
    return mime, width or None, height or None


# ---- ISO base media files: MP4, QuickTime (and the HEIF/AVIF images that share the box format) ----

_QUICKTIME_BRANDS: Final = frozenset({b"qt  "})
# HEIF and AVIF stills use the same ftyp box: images, not videos, and not accepted (no platform here
# takes them); named so the refusal says what the file is.
_HEIF_BRANDS: Final = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"hevc": "image/heic",
    b"hevx": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"avis": "image/avif",
}
# Audio-only MPEG-4 (M4A, M4B, M4P): not a video.
_AUDIO_BRANDS: Final = frozenset({b"M4A ", b"M4B ", b"M4P "})
# Old QuickTime files may start with one of these atoms instead of ftyp.
_QUICKTIME_ATOMS: Final = frozenset({b"moov", b"mdat", b"wide", b"pnot"})
_CONTAINERS: Final = frozenset({b"moov", b"trak"})


def _sniff_iso_media(data: bytes) -> Sniffed:
    if len(data) < 12:
        return Sniffed(None)
    box = data[4:8]
    if box == b"ftyp":
        size = int.from_bytes(data[0:4], "big")
        major = data[8:12]
        brands = {major} | {data[i : i + 4] for i in range(16, min(size, len(data), 256) - 3, 4)}
        if major in _HEIF_BRANDS:
            return Sniffed(_HEIF_BRANDS[major])
        if major in _AUDIO_BRANDS:
            return Sniffed("audio/mp4")
        mime = "video/quicktime" if major in _QUICKTIME_BRANDS or brands <= _QUICKTIME_BRANDS else "video/mp4"
    elif box in _QUICKTIME_ATOMS:
        mime = "video/quicktime"
    else:
        return Sniffed(None)
    width, height = _track_size(data)
    return Sniffed(mime, width, height)


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, content start, content end) of each box between ``start`` and ``end``, stopping at
    the first box that runs past the bytes we have."""
    found = []
    i = start
    while i + 8 <= end:
        size = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        header = 8
        if size == 1:  # 64-bit size follows the type
            if i + 16 > end:
                break
            size = int.from_bytes(data[i + 8 : i + 16], "big")
            header = 16
        elif size == 0:  # to the end of the file
            size = end - i
        if size < header:
            break
        found.append((kind, i + header, min(i + size, end)))
        if i + size > end:
            break
        i += size
    return found


def _track_size(data: bytes) -> tuple[int | None, int | None]:
    """Width and height of the first track with a picture (``moov/trak/tkhd``), if those boxes are
    within ``data``. tkhd stores them as 16.16 fixed-point numbers at the end of its fields."""
    pending = [(0, len(data))]
    while pending:
        start, end = pending.pop(0)
        for kind, content, content_end in _boxes(data, start, end):
            if kind in _CONTAINERS:
                pending.append((content, content_end))
            elif kind == b"tkhd" and content < content_end:
                version = data[content]
                offset = content + (88 if version == 1 else 76)
                if offset + 8 <= content_end:
                    width = int.from_bytes(data[offset : offset + 4], "big") >> 16
                    height = int.from_bytes(data[offset + 4 : offset + 8], "big") >> 16
                    if width and height:
                        return width, height
    return None, None

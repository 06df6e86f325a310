"""What a file is, from its first bytes (crosspost.media): types, dimensions, and what is refused."""

from __future__ import annotations

import struct

import pytest

from crosspost.media import SUPPORTED_TYPES, Sniffed, kind_of, normalize_content_type, sniff
from crosspost.services.media import content_problems
from local.sandbox.files import files, jpeg, mp4, png


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def tkhd(width: int, height: int, *, version: int = 0) -> bytes:
    """A track header whose 16.16 width and height sit where ISO/IEC 14496-12 puts them."""
    times = bytes(20) if version == 0 else bytes(32)  # creation, modification, track id, reserved, duration
    fields = times + bytes(8) + bytes(8) + bytes(36)  # reserved, layer/group/volume/reserved, matrix
    return box(b"tkhd", bytes([version, 0, 0, 7]) + fields + struct.pack(">II", width << 16, height << 16))


def movie(brand: bytes, *tracks: bytes, compatible: bytes = b"isom") -> bytes:
    ftyp = box(b"ftyp", brand + struct.pack(">I", 0) + compatible)
    return ftyp + box(b"moov", box(b"mvhd", bytes(100)) + b"".join(box(b"trak", t) for t in tracks))


WEBP_VP8X = b"RIFF\x00\x00\x00\x00WEBPVP8X" + bytes(8) + b"\x09\x00\x00\x04\x00\x00"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (png(800, 600), Sniffed("image/png", 800, 600)),
        (jpeg(1080, 1350, pad_to=70_000), Sniffed("image/jpeg", 1080, 1350)),
        (b"GIF89a\x02\x00\x03\x00" + bytes(10), Sniffed("image/gif", 2, 3)),
        (WEBP_VP8X, Sniffed("image/webp", 10, 5)),
        (mp4(4096), Sniffed("video/mp4")),  # no moov box: dimensions unknown
        (movie(b"mp42", tkhd(0, 0), tkhd(1920, 1080)), Sniffed("video/mp4", 1920, 1080)),  # audio track first
        (movie(b"isom", tkhd(720, 1280, version=1)), Sniffed("video/mp4", 720, 1280)),
        (movie(b"qt  ", tkhd(640, 480), compatible=b"qt  "), Sniffed("video/quicktime", 640, 480)),
        (box(b"wide", b"") + box(b"mdat", bytes(16)), Sniffed("video/quicktime")),  # old QuickTime, no ftyp
        (box(b"ftyp", b"heic" + bytes(4) + b"mif1heic"), Sniffed("image/heic")),
        (box(b"ftyp", b"avif" + bytes(4) + b"mif1avif"), Sniffed("image/avif")),
        (box(b"ftyp", b"M4A " + bytes(4) + b"isom"), Sniffed("audio/mp4")),
        (b"%PDF-1.7 ...", Sniffed(None)),
        (b"", Sniffed(None)),
        (b"\x00\x00\x00\x18ftyp", Sniffed(None)),  # cut short
    ],
)
def test_sniff(data: bytes, expected: Sniffed) -> None:
    assert sniff(data) == expected


def test_given_the_sandbox_files_then_each_sniffs_as_its_served_type() -> None:
    for name, (content_type, data) in files().items():
        assert sniff(data).content_type == content_type, name


def test_given_a_box_that_claims_more_than_the_bytes_then_sniffing_stops_quietly() -> None:
    truncated = movie(b"mp42", tkhd(1920, 1080))[:60]
    assert sniff(truncated) == Sniffed("video/mp4")
    assert sniff(box(b"ftyp", b"mp42" + bytes(8)) + struct.pack(">I", 1) + b"moov" + bytes(4)) == Sniffed("video/mp4")


def test_content_types_are_normalised_and_kinds_follow_the_supported_list() -> None:
    assert normalize_content_type("Image/JPG; charset=binary") == "image/jpeg"
    assert kind_of("video/quicktime") == "video" and kind_of("image/webp") == "image"
    assert kind_of("image/heic") is None and kind_of("application/pdf") is None
    assert {kind_of(t) for t in SUPPORTED_TYPES} == {"image", "video"}


@pytest.mark.parametrize(
    ("kind", "data", "declared", "rule"),
    [
        ("image", png(2, 2), "image/png", None),
        ("image", png(2, 2), "image/jpeg", "media.content_type_mismatch"),
        ("video", png(2, 2), None, "media.kind_mismatch"),
        ("image", mp4(), None, "media.kind_mismatch"),
        ("image", b"plain text", None, "media.type_unsupported"),
        ("image", box(b"ftyp", b"heic" + bytes(8)), None, "media.type_unsupported"),
    ],
)
def test_content_problems(kind: str, data: bytes, declared: str | None, rule: str | None) -> None:
    problems = content_problems(kind, sniff(data), field="f", declared=declared)
    assert [p.rule for p in problems] == ([rule] if rule else [])

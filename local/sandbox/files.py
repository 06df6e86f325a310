"""Media files the sandbox serves at ``GET /_sandbox/files/{name}``, so media-by-URL (and the
platforms that fetch media themselves) can be tested offline: the sandbox's origin passes the
local-only URL allow-list. The images are header-only (valid signature and dimensions, no real
pixels): every check in crosspost and the sandbox reads only those.
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache
from typing import Final


def jpeg(width: int, height: int, *, pad_to: int = 0) -> bytes:
    """A JPEG with a baseline SOF0 header of ``width`` × ``height`` (padded with a comment)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    body = b"\xff\xd8" + app0 + sof0
    filler = max(0, pad_to - len(body) - 2)
    while filler > 0:
        chunk = min(filler, 65_533) if filler != 65_534 else 65_532
        chunk = max(chunk - 4, 0)
        body += b"\xff\xfe" + struct.pack(">H", chunk + 2) + bytes(chunk)
        filler -= chunk + 4
    return body + b"\xff\xd9"


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def mp4(size: int = 4096) -> bytes:
    """An MP4 signature (``ftyp`` box) padded with an ``mdat`` box."""
    ftyp = struct.pack(">I", 24) + b"ftypmp42" + struct.pack(">I", 0) + b"mp42isom"
    return ftyp + struct.pack(">I", max(8, size - 24)) + b"mdat" + bytes(max(0, size - 32))


@lru_cache(maxsize=1)
def files() -> dict[str, tuple[str, bytes]]:
    """name → (content type, bytes)."""
    return {
        "square.jpg": ("image/jpeg", jpeg(1080, 1080, pad_to=20_000)),
        "portrait.jpg": ("image/jpeg", jpeg(1080, 1350, pad_to=20_000)),
        "wide.jpg": ("image/jpeg", jpeg(2000, 500, pad_to=20_000)),  # 4:1, outside Instagram's range
        "big.jpg": ("image/jpeg", jpeg(1080, 1080, pad_to=9 * 1024 * 1024)),  # over Instagram's 8 MiB
        "image.png": ("image/png", png(800, 600)),
        "clip.mp4": ("video/mp4", mp4(64 * 1024)),
    }


FILE_NAMES: Final = ("square.jpg", "portrait.jpg", "wide.jpg", "big.jpg", "image.png", "clip.mp4")

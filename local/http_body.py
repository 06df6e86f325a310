"""Reading a request body in the local servers (the API Gateway emulator and the sandbox).

An oversized body is still read and dropped up to ``DRAIN_LIMIT``: closing a socket with
unread data resets the connection, and the client would never see the 413 answer.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Final

DRAIN_LIMIT: Final = 64 * 1024 * 1024


def read_body(handler: BaseHTTPRequestHandler, limit: int) -> bytes | None:
    """The body (Content-Length or chunked), or None when it is larger than ``limit``."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        return _read_chunked(handler, limit)
    length = int(handler.headers.get("Content-Length") or 0)
    if length > limit:
        _discard(handler, length)
        return None
    return handler.rfile.read(length) if length > 0 else b""


def _read_chunked(handler: BaseHTTPRequestHandler, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    total = 0
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks) if total <= limit else None
        total += size
        if total > DRAIN_LIMIT:
            handler.close_connection = True
            return None
        if total > limit:
            _discard(handler, size)
            chunks.clear()
        else:
            chunks.append(handler.rfile.read(size))
        handler.rfile.readline()


def _discard(handler: BaseHTTPRequestHandler, length: int) -> None:
    if length > DRAIN_LIMIT:
        handler.close_connection = True  # not worth reading: the client may see a reset
        return
    while length > 0:
        read = len(handler.rfile.read(min(length, 1 << 20)))
        if not read:
            break
        length -= read

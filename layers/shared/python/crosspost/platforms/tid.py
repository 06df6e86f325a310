"""AT Protocol TIDs (timestamp identifiers), and the one derived from a crosspost post id.

A TID is a 64-bit integer (top bit 0): microseconds since the Unix epoch << 10 | a 10-bit clock
id, written as 13 characters of the base32-sortable alphabet, so string order is time order.
Bluesky requires post record keys to be TIDs (PLATFORMS.md §1.3).

crosspost *derives* the record key from the post id instead of taking the clock, so every
attempt to publish one post writes the same key and a retry can never create a second post
(``putRecord`` with an identical record at the same key is a no-op). Post ids are
``post_<ULID>``: the ULID's millisecond timestamp gives the time part, a hash of the id fills
the sub-millisecond microseconds and the clock id.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

TID_ALPHABET: Final = "234567abcdefghijklmnopqrstuvwxyz"
TID_LENGTH: Final = 13
TID_PATTERN: Final = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")

_MAX_MICROS: Final = (1 << 53) - 1
_CLOCK_IDS: Final = 1 << 10
_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_LENGTH: Final = 26


def encode_tid(micros: int, clock_id: int) -> str:
    if not 0 <= micros <= _MAX_MICROS:
        raise ValueError("TID timestamp out of range")
    if not 0 <= clock_id < _CLOCK_IDS:
        raise ValueError("TID clock id out of range")
    value = (micros << 10) | clock_id
    chars = []
    for _ in range(TID_LENGTH):
        chars.append(TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def decode_tid(tid: str) -> tuple[int, int]:
    """(microseconds since the epoch, clock id)."""
    if not is_valid_tid(tid):
        raise ValueError("not a TID")
    value = 0
    for char in tid:
        value = (value << 5) | TID_ALPHABET.index(char)
    return value >> 10, value & (_CLOCK_IDS - 1)


def is_valid_tid(value: str) -> bool:
    return bool(TID_PATTERN.match(value))


def ulid_milliseconds(ulid: str) -> int:
    """The 48-bit millisecond timestamp at the front of a ULID (Crockford base32)."""
    text = ulid.upper()
    if len(text) != _ULID_LENGTH or any(c not in _CROCKFORD for c in text) or text[0] > "7":
        raise ValueError("not a ULID")
    value = 0
    for char in text[:10]:
        value = (value << 5) | _CROCKFORD.index(char)
    return value


def derive_tid(post_id: str, *, salt: str = "", fallback_ms: int | None = None) -> str:
    """The record key of ``post_id`` (plus ``salt``, e.g. ``":first-comment"``): always the same
    for the same input. Time part = the ULID's millisecond; when the id holds no ULID (never for
    ids crosspost makes) ``fallback_ms`` is used, and without it this raises ``ValueError``."""
    try:
        milliseconds = ulid_milliseconds(post_id.rpartition("_")[2])
    except ValueError:
        if fallback_ms is None:
            raise
        milliseconds = fallback_ms
    digest = hashlib.sha256(f"{post_id}{salt}".encode()).digest()
    sub_ms = int.from_bytes(digest[:4], "big") % 1000
    clock_id = int.from_bytes(digest[4:6], "big") % _CLOCK_IDS
    return encode_tid(milliseconds * 1000 + sub_ms, clock_id)

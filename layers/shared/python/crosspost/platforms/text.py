"""Counting text the way platforms do: graphemes (user-perceived characters) and UTF-8 bytes."""

from __future__ import annotations

import regex

_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> list[str]:
    return _GRAPHEME.findall(text)  # type: ignore[no-any-return]


def grapheme_count(text: str) -> int:
    return len(graphemes(text))


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))

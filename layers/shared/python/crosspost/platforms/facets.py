"""Bluesky rich-text facets: finding links, @mentions and #hashtags in post text.

Bluesky does not detect links itself: without facets a URL is plain text (PLATFORMS.md §1.4).
The patterns follow the official detector (bluesky-social/atproto
``packages/api/src/rich-text/{detection,util}.ts``), written for the ``regex`` module so that
``\\p{P}`` works; like the official one, ``\\s`` and ``\\d`` are spelled out (JavaScript's
``\\s`` set, ASCII digits). Differences, on purpose:

- links: only ``http(s)://`` URLs, no bare domains (the official bare-domain branch needs the
  full TLD list); the facet's URI gets an IDNA host and a percent-encoded path when the text
  shows characters outside ASCII, so it stays a valid ``uri``;
- mentions: a handle must have the handle syntax (instead of a known TLD); whether it exists
  is settled by resolving it to a DID, and a handle that does not resolve gets no facet;
- overlapping facets are dropped (the first one in the text wins).

Offsets are UTF-8 byte offsets, start inclusive, end exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import regex

from crosspost.platforms.text import grapheme_count, utf8_len

FACET_TYPE: Final = "app.bsky.richtext.facet"
TAG_MAX_GRAPHEMES: Final = 64
TAG_MAX_BYTES: Final = 640
HANDLE_MAX_LENGTH: Final = 253

# JavaScript's \s
_S = r"\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
# Zero-width characters and the emoji variation selector, as in the official TAG_REGEX
_ZW = r"\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"

_MENTION = regex.compile(rf"(^|[{_S}]|\()(@)([a-zA-Z0-9.-]+)(\b)", regex.ASCII)
_URL = regex.compile(rf"(^|[{_S}]|\()(https?://[^{_S}]+)", regex.IGNORECASE)
_TAG = regex.compile(rf"(^|[{_S}])[#\uff03]((?!\ufe0f)[^{_S}{_ZW}]*[^0-9{_S}\p{{P}}{_ZW}]+[^{_S}{_ZW}]*)?")
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+\Z")
_HANDLE = regex.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$", regex.ASCII
)
# Printable ASCII a URI may carry as is; everything else is percent-encoded.
_URI_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"<>\\^`{|}')

FacetKind = Literal["link", "mention", "tag"]


@dataclass(frozen=True)
class DetectedFacet:
    """One facet found in text. ``value`` is the link URI, the mention's handle (not yet a DID)
    or the tag without its ``#``."""

    kind: FacetKind
    byte_start: int
    byte_end: int
    value: str

    def record(self, did: str | None = None) -> dict[str, Any]:
        """The ``app.bsky.richtext.facet`` object; a mention needs its resolved ``did``."""
        feature: dict[str, Any]
        if self.kind == "link":
            feature = {"$type": f"{FACET_TYPE}#link", "uri": self.value}
        elif self.kind == "tag":
            feature = {"$type": f"{FACET_TYPE}#tag", "tag": self.value}
        else:
            if did is None:
                raise ValueError("a mention facet needs a DID")
            feature = {"$type": f"{FACET_TYPE}#mention", "did": did}
        return {"index": {"byteStart": self.byte_start, "byteEnd": self.byte_end}, "features": [feature]}


def is_handle(value: str) -> bool:
    return len(value) <= HANDLE_MAX_LENGTH and bool(_HANDLE.match(value))


def _ascii_uri(uri: str) -> str:
    """The URI with an IDNA host and percent-encoded path, so the facet holds a valid ``uri``."""
    if uri.isascii():
        return uri
    parts = urlsplit(uri)
    netloc = parts.netloc
    if not netloc.isascii():
        try:
            netloc = netloc.encode("idna").decode("ascii")
        except UnicodeError:
            netloc = quote(netloc, safe=_URI_SAFE)
    rest = [quote(part, safe=_URI_SAFE) for part in (parts.path, parts.query, parts.fragment)]
    return urlunsplit((parts.scheme, netloc, *rest))


def _bytes(text: str, index: int) -> int:
    return utf8_len(text[:index])


def _links(text: str) -> list[DetectedFacet]:
    found = []
    for match in _URL.finditer(text):
        uri = match.group(2)
        start, end = match.span(2)
        if uri[-1] in ".,;:!?":
            uri, end = uri[:-1], end - 1
        if uri.endswith(")") and "(" not in uri:
            uri, end = uri[:-1], end - 1
        found.append(DetectedFacet("link", _bytes(text, start), _bytes(text, end), _ascii_uri(uri)))
    return found


def _mentions(text: str) -> list[DetectedFacet]:
    found = []
    for match in _MENTION.finditer(text):
        handle = match.group(3)
        if not is_handle(handle):
            continue  # probably not a handle
        start = match.end(1)  # the "@"
        found.append(DetectedFacet("mention", _bytes(text, start), _bytes(text, match.end(3)), handle.lower()))
    return found


def _tags(text: str) -> list[DetectedFacet]:
    found = []
    for match in _TAG.finditer(text):
        tag = match.group(2)
        if not tag:
            continue
        tag = _TRAILING_PUNCTUATION.sub("", tag.strip())
        if not tag or grapheme_count(tag) > TAG_MAX_GRAPHEMES or utf8_len(tag) > TAG_MAX_BYTES:
            continue
        start = match.end(1)  # the "#"
        found.append(DetectedFacet("tag", _bytes(text, start), _bytes(text, start + 1 + len(tag)), tag))
    return found


def detect_facets(text: str) -> list[DetectedFacet]:
    """Every link, mention and tag in ``text``, in text order, none overlapping."""
    candidates = sorted([*_links(text), *_mentions(text), *_tags(text)], key=lambda f: (f.byte_start, -f.byte_end))
    kept: list[DetectedFacet] = []
    for facet in candidates:
        if not kept or facet.byte_start >= kept[-1].byte_end:
            kept.append(facet)
    return kept


def mention_handles(facets: list[DetectedFacet]) -> list[str]:
    """The distinct handles to resolve, in text order."""
    return list(dict.fromkeys(f.value for f in facets if f.kind == "mention"))


def facet_records(facets: list[DetectedFacet], dids: dict[str, str]) -> list[dict[str, Any]]:
    """The record's ``facets``; mentions whose handle did not resolve are left out."""
    records = []
    for facet in facets:
        if facet.kind == "mention":
            did = dids.get(facet.value)
            if did is None:
                continue
            records.append(facet.record(did))
        else:
            records.append(facet.record())
    return records

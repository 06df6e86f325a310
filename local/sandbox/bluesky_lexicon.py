"""Record validation of the simulated Bluesky PDS: the lexicons it knows (``app.bsky.feed.post``
with its embeds and facets, ``app.bsky.actor.profile``), checked the way the PDS's validator
(``@atproto/lex``) does, with its messages ("Invalid app.bsky.feed.post record: <issue>" is added
by the caller).

The validator reports the FIRST issue, walking each object's properties in the lexicon's order
(``text`` … ``createdAt``): ``string too big (maximum 3000, got 3002) at $.record.text``,
``grapheme too big (maximum 300, got 301) at $.record.text``, ``Missing required key "alt" at
$.record.embed.images[0]``, ``Expected "video/mp4" (got "image/jpeg") at
$.record.embed.video.mimeType``, ``blob too big (maximum 2000000, got 2100000) at
$.record.embed.images[0].image``, ``Invalid datetime (got "yesterday") at $.record.createdAt``.
``tests/realpds/test_sandbox_agrees.py`` sends the same records to the real PDS and to this one
and compares the answers.

Limits are the current lexicon's (PLATFORMS.md §1.4): image blobs 2,000,000 bytes (the PDS 0.4
release the real-PDS tests run still has 1,000,000), video blobs 100,000,000.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import regex

POST: Final = "app.bsky.feed.post"
PROFILE: Final = "app.bsky.actor.profile"
TEXT_MAX_GRAPHEMES: Final = 300
TEXT_MAX_BYTES: Final = 3000
IMAGE_BLOB_MAX: Final = 2_000_000  # app.bsky.embed.images#image.image maxSize
VIDEO_BLOB_MAX: Final = 100_000_000  # app.bsky.embed.video video maxSize
CAPTION_BLOB_MAX: Final = 20_000
THUMB_BLOB_MAX: Final = 1_000_000  # app.bsky.embed.external thumb
AVATAR_BLOB_MAX: Final = 1_000_000

_GRAPHEME: Final = regex.compile(r"\X")
_PREVIEW_MAX: Final = 48  # how much of a string an issue quotes


def graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text))


class Invalid(Exception):
    """The first issue found: ``<message> at <path>``."""


# ---- how the validator words things -------------------------------------------------------------


def describe(value: Any) -> str:
    """A value as the validator's ``(got …)`` shows it (``stringifyValue`` of @atproto/lex-schema)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        shown = value if len(value) < _PREVIEW_MAX else value[: _PREVIEW_MAX - 1] + "…"
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(describe(v) for v in value[:2]) + (", ..." if len(value) > 2 else "") + "]"
    if isinstance(value, dict):
        keys = list(value)
        entries = ", ".join(f"{json.dumps(k, ensure_ascii=False)}: ..." for k in keys[:2])
        return "{" + entries + (", ..." if len(keys) > 2 else "") + "}"
    return "object"


def child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if re.fullmatch(r"[a-zA-Z_$][a-zA-Z0-9_]*", key) else f"{path}[{json.dumps(key)}]"


def _expected_type(value: Any, kind: str, path: str) -> Invalid:
    return Invalid(f"Expected {kind} value type (got {describe(value)}) at {path}")


# ---- string formats (@atproto/syntax, approximated) ----------------------------------------------

_DATETIME: Final = re.compile(
    r"^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\.[0-9]{1,20})?(Z|[+-][0-2][0-9]:[0-5][0-9])$"
)
_DID: Final = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")
_HANDLE: Final = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
_NSID: Final = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]{0,62})?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})?)+\.[a-zA-Z]{1,63}$")
_RKEY: Final = re.compile(r"^[A-Za-z0-9._:~-]{1,512}$")
_URI: Final = re.compile(r"^\w+:(?://)?[^\s/][^\s]*$")
_CID: Final = re.compile(r"^(b[a-z2-7]{50,}|Qm[1-9A-HJ-NP-Za-km-z]{44})$")
_LANGUAGE: Final = re.compile(r"^(i|[a-z]{2,3})(-[a-zA-Z0-9]{1,8})*$")


def _is_datetime(text: str) -> bool:
    if not _DATETIME.match(text) or text.endswith("-00:00"):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_at_uri(text: str) -> bool:
    match = re.fullmatch(r"at://([^/?#]+)(/([^/?#]+)(/([^/?#]+))?)?", text)
    if match is None or len(text) > 8192:
        return False
    authority, collection, rkey = match.group(1), match.group(3), match.group(5)
    if not (_DID.match(authority) or _HANDLE.match(authority)):
        return False
    if collection is not None and not _NSID.match(collection):
        return False
    return rkey is None or (bool(_RKEY.match(rkey)) and rkey not in (".", ".."))


_FORMATS: Final[dict[str, tuple[str, Callable[[str], bool]]]] = {
    "datetime": ("datetime", _is_datetime),
    "at-uri": ("at-uri", _is_at_uri),
    "did": ("DID", lambda s: bool(_DID.match(s)) and len(s) <= 2048),
    "uri": ("uri", lambda s: bool(_URI.match(s)) and len(s) <= 8192),
    "cid": ("CID string", lambda s: bool(_CID.match(s))),
    "language": ("language", lambda s: bool(_LANGUAGE.match(s))),
}


# ---- schema pieces ----------------------------------------------------------------------------------

Check = Callable[[Any, str], None]


def string(*, max_bytes: int | None = None, max_graphemes: int | None = None, fmt: str | None = None) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise _expected_type(value, "string", path)
        if max_bytes is not None and (n := len(value.encode("utf-8"))) > max_bytes:
            raise Invalid(f"string too big (maximum {max_bytes}, got {n}) at {path}")
        if max_graphemes is not None and len(value) > max_graphemes and (n := graphemes(value)) > max_graphemes:
            raise Invalid(f"grapheme too big (maximum {max_graphemes}, got {n}) at {path}")
        if fmt is not None:
            name, valid = _FORMATS[fmt]
            if not valid(value):
                raise Invalid(f"Invalid {name} (got {describe(value)}) at {path}")

    return check


def integer(*, minimum: int | None = None) -> Check:
    def check(value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _expected_type(value, "integer", path)
        if minimum is not None and value < minimum:
            raise Invalid(f"integer too small (minimum {minimum}, got {value}) at {path}")

    return check


def array(item: Check, *, max_length: int | None = None) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise _expected_type(value, "array", path)
        if max_length is not None and len(value) > max_length:
            raise Invalid(f"array too big (maximum {max_length}, got {len(value)}) at {path}")
        for index, entry in enumerate(value):
            item(entry, child(path, index))

    return check


def obj(*properties: tuple[str, Check, bool]) -> Check:
    """An object whose ``(key, check, required)`` properties are checked in this order."""

    def check(value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _expected_type(value, "object", path)
        for key, check_property, required in properties:
            if key not in value:
                if required:
                    raise Invalid(f'Missing required key "{key}" at {path}')
                continue
            check_property(value[key], child(path, key))

    return check


def is_blob(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("$type") == "blob"
        and isinstance(value.get("ref"), dict)
        and isinstance(value["ref"].get("$link"), str)
        and isinstance(value.get("mimeType"), str)
        and isinstance(value.get("size"), int)
        and not isinstance(value.get("size"), bool)
    )


def blob(accept: tuple[str, ...], max_size: int) -> Check:
    """A blob ref: its declared ``mimeType`` must match ``accept`` and its declared ``size`` be
    at most ``max_size`` (the stored blob is compared with the ref later, by the repo)."""

    def check(value: Any, path: str) -> None:
        if not is_blob(value):
            raise _expected_type(value, "blob", path)
        mime = value["mimeType"]
        if not any(mime.startswith(a[:-1]) if a.endswith("/*") else mime == a for a in accept):
            quoted = [json.dumps(a) for a in accept]
            expected = quoted[0] if len(quoted) == 1 else f"one of {', '.join(quoted[:-1])} or {quoted[-1]}"
            raise Invalid(f"Expected {expected} (got {describe(mime)}) at {path}.mimeType")
        if value["size"] > max_size:
            raise Invalid(f"blob too big (maximum {max_size}, got {value['size']}) at {path}")

    return check


def union(variants: dict[str, Check]) -> Check:
    """An open union of typed objects: known ``$type`` values are checked, others pass."""

    def check(value: Any, path: str) -> None:
        if not isinstance(value, dict) or not isinstance(value.get("$type"), str):
            raise _expected_type(value, 'an object which includes the "$type" property', path)
        variant = variants.get(value["$type"].removesuffix("#main"))
        if variant is not None:
            variant(value, path)

    return check


# ---- the lexicons -----------------------------------------------------------------------------------

_STRONG_REF: Final = obj(("uri", string(fmt="at-uri"), True), ("cid", string(fmt="cid"), True))
_ASPECT_RATIO: Final = obj(("width", integer(minimum=1), True), ("height", integer(minimum=1), True))
_IMAGES: Final = obj(
    (
        "images",
        array(
            obj(
                ("image", blob(("image/*",), IMAGE_BLOB_MAX), True),
                ("alt", string(), True),
                ("aspectRatio", _ASPECT_RATIO, False),
            ),
            max_length=4,
        ),
        True,
    )
)
_VIDEO: Final = obj(
    ("video", blob(("video/mp4",), VIDEO_BLOB_MAX), True),
    (
        "captions",
        array(
            obj(("lang", string(fmt="language"), True), ("file", blob(("text/vtt",), CAPTION_BLOB_MAX), True)),
            max_length=20,
        ),
        False,
    ),
    ("alt", string(max_bytes=10_000, max_graphemes=1000), False),
    ("aspectRatio", _ASPECT_RATIO, False),
    ("presentation", string(), False),
)
_EXTERNAL: Final = obj(
    (
        "external",
        obj(
            ("uri", string(fmt="uri"), True),
            ("title", string(), True),
            ("description", string(), True),
            ("thumb", blob(("image/*",), THUMB_BLOB_MAX), False),
        ),
        True,
    )
)
_RECORD: Final = obj(("record", _STRONG_REF, True))
_MEDIA: Final = {"app.bsky.embed.images": _IMAGES, "app.bsky.embed.video": _VIDEO, "app.bsky.embed.external": _EXTERNAL}
_EMBED: Final = union(
    {
        **_MEDIA,
        "app.bsky.embed.record": _RECORD,
        "app.bsky.embed.recordWithMedia": obj(("record", _RECORD, True), ("media", union(_MEDIA), True)),
    }
)
_FACET: Final = obj(
    ("index", obj(("byteStart", integer(minimum=0), True), ("byteEnd", integer(minimum=0), True)), True),
    (
        "features",
        array(
            union(
                {
                    "app.bsky.richtext.facet#mention": obj(("did", string(fmt="did"), True)),
                    "app.bsky.richtext.facet#link": obj(("uri", string(fmt="uri"), True)),
                    "app.bsky.richtext.facet#tag": obj(("tag", string(max_bytes=640, max_graphemes=64), True)),
                }
            )
        ),
        True,
    ),
)
_SELF_LABELS: Final = union(
    {
        "com.atproto.label.defs#selfLabels": obj(
            ("values", array(obj(("val", string(max_bytes=128), True)), max_length=10), True)
        )
    }
)
_POST: Final = obj(
    ("text", string(max_bytes=TEXT_MAX_BYTES, max_graphemes=TEXT_MAX_GRAPHEMES), True),
    ("facets", array(_FACET), False),
    ("reply", obj(("root", _STRONG_REF, True), ("parent", _STRONG_REF, True)), False),
    ("embed", _EMBED, False),
    ("langs", array(string(fmt="language"), max_length=3), False),
    ("labels", _SELF_LABELS, False),
    ("tags", array(string(max_bytes=640, max_graphemes=64), max_length=8), False),
    ("createdAt", string(fmt="datetime"), True),
)
_PROFILE: Final = obj(
    ("displayName", string(max_bytes=640, max_graphemes=64), False),
    ("description", string(max_bytes=2560, max_graphemes=256), False),
    ("avatar", blob(("image/png", "image/jpeg"), AVATAR_BLOB_MAX), False),
    ("banner", blob(("image/png", "image/jpeg"), AVATAR_BLOB_MAX), False),
    ("labels", _SELF_LABELS, False),
    ("pinnedPost", _STRONG_REF, False),
    ("createdAt", string(fmt="datetime"), False),
)


def _first_issue(schema: Check, record: dict[str, Any]) -> str | None:
    try:
        schema(record, "$.record")
    except Invalid as issue:
        return str(issue)
    return None


def validate_post(record: dict[str, Any]) -> str | None:
    return _first_issue(_POST, record)


def validate_profile(record: dict[str, Any]) -> str | None:
    return _first_issue(_PROFILE, record)


def blobs_in(value: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    """Every blob ref in a record, with its path (the repo checks each against the stored blob)."""
    if isinstance(value, dict):
        if value.get("$type") == "blob":
            return [(path, value)]
        return [found for k, v in value.items() for found in blobs_in(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in blobs_in(v, f"{path}[{i}]")]
    return []

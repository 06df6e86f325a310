"""Record validation of the simulated Bluesky PDS: the two lexicons it knows
(``app.bsky.feed.post``, ``app.bsky.actor.profile``), with the PDS's error messages
("Invalid app.bsky.feed.post record: <problem>" is added by the caller).

Messages follow the PDS's lexicon validator, e.g. ``grapheme too big (maximum 300, got 301) at
$.record.text`` (observed, PLATFORMS.md §1.7) and ``Missing required key "cid" at $.record.reply.root``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

import regex

POST: Final = "app.bsky.feed.post"
PROFILE: Final = "app.bsky.actor.profile"
TEXT_MAX_GRAPHEMES: Final = 300
TEXT_MAX_BYTES: Final = 3000
IMAGE_BLOB_MAX: Final = 2_000_000  # app.bsky.embed.images#image.image maxSize
AVATAR_BLOB_MAX: Final = 1_000_000

_DATETIME: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_GRAPHEME: Final = regex.compile(r"\X")


def graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def blobs_in(value: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        if value.get("$type") == "blob":
            return [(path, value)]
        return [found for k, v in value.items() for found in blobs_in(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in blobs_in(v, f"{path}[{i}]")]
    return []


def blob_constraints(collection: str, path: str) -> tuple[int | None, tuple[str, ...]]:
    if collection == POST and re.fullmatch(r"\$\.record\.embed(\.media)?\.images\[\d+\]\.image", path):
        return IMAGE_BLOB_MAX, ("image/*",)
    if collection == PROFILE and path in ("$.record.avatar", "$.record.banner"):
        return AVATAR_BLOB_MAX, ("image/png", "image/jpeg")
    return None, ()


def _check_string(
    record: dict[str, Any], key: str, *, required: bool, max_bytes: int | None = None, max_graphemes: int | None = None
) -> str | None:
    where = f"$.record.{key}"
    if key not in record:
        return f'Missing required key "{key}" at $.record' if required else None
    value = record[key]
    if not isinstance(value, str):
        return f"Expected string value type (got {type_name(value)}) at {where}"
    if max_bytes is not None and (n := len(value.encode("utf-8"))) > max_bytes:
        return f"string too long (maximum {max_bytes}, got {n}) at {where}"
    if max_graphemes is not None and (n := graphemes(value)) > max_graphemes:
        return f"grapheme too big (maximum {max_graphemes}, got {n}) at {where}"
    return None


def _check_datetime(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if key not in record:
        return f'Missing required key "{key}" at $.record'
    if not isinstance(value, str) or not _DATETIME.match(value):
        return f"Invalid datetime string at $.record.{key}"
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"Invalid datetime string at $.record.{key}"
    return None


def _check_strong_ref(value: Any, where: str) -> str | None:
    if not isinstance(value, dict):
        return f"Expected object value type (got {type_name(value)}) at {where}"
    for key in ("uri", "cid"):
        if key not in value:
            return f'Missing required key "{key}" at {where}'
        if not isinstance(value[key], str):
            return f"Expected string value type (got {type_name(value[key])}) at {where}.{key}"
    if not value["uri"].startswith("at://"):
        return f"Invalid AT-URI at {where}.uri"
    return None


def _check_facets(facets: Any) -> str | None:
    if not isinstance(facets, list):
        return f"Expected array value type (got {type_name(facets)}) at $.record.facets"
    for i, facet in enumerate(facets):
        where = f"$.record.facets[{i}]"
        if not isinstance(facet, dict):
            return f"Expected object value type (got {type_name(facet)}) at {where}"
        index, features = facet.get("index"), facet.get("features")
        if not isinstance(index, dict):
            return f'Missing required key "index" at {where}'
        for key in ("byteStart", "byteEnd"):
            value = index.get(key)
            if isinstance(value, bool) or not isinstance(value, int):
                return f"Expected integer value type (got {type_name(value)}) at {where}.index.{key}"
            if value < 0:
                return f"Value must be at least 0 at {where}.index.{key}"
        if not isinstance(features, list):
            return f'Missing required key "features" at {where}'
        for j, feature in enumerate(features):
            fwhere = f"{where}.features[{j}]"
            kind = feature.get("$type") if isinstance(feature, dict) else None
            if kind == "app.bsky.richtext.facet#link":
                uri = feature.get("uri")
                if not isinstance(uri, str) or not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$", uri) or not uri.isascii():
                    return f"Invalid URI at {fwhere}.uri"
            elif kind == "app.bsky.richtext.facet#mention":
                did = feature.get("did")
                if not isinstance(did, str) or not re.match(r"^did:[a-z]+:[a-zA-Z0-9._:%-]+$", did):
                    return f"Invalid DID at {fwhere}.did"
            elif kind == "app.bsky.richtext.facet#tag":
                tag = feature.get("tag")
                if not isinstance(tag, str):
                    return f'Missing required key "tag" at {fwhere}'
                if len(tag.encode("utf-8")) > 640:
                    return f"string too long (maximum 640, got {len(tag.encode('utf-8'))}) at {fwhere}.tag"
                if graphemes(tag) > 64:
                    return f"grapheme too big (maximum 64, got {graphemes(tag)}) at {fwhere}.tag"
    return None


def _check_embed(embed: Any) -> str | None:
    if not isinstance(embed, dict):
        return f"Expected object value type (got {type_name(embed)}) at $.record.embed"
    if embed.get("$type") != "app.bsky.embed.images":
        return None  # other embeds are not checked by the sandbox
    images = embed.get("images")
    if not isinstance(images, list):
        return 'Missing required key "images" at $.record.embed'
    if len(images) > 4:
        return f"Array is too long (maximum 4, got {len(images)}) at $.record.embed.images"
    for i, image in enumerate(images):
        where = f"$.record.embed.images[{i}]"
        if not isinstance(image, dict):
            return f"Expected object value type (got {type_name(image)}) at {where}"
        if not isinstance(image.get("image"), dict) or image["image"].get("$type") != "blob":
            return f"Expected blob value type at {where}.image"
        if not isinstance(image.get("alt"), str):
            return f'Missing required key "alt" at {where}'
        ratio = image.get("aspectRatio")
        if ratio is not None and not (
            isinstance(ratio, dict)
            and all(isinstance(ratio.get(k), int) and ratio[k] >= 1 for k in ("width", "height"))
        ):
            return f"Invalid aspectRatio at {where}.aspectRatio"
    return None


def validate_post(record: dict[str, Any]) -> str | None:
    problem = _check_string(record, "text", required=True, max_bytes=TEXT_MAX_BYTES, max_graphemes=TEXT_MAX_GRAPHEMES)
    problem = problem or _check_datetime(record, "createdAt")
    if problem:
        return problem
    if "facets" in record and (problem := _check_facets(record["facets"])):
        return problem
    if "reply" in record:
        reply = record["reply"]
        if not isinstance(reply, dict):
            return f"Expected object value type (got {type_name(reply)}) at $.record.reply"
        for key in ("root", "parent"):
            if key not in reply:
                return f'Missing required key "{key}" at $.record.reply'
            if problem := _check_strong_ref(reply[key], f"$.record.reply.{key}"):
                return problem
    if "embed" in record and (problem := _check_embed(record["embed"])):
        return problem
    if "langs" in record:
        langs = record["langs"]
        if not isinstance(langs, list) or not all(isinstance(lang, str) for lang in langs):
            return "Expected array of strings at $.record.langs"
        if len(langs) > 3:
            return f"Array is too long (maximum 3, got {len(langs)}) at $.record.langs"
    if "tags" in record and (not isinstance(record["tags"], list) or len(record["tags"]) > 8):
        return "Invalid tags (maximum 8) at $.record.tags"
    return None


def validate_profile(record: dict[str, Any]) -> str | None:
    return _check_string(record, "displayName", required=False, max_bytes=640, max_graphemes=64) or _check_string(
        record, "description", required=False, max_bytes=2560, max_graphemes=256
    )

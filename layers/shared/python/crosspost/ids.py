"""Identifier formats of API.md: posts ``post_<ULID>``, media ``med_<ULID>``, the rest UUIDs."""

from __future__ import annotations

import uuid

from ulid import ULID


def new_post_id() -> str:
    return f"post_{ULID()}"


def new_media_id() -> str:
    return f"med_{ULID()}"


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_request_id() -> str:
    return f"req_{ULID()}"

"""DynamoDB item ⇄ Python conversion with the low-level client (cheaper to import and call
than boto3's resource layer). Datetimes are stored as ISO-8601 strings so they sort."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from crosspost.clock import iso
from crosspost.errors import ValidationFailedError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _python(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_python(v) for v in value]
    return value


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    """Serialize, dropping None attributes (DynamoDB GSIs must not see NULL keys)."""
    return {k: _serializer.serialize(_plain(v)) for k, v in data.items() if v is not None}


def to_value(value: Any) -> dict[str, Any]:
    return _serializer.serialize(_plain(value))  # type: ignore[no-any-return]


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _python(_deserializer.deserialize(v)) for k, v in item.items()}


# ---- list cursors: the LastEvaluatedKey, opaque to clients --------------------------------------


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(from_item(last_key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, allowed_keys: set[str], *, scope: dict[str, str]) -> dict[str, Any] | None:
    """Decode a cursor; ``scope`` pins the partition (a cursor made for another workspace's
    listing is refused instead of being passed to DynamoDB)."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if (
            not isinstance(data, dict)
            or not set(data) <= allowed_keys
            or not all(isinstance(v, str) for v in data.values())
        ):
            raise ValueError("unexpected cursor shape")
        if any(data.get(k) != v for k, v in scope.items()):
            raise ValueError("cursor of another listing")
    except (ValueError, TypeError) as exc:
        raise ValidationFailedError("The cursor is not valid.", rule="cursor", field="cursor") from exc
    return to_item(data)

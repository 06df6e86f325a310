"""What every body shares: camelCase on the wire, deferred schema builds, ISO-8601 datetimes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from crosspost.clock import iso

Platform = Literal["bluesky", "facebook", "instagram", "linkedin", "pinterest", "threads", "twitter"]


class Wire(BaseModel):
    # defer_build: schemas are built on first use, so a cold start builds only what it touches
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", defer_build=True)


class Response(BaseModel):
    """Responses serialise datetimes as ISO-8601 with Z and keep nulls (API.md shapes)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = _isoize(self.model_dump(by_alias=True))
        return body


def _isoize(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _isoize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_isoize(v) for v in value]
    return value

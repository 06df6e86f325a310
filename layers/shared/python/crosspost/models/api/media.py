"""Media uploads (API.md "Media")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from crosspost.models.api.common import Response, Wire
from crosspost.models.domain import Media


class CreateMediaRequest(Wire):
    """``bytesBase64`` (inline, within the 5 MB body limit) or ``size`` (a presigned upload follows)."""

    kind: Literal["image", "video"]
    content_type: str = Field(min_length=1, max_length=100)
    bytes_base64: str | None = Field(default=None, repr=False)
    size: int | None = Field(default=None, ge=1, description="Bytes the presigned upload will carry.")

    @model_validator(mode="after")
    def _bytes_or_size(self) -> CreateMediaRequest:
        if (self.bytes_base64 is None) == (self.size is None):
            raise ValueError("give either bytesBase64 (inline) or size (presigned upload), not both")
        return self


class MediaErrorResponse(Response):
    rule: str
    message: str


class MediaResponse(Response):
    id: str
    kind: str
    content_type: str
    size: int
    status: Literal["pending", "ready", "failed"]
    width: int | None
    height: int | None
    created_at: datetime
    error: MediaErrorResponse | None = None
    # Only in the answer that created a pending medium: PUT the bytes there within 15 minutes, with
    # exactly ``uploadHeaders`` (Content-Type and the declared Content-Length are signed).
    upload_url: str | None = None
    upload_url_expires_at: datetime | None = None
    upload_headers: dict[str, str] | None = None

    @classmethod
    def from_domain(
        cls, m: Media, *, upload_url: str | None = None, upload_url_expires_at: datetime | None = None
    ) -> dict[str, Any]:
        body = cls(
            id=m.id,
            kind=m.kind,
            content_type=m.content_type,
            size=m.size,
            status=m.status.value,
            width=m.width,
            height=m.height,
            created_at=m.created_at,
            error=MediaErrorResponse(rule=m.error.rule, message=m.error.message) if m.error else None,
            upload_url=upload_url,
            upload_url_expires_at=upload_url_expires_at,
            upload_headers={"Content-Type": m.content_type, "Content-Length": str(m.size)} if upload_url else None,
        ).body()
        if upload_url is None:  # the upload fields belong to the creating answer only
            for name in ("uploadUrl", "uploadUrlExpiresAt", "uploadHeaders"):
                body.pop(name)
        return body

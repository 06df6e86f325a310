"""/v1/media: upload media (inline bytes, or a presigned upload) and read it back."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from crosspost.api.routes.common import errors, json_response
from crosspost.api.services import caller, media_service
from crosspost.models.api.media import CreateMediaRequest, MediaResponse

router = Router()
MediaId = Annotated[str, Path(max_length=64)]


@router.post(
    "/",
    summary="Upload media: inline bytes (stored at once) or a presigned upload (size, then PUT)",
    description=(
        "With `bytesBase64`: the bytes are checked (their type must match `contentType` and `kind`) and "
        "stored: 201, `status: ready`. With `size` instead: 201, `status: pending`, with `uploadUrl` "
        "(a presigned S3 PUT, valid 15 minutes) and `uploadHeaders` to send with it (Content-Type and "
        "Content-Length are part of the signature). `GET /v1/media/{id}` then checks the upload and "
        "answers `ready`, or `failed` with `error` when the bytes disagree with what was declared. "
        "Refusals: `validation_failed` with rule `media.type_unsupported`, `media.kind_mismatch` or "
        "`media.content_type_mismatch`."
    ),
    responses={201: {"description": "Stored, or pending with its uploadUrl"}, **errors(413)},
)
def create_media(body: Annotated[CreateMediaRequest, Body()]) -> Response[str]:
    created = media_service().create(caller(router).workspace_id, body)
    return json_response(
        201,
        MediaResponse.from_domain(
            created.media, upload_url=created.upload_url, upload_url_expires_at=created.upload_url_expires_at
        ),
    )


@router.get(
    "/<media_id>",
    summary="Get media; a pending upload is checked in storage first",
    responses=errors(404),
)
def get_media(media_id: MediaId) -> dict[str, Any]:
    return MediaResponse.from_domain(media_service().get(caller(router).workspace_id, media_id))

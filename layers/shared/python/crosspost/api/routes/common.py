"""Pieces every router uses: list parameters, JSON responses, documented error statuses."""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

Limit = Annotated[int, Query(ge=1, le=200, description="Page size (default 50, max 200).")]
Cursor = Annotated[str | None, Query(max_length=2048, description="nextCursor of the previous page.")]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers or {},
    )


def no_content() -> Response[str]:
    return Response(status_code=204, body="")


def errors(*statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI response entries for the error statuses a route really answers."""
    text = {
        400: "Invalid request",
        401: "Missing or bad API key",
        404: "Not found",
        409: "Conflict",
        413: "Body over 5 MB",
        429: "Rate limited",
        502: "The platform refused",
        503: "Platform unavailable",
    }
    return {
        s: {
            "description": text[s],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
        }
        for s in (400, 401, *statuses)
    }

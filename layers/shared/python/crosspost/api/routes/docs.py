"""GET /v1/openapi.json (the spec of every route) and GET /docs (Swagger UI)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

router = Router()

_SWAGGER = """<!doctype html>
<html><head><meta charset="utf-8"><title>crosspost API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/v1/openapi.json", dom_id: "#ui"});</script>
</body></html>"""


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The generated spec, with the contract's error envelope in place of powertools' 422."""
    from crosspost.api.app import app
    from crosspost.api.errors import ErrorEnvelope

    spec: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title="crosspost",
            version="1.0.0",
            description="Unified social-media posting API (API.md). Errors use the envelope ErrorEnvelope.",
            security_schemes={"apiKey": {"type": "http", "scheme": "bearer"}},  # type: ignore[dict-item]
            security=[{"apiKey": []}],
        )
    )
    envelope_ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            if "400" not in responses and operation.get("requestBody"):
                responses["400"] = {
                    "description": "Invalid request",
                    "content": {"application/json": {"schema": envelope_ref}},
                }
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    envelope_schema = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(envelope_schema.pop("$defs", {}))
    schemas["ErrorEnvelope"] = envelope_schema
    public = {"/v1/openapi.json", "/docs", "/v1/oauth/{platform}/callback"}
    for name in public & set(spec.get("paths", {})):
        for operation in spec["paths"][name].values():
            operation["security"] = []
    return spec


@router.get("/v1/openapi.json", include_in_schema=True, summary="This API's OpenAPI document")
def openapi_json() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(openapi_document()))


@router.get("/docs", include_in_schema=False)
def swagger_ui() -> Response[str]:
    return Response(status_code=200, content_type=content_types.TEXT_HTML, body=_SWAGGER)

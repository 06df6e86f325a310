"""GET /v1/openapi.json (the spec of every route) and GET /docs (Swagger UI)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

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
    _document_responses(spec, envelope_ref)
    return spec


# What each operation answers on success. The routes return dicts built by the models'
# ``from_domain``; these models describe them (None: no body, or for the spec itself any object).
# A route missing here has no documented success: tests/integration/test_security_spec.py says so.
def _success_responses() -> dict[tuple[str, str], dict[str, tuple[str, type[BaseModel] | None]]]:
    from crosspost.models import api as m

    connected: dict[str, tuple[str, type[BaseModel] | None]] = {
        "201": ("Connected", m.ConnectedAccountResponse),
        "200": ("Reconnected", m.ConnectedAccountResponse),
    }
    return {
        ("post", "/v1/profiles"): {"201": ("Created", m.ProfileResponse)},
        ("get", "/v1/profiles"): {"200": ("The workspace's profiles", m.ProfileListResponse)},
        ("get", "/v1/profiles/{profile_id}"): {"200": ("The profile", m.ProfileResponse)},
        ("delete", "/v1/profiles/{profile_id}"): {"204": ("Deleted", None)},
        ("post", "/v1/api-keys"): {"201": ("Created; key is shown only here", m.CreatedApiKeyResponse)},
        ("get", "/v1/api-keys"): {"200": ("The workspace's active keys (no plaintext)", m.ApiKeyListResponse)},
        ("delete", "/v1/api-keys/{key_id}"): {"204": ("Revoked", None)},
        ("post", "/v1/accounts/connect"): connected,
        ("post", "/v1/accounts/connect/{platform}"): {"200": ("How to connect", m.ConnectMethodResponse)},
        ("post", "/v1/accounts/connect/{platform}/complete"): connected,
        ("get", "/v1/accounts"): {"200": ("The workspace's accounts", m.AccountListResponse)},
        ("get", "/v1/accounts/{account_id}"): {"200": ("The account", m.AccountResponse)},
        ("delete", "/v1/accounts/{account_id}"): {"204": ("Disconnected", None)},
        ("post", "/v1/posts"): {
            "201": ("Published", m.PostResponse),
            "202": ("Queued, deferred or processing", m.PostResponse),
        },
        ("post", "/v1/posts/validate"): {"200": ("Every rule passed", m.ValidatedResponse)},
        ("get", "/v1/posts"): {"200": ("The workspace's posts, newest first", m.PostListResponse)},
        ("get", "/v1/posts/{post_id}"): {"200": ("The post", m.PostResponse)},
        ("delete", "/v1/posts/{post_id}"): {"200": ("Canceled", m.PostResponse)},
        ("patch", "/v1/posts/{post_id}"): {"200": ("Rescheduled", m.PostResponse)},
        ("get", "/v1/openapi.json"): {"200": ("This document", None)},
    }


# Platform failures a connect can answer with (the platform's refusal, its outage).
_CONNECT_ERRORS = {"502": "The platform refused", "503": "Platform unavailable"}
_EXTRA_ERRORS = {
    ("post", "/v1/accounts/connect"): _CONNECT_ERRORS,
    ("post", "/v1/accounts/connect/{platform}/complete"): _CONNECT_ERRORS,
}


def _document_responses(spec: dict[str, Any], envelope_ref: dict[str, str]) -> None:
    """Real success bodies, and the statuses the gate in ``crosspost.api.app`` answers before any
    route runs: 401 and 429 (with Retry-After) on every authenticated operation, 413 wherever a
    body is accepted, 431 everywhere. Path parameters are never empty (API Gateway routing)."""
    from pydantic.json_schema import models_json_schema

    documents = _success_responses()
    models = {model for statuses in documents.values() for _, model in statuses.values() if model is not None}
    refs, definitions = models_json_schema(
        [(model, "serialization") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    spec["components"]["schemas"].update(definitions.get("$defs", {}))

    def error(description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": envelope_ref}}}

    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, (description, model) in documents.get((method, path), {}).items():
                if status == "204":
                    responses[status] = {"description": description}
                    continue
                schema = refs[(model, "serialization")] if model is not None else {"type": "object"}
                responses[status] = {"description": description, "content": {"application/json": {"schema": schema}}}
            for status, description in _EXTRA_ERRORS.get((method, path), {}).items():
                responses.setdefault(status, error(description))
            if operation.get("security") != []:
                responses.setdefault("401", error("Missing or bad API key"))
                limited = error("Rate limited: this API key made too many requests this minute")
                limited["headers"] = {
                    "Retry-After": {
                        "description": "Seconds until the next request may succeed",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    }
                }
                responses["429"] = limited
            if operation.get("requestBody"):
                responses.setdefault("413", error("Body over 5 MB"))
            responses.setdefault("431", error("Headers over 10 KB"))
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path":
                    parameter.setdefault("schema", {}).setdefault("minLength", 1)


@router.get("/v1/openapi.json", include_in_schema=True, summary="This API's OpenAPI document")
def openapi_json() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(openapi_document()))


@router.get("/docs", include_in_schema=False)
def swagger_ui() -> Response[str]:
    return Response(status_code=200, content_type=content_types.TEXT_HTML, body=_SWAGGER)

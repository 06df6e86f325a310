"""GET /v1/openapi.json (the spec of every route) and GET /docs (Swagger UI)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Final

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
    from crosspost.api.app import app, include_routes
    from crosspost.models.api.errors import ErrorEnvelope

    include_routes()  # every route, whichever function serves this document

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


# A body documented as an HTML page (the OAuth callback answers people, not programs).
HTML: Final = "text/html"
# What a documented status carries: a model, one of several models, an HTML page, or nothing.
Documented = type[BaseModel] | tuple[type[BaseModel], ...] | str | None


# What each operation answers on success. The routes return dicts built by the models'
# ``from_domain``; these models describe them (None: no body, or for the spec itself any object).
# A route missing here has no documented success: tests/integration/test_security_spec.py says so.
def _success_responses() -> dict[tuple[str, str], dict[str, tuple[str, Documented]]]:
    from crosspost.models.api import accounts, media, posts, profiles

    connected: dict[str, tuple[str, Documented]] = {
        "201": ("Connected", accounts.ConnectedAccountResponse),
        "200": ("Reconnected", accounts.ConnectedAccountResponse),
    }
    return {
        ("post", "/v1/profiles"): {"201": ("Created", profiles.ProfileResponse)},
        ("get", "/v1/profiles"): {"200": ("The workspace's profiles", profiles.ProfileListResponse)},
        ("get", "/v1/profiles/{profile_id}"): {"200": ("The profile", profiles.ProfileResponse)},
        ("delete", "/v1/profiles/{profile_id}"): {"204": ("Deleted", None)},
        ("post", "/v1/api-keys"): {"201": ("Created; key is shown only here", profiles.CreatedApiKeyResponse)},
        ("get", "/v1/api-keys"): {"200": ("The workspace's active keys (no plaintext)", profiles.ApiKeyListResponse)},
        ("delete", "/v1/api-keys/{key_id}"): {"204": ("Revoked", None)},
        ("post", "/v1/accounts/connect"): connected,
        ("post", "/v1/accounts/connect/{platform}"): {
            "200": (
                "OAuth: the authorization URL and its state; Bluesky: how to connect",
                (accounts.ConnectStartResponse, accounts.ConnectMethodResponse),
            )
        },
        ("post", "/v1/accounts/connect/{platform}/complete"): connected,
        ("get", "/v1/accounts"): {"200": ("The workspace's accounts", accounts.AccountListResponse)},
        ("get", "/v1/accounts/{account_id}"): {"200": ("The account", accounts.AccountResponse)},
        ("delete", "/v1/accounts/{account_id}"): {"204": ("Disconnected", None)},
        ("post", "/v1/posts"): {
            "201": ("Published", posts.PostResponse),
            "202": ("Queued, deferred or processing", posts.PostResponse),
        },
        ("post", "/v1/posts/validate"): {"200": ("Every rule passed", posts.ValidatedResponse)},
        ("get", "/v1/posts"): {"200": ("The workspace's posts, newest first", posts.PostListResponse)},
        ("get", "/v1/posts/{post_id}"): {"200": ("The post", posts.PostResponse)},
        ("delete", "/v1/posts/{post_id}"): {"200": ("Canceled", posts.PostResponse)},
        ("patch", "/v1/posts/{post_id}"): {"200": ("Rescheduled", posts.PostResponse)},
        ("post", "/v1/media"): {"201": ("Stored (inline bytes), or pending with its uploadUrl", media.MediaResponse)},
        ("get", "/v1/media/{media_id}"): {"200": ("The media", media.MediaResponse)},
        ("get", "/v1/openapi.json"): {"200": ("This document", None)},
        ("get", "/v1/oauth/{platform}/callback"): {
            "200": ("An HTML page: the account is connected", HTML),
            "302": ("Back to the redirectUri given at start, with accountId (or error and rule)", None),
        },
    }


# Platform failures a connect can answer with (the platform's refusal, its outage).
_CONNECT_ERRORS = {"502": "The platform refused", "503": "Platform unavailable"}
_EXTRA_ERRORS = {
    ("post", "/v1/accounts/connect"): _CONNECT_ERRORS,
    ("post", "/v1/accounts/connect/{platform}/complete"): _CONNECT_ERRORS,
}
# Query parameters a route reads by hand (the browser callback: whatever arrives gets a page).
_QUERY_PARAMETERS = {
    ("get", "/v1/oauth/{platform}/callback"): {
        "code": "The authorization code the platform issued",
        "state": "The state returned by the start call",
        "error": "Set by the platform instead of code when the user declined (access_denied)",
    },
}
# Errors answered as an HTML page, not the envelope (the browser callback).
_HTML_ERRORS = {
    ("get", "/v1/oauth/{platform}/callback"): {
        "400": "No state or code",
        "401": "The user declined, or the platform refused the code",
        "404": "Unknown platform, or no app configured for it",
        "409": "Unknown, expired, reused or foreign state (oauth.state_invalid)",
        "502": "The platform refused",
        "503": "Platform unavailable or rate-limiting: try again later",
    },
}


def _document_responses(spec: dict[str, Any], envelope_ref: dict[str, str]) -> None:
    """Real success bodies, and the statuses the gate in ``crosspost.api.app`` answers before any
    route runs: 401 and 429 (with Retry-After) on every authenticated operation, 413 wherever a
    body is accepted, 431 everywhere. Path parameters are never empty (API Gateway routing)."""
    from pydantic.json_schema import models_json_schema

    documents = _success_responses()
    models = {
        model
        for statuses in documents.values()
        for _, documented in statuses.values()
        for model in (documented if isinstance(documented, tuple) else (documented,))
        if isinstance(model, type)
    }
    refs, definitions = models_json_schema(
        [(model, "serialization") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    spec["components"]["schemas"].update(definitions.get("$defs", {}))

    def error(description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": envelope_ref}}}

    def html_page(description: str) -> dict[str, Any]:
        return {"description": description, "content": {HTML: {"schema": {"type": "string"}}}}

    def body(documented: Documented) -> dict[str, Any]:
        if isinstance(documented, tuple):
            return {"anyOf": [refs[(model, "serialization")] for model in documented]}
        if isinstance(documented, type):
            return dict(refs[(documented, "serialization")])
        return {"type": "object"}

    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, (description, documented) in documents.get((method, path), {}).items():
                if status == "204":
                    responses[status] = {"description": description}
                elif status.startswith("3"):
                    location = {"description": "Where the browser goes next", "schema": {"type": "string"}}
                    responses[status] = {"description": description, "headers": {"Location": location}}
                elif documented == HTML:
                    responses[status] = html_page(description)
                else:
                    content = {"application/json": {"schema": body(documented)}}
                    responses[status] = {"description": description, "content": content}
            for status, description in _EXTRA_ERRORS.get((method, path), {}).items():
                responses.setdefault(status, error(description))
            for status, description in _HTML_ERRORS.get((method, path), {}).items():
                responses[status] = html_page(description)
            for name, description in _QUERY_PARAMETERS.get((method, path), {}).items():
                parameter = {"name": name, "in": "query", "required": False, "description": description}
                operation.setdefault("parameters", []).append({**parameter, "schema": {"type": "string"}})
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

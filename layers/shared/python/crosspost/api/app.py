"""The HTTP API: one resolver definition for every route, whichever function serves it.

Each API Lambda imports this module; API Gateway sends each function only its own routes
(``crosspost.resources``), and the OpenAPI document covers all of them.

``handle`` wraps the resolver with what every request needs before routing: a request id,
the 5 MB body limit, and API-key authentication (so an unauthenticated request gets 401, not a
validation error about its body).
"""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from crosspost.api import errors
from crosspost.api.routes import accounts, api_keys, docs, posts, profiles
from crosspost.api.services import authenticator
from crosspost.errors import UnauthenticatedError
from crosspost.ids import new_request_id
from crosspost.observability import logger
from crosspost.resources import API_FUNCTIONS

MAX_BODY_BYTES = 5 * 1024 * 1024
PUBLIC_ROUTES = frozenset(f"{r.method} {r.path}" for fn in API_FUNCTIONS for r in fn.routes if not r.auth)

app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(profiles.router, prefix="/v1/profiles")
app.include_router(api_keys.router, prefix="/v1/api-keys")
app.include_router(accounts.router, prefix="/v1/accounts")
app.include_router(posts.router, prefix="/v1/posts")
app.include_router(docs.router)


def _request_id() -> str:
    return str(app.context.get("request_id") or "req_unknown")


errors.register(app, _request_id)


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(base64.b64decode(body, validate=False))
    return len(body.encode())


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    api_request_id = (event.get("requestContext") or {}).get("requestId")
    request_id = f"req_{api_request_id}" if api_request_id else new_request_id()
    logger.append_keys(request_id=request_id)
    response = _gate(event, request_id)
    if response is None:
        app.append_context(request_id=request_id)
        response = app.resolve(event, context)
    response.setdefault("headers", {})["X-Request-Id"] = request_id
    return response


def _gate(event: dict[str, Any], request_id: str) -> dict[str, Any] | None:
    """Refuse before routing: bodies over 5 MB (413) and missing or bad API keys (401)."""
    if _body_size(event) > MAX_BODY_BYTES:
        body = errors.envelope(
            "validation_failed",
            "The request body is larger than 5 MB.",
            request_id,
            rule="body.too_large",
            field="body",
            remediation="Upload large media with a presigned upload.",
        )
        return errors.raw_response(413, body)
    if event.get("routeKey") in PUBLIC_ROUTES:
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        caller = authenticator().authenticate(headers.get("authorization"))
    except UnauthenticatedError as exc:
        body = errors.envelope(exc.code, exc.message, request_id)
        return errors.raw_response(401, body, {"WWW-Authenticate": "Bearer"})
    app.append_context(caller=caller)
    logger.append_keys(workspace_id=caller.workspace_id)
    return None

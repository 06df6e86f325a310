"""The HTTP API: one resolver definition for every route, whichever function serves it.

Each API Lambda imports this module; API Gateway sends each function only its own routes
(``crosspost.resources``), and the OpenAPI document covers all of them.

``handle`` wraps the resolver with what every request needs before routing: a request id,
the 5 MB body limit (413), a 10 KB header limit (431, as API Gateway's own), API-key
authentication (so an unauthenticated request gets 401, not a validation error about its body),
the per-key rate limit (429 with Retry-After), and a body that is UTF-8 JSON (400 ``body.json``;
a form or text body never reaches the resolver, so its content is never parsed or echoed).

Routers are included on the first request for one of their routes (``include_routes``, by the
event's ``routeKey``): API Gateway sends each function only its own routes, so a cold start imports
the routes, models and services of one resource, not of the whole API (issue #8). The OpenAPI
document includes them all.
"""

from __future__ import annotations

import base64
import json
from importlib import import_module
from typing import Any, Final

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from crosspost.api import errors
from crosspost.api.services import authenticator, rate_limiter
from crosspost.errors import ApiRateLimitedError, UnauthenticatedError
from crosspost.ids import new_request_id
from crosspost.observability import logger
from crosspost.resources import API_FUNCTIONS

MAX_BODY_BYTES = 5 * 1024 * 1024
# API Gateway HTTP APIs refuse a request line plus headers over 10,240 bytes; the handler holds
# the same line, so the local stack behaves alike and nothing downstream sees huge headers.
MAX_HEADER_BYTES = 10 * 1024
# JSON nested deeper than Python's recursion limit makes the parser raise instead of answer.
_MAX_JSON_BRACKETS_UNCHECKED = 500
PUBLIC_ROUTES = frozenset(f"{r.method} {r.path}" for fn in API_FUNCTIONS for r in fn.routes if not r.auth)

# path prefix → the module of ``crosspost.api.routes`` whose router serves it ("" = at the root)
ROUTERS: Final = (
    ("/v1/profiles", "profiles"),
    ("/v1/api-keys", "api_keys"),
    ("/v1/accounts", "accounts"),
    ("/v1/oauth", "oauth"),
    ("/v1/posts", "posts"),
    ("/v1/media", "media"),
    ("", "docs"),
)
_DOCS_PATHS: Final = frozenset({"/v1/openapi.json", "/docs"})

app = APIGatewayHttpResolver(enable_validation=True)
_included: set[str] = set()


def _include(prefix: str, module: str) -> None:
    if module not in _included:
        router = import_module(f"crosspost.api.routes.{module}").router
        app.include_router(router, prefix=prefix or None)
        _included.add(module)


def include_routes(route_key: str | None = None) -> None:
    """Include the router that serves ``route_key`` ("GET /v1/accounts/{id}"); every router when
    the key is None or names no known route (an event from elsewhere, the OpenAPI document)."""
    path = route_key.partition(" ")[2] if route_key else ""
    for prefix, module in ROUTERS:
        if (prefix and (path == prefix or path.startswith(prefix + "/"))) or (not prefix and path in _DOCS_PATHS):
            _include(prefix, module)
            return
    for prefix, module in ROUTERS:
        _include(prefix, module)


def _request_id() -> str:
    return str(app.context.get("request_id") or "req_unknown")


errors.register(app, _request_id)


def _body_bytes(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body, validate=False)
    return body.encode("utf-8", "surrogatepass")


def _header_bytes(event: dict[str, Any]) -> int:
    headers = event.get("headers") or {}
    cookies = event.get("cookies") or []
    return sum(len(str(k)) + len(str(v)) + 4 for k, v in headers.items()) + sum(len(str(c)) for c in cookies)


def _json_body_problem(event: dict[str, Any], body: bytes) -> str | None:
    """Why a non-empty body cannot be the JSON the routes expect, or None. Normalises the
    content type so the resolver parses JSON whatever the case of the header."""
    headers = event.get("headers") or {}
    name = next((k for k in headers if k.lower() == "content-type"), None)
    media_type = str(headers.get(name, "")).split(";")[0].strip().lower() if name else ""
    if media_type not in ("", "application/json"):
        return "The request body must be JSON (Content-Type: application/json)."
    if name is not None:
        headers[name] = "application/json"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "The request body is not valid UTF-8."
    if body.count(b"[") + body.count(b"{") > _MAX_JSON_BRACKETS_UNCHECKED:
        try:
            json.loads(text)
        except RecursionError:
            return "The request body is nested too deeply."
        except ValueError:
            pass  # the resolver reports malformed JSON itself
    return None


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    api_request_id = (event.get("requestContext") or {}).get("requestId")
    request_id = f"req_{api_request_id}" if api_request_id else new_request_id()
    logger.append_keys(request_id=request_id)
    response = _gate(event, request_id)
    if response is None:
        include_routes(event.get("routeKey"))
        app.append_context(request_id=request_id)
        response = app.resolve(event, context)
    response.setdefault("headers", {})["X-Request-Id"] = request_id
    return response


def _gate(event: dict[str, Any], request_id: str) -> dict[str, Any] | None:
    """Refuse before routing: bodies over 5 MB (413), headers over 10 KB (431), missing or bad
    API keys (401), a key over its rate limit (429), a body that is not UTF-8 JSON (400)."""
    body = _body_bytes(event)
    if len(body) > MAX_BODY_BYTES:
        too_large = errors.envelope(
            "validation_failed",
            "The request body is larger than 5 MB.",
            request_id,
            rule="body.too_large",
            field="body",
            remediation="Upload large media with a presigned upload.",
        )
        return errors.raw_response(413, too_large)
    if _header_bytes(event) > MAX_HEADER_BYTES:
        too_many = errors.envelope(
            "validation_failed",
            "The request headers are larger than 10 KB.",
            request_id,
            rule="headers.too_large",
            field="headers",
        )
        return errors.raw_response(431, too_many)
    if event.get("routeKey") not in PUBLIC_ROUTES:
        refused = _authenticate(event, request_id)
        if refused is not None:
            return refused
    problem = _json_body_problem(event, body) if body else None
    if problem is not None:
        return errors.raw_response(
            400, errors.envelope("validation_failed", problem, request_id, rule="body.json", field="body")
        )
    return None


def _authenticate(event: dict[str, Any], request_id: str) -> dict[str, Any] | None:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        caller = authenticator().authenticate(headers.get("authorization"))
    except UnauthenticatedError as exc:
        body = errors.envelope(exc.code, exc.message, request_id)
        return errors.raw_response(401, body, {"WWW-Authenticate": "Bearer"})
    try:
        rate_limiter().check(caller.key_id)
    except ApiRateLimitedError as exc:
        status, limited, retry = errors.render(exc, request_id)
        return errors.raw_response(status, limited, retry)
    app.append_context(caller=caller)
    logger.append_keys(workspace_id=caller.workspace_id)
    return None

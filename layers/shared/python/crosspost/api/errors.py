"""The one place where errors become HTTP responses (API.md "Errors")."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from crosspost.errors import ApiRateLimitedError, CrosspostError, ErrorDetail, PlatformError
from crosspost.observability import logger
from crosspost.redaction import scrub


def envelope(
    code: str,
    message: str,
    request_id: str,
    *,
    rule: str | None = None,
    field: str | None = None,
    platform: str | None = None,
    remediation: str | None = None,
    details: list[ErrorDetail] | None = None,
    platform_response: Any = None,
    post_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    optional = {
        "rule": rule,
        "platform": platform,
        "field": field,
        "remediation": remediation,
        "platformResponse": platform_response,
        "postId": post_id,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if details:
        body["details"] = [{k: v for k, v in vars(d).items() if v is not None} for d in details]
    body["requestId"] = request_id
    return {"error": body}


def error_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers or {},
    )


def raw_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An HTTP API v2 result, for answers given before the resolver runs."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **(headers or {})},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "body"


def validation_details(errors: list[dict[str, Any]]) -> list[ErrorDetail]:
    details = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        source, rest = (loc[0], loc[1:]) if loc else ("body", ())
        if err.get("type") == "json_invalid":
            details.append(ErrorDetail("body.json", "The request body is not valid JSON.", "body"))
            continue
        if err.get("type") == "model_attributes_type" and not rest:
            details.append(ErrorDetail("body.json", "The request body must be a JSON object.", "body"))
            continue
        field = _field_path(rest) if rest else str(source)
        # pydantic's message is about the schema, never echoes secrets (no "input" is copied)
        details.append(ErrorDetail(field, str(err.get("msg", "invalid value")), field))
    return details


def render(exc: CrosspostError, request_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, envelope and headers of a domain error."""
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(exc, ApiRateLimitedError | PlatformError) and retry_after:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    if exc.http_status >= 500:
        logger.warning("request failed", extra={"code": exc.code, "rule": exc.rule})
    body = envelope(
        exc.code,
        exc.message,
        request_id,
        rule=exc.rule,
        field=exc.field,
        platform=exc.platform,
        remediation=exc.remediation,
        details=exc.details,
        # never a token (API.md): masked again here, whichever error carried it
        platform_response=scrub(exc.platform_response),
        post_id=getattr(exc, "post_id", None),
    )
    return exc.http_status, body, headers


def register(app: APIGatewayHttpResolver, request_id: Any) -> None:
    """Install the exception handlers. ``request_id()`` gives the current request's id."""

    @app.exception_handler(CrosspostError)
    def _domain(exc: CrosspostError) -> Response[str]:
        status, body, headers = render(exc, request_id())
        return error_response(status, body, headers)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[str]:
        details = validation_details(list(exc.errors()))
        first = details[0] if details else ErrorDetail("body", "The request is not valid.", "body")
        return error_response(
            400,
            envelope(
                "validation_failed",
                first.message,
                request_id(),
                rule=first.rule,
                field=first.field,
                details=details,
            ),
        )

    @app.not_found
    def _no_route(exc: RouteNotFound) -> Response[str]:
        return error_response(404, envelope("not_found", "No such route.", request_id(), rule="route.unknown"))

    @app.exception_handler(Exception)
    def _bug(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(500, envelope("internal_error", "An unexpected error occurred.", request_id()))

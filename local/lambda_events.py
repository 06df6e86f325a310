"""Lambda event and context shapes, built the way AWS builds them.

One definition for the API Gateway / SQS emulators of the local stack and for the tests that
invoke handlers in-process.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from crosspost.resources import Route

TEXT_TYPES = (
    "application/json",
    "text/",
    "application/x-www-form-urlencoded",
    "application/xml",
    "application/javascript",
)


def is_text_type(content_type: str) -> bool:
    """Whether API Gateway passes a body of this type as text (else it base64-encodes it)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith(TEXT_TYPES) or media_type.endswith(("+json", "+xml"))


@dataclass
class LambdaContext:
    """What the Python runtime passes as ``context``."""

    function_name: str = "crosspost-local"
    timeout_seconds: float = 30.0
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/crosspost-local"
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def new_api_request_id() -> str:
    """An id for one API Gateway request (requestContext.requestId, ``apigw-requestid``)."""
    return uuid.uuid4().hex[:16]


def http_event(
    method: str,
    raw_path: str,
    route: Route | None,
    *,
    headers: dict[str, str] | None = None,
    query: str = "",
    body: bytes | str | None = None,
    path_parameters: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
) -> dict[str, Any]:
    """An HTTP API payload format 2.0 event.

    ``headers`` must already hold one value per name (API Gateway joins repeated headers with
    commas). A ``Cookie`` header becomes the ``cookies`` list, as API Gateway does.
    """
    lower = {k.lower(): v for k, v in (headers or {}).items()}
    cookie_header = lower.pop("cookie", None)
    raw = body.encode() if isinstance(body, str) else body
    content_type = lower.get("content-type", "application/json")
    is_text = raw is not None and is_text_type(content_type)
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    now_ms = int(time.time() * 1000)
    request_id = request_id or new_api_request_id()
    route_key = f"{method} {route.path}" if route else "$default"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": lower,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lower.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lower.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": now_ms,
        },
        "isBase64Encoded": False,
    }
    if cookie_header:
        event["cookies"] = [c.strip() for c in cookie_header.split(";") if c.strip()]
    if params:
        event["queryStringParameters"] = params
    if path_parameters:
        event["pathParameters"] = path_parameters
    if raw is not None:
        text = _utf8(raw) if is_text else None
        event["body"] = text if text is not None else base64.b64encode(raw).decode()
        event["isBase64Encoded"] = text is None
    return event


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode()
    except UnicodeDecodeError:  # a "text" body that is not UTF-8 travels base64-encoded
        return None


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A ReceiveMessage MessageAttributeValue in Lambda's shape: camelCase, binary as base64
    (the event is JSON), and only the value members that are set."""
    shaped: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        binary = value["BinaryValue"]
        shaped["binaryValue"] = base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary
    return shaped


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One record of a Lambda SQS event, from a ReceiveMessage message (AttributeNames=All)."""
    attributes = message.get("Attributes", {})
    now_ms = str(int(time.time() * 1000))
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        # Lambda passes the four below always, and the optional ones (AWSTraceHeader,
        # MessageGroupId, ...) when SQS returned them.
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": now_ms,
            "SenderId": "123456789012",
            "ApproximateFirstReceiveTimestamp": now_ms,
            **attributes,
        },
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """A handler's return value as API Gateway (payload 2.0) answers it: (status, header
    list, body). The list keeps one ``Set-Cookie`` per entry of ``cookies``.

    A result that is not a dict with ``statusCode`` is the JSON body of a 200 (the v2 format's
    rule for "valid JSON without a statusCode").
    """
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, [("content-type", "application/json")], json.dumps(result).encode()
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ",".join(str(v) for v in values)
    pairs = list(headers.items()) + [("set-cookie", str(c)) for c in result.get("cookies") or []]
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return int(result["statusCode"]), pairs, raw


def http_result(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Turn a handler's return value into (status, headers, body) as API Gateway does (v2);
    repeated headers (cookies) are comma-joined here, for callers that want a dict."""
    status, pairs, raw = http_response(result)
    headers: dict[str, str] = {}
    for name, value in pairs:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return status, headers, raw


def route_pattern(path: str) -> re.Pattern[str]:
    """/v1/posts/{id} → a regex with one named group per path parameter."""
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


def match_route(method: str, raw_path: str, routes: list[Route]) -> tuple[Route, dict[str, str]] | None:
    """The route API Gateway would pick: an exact path beats one with parameters."""
    candidates = []
    for route in routes:
        if route.method != method:
            continue
        found = route_pattern(route.path).match(raw_path)
        if found:
            candidates.append((route.path.count("{"), route, found.groupdict()))
    if not candidates:
        return None
    _, route, params = min(candidates, key=lambda c: c[0])
    return route, params

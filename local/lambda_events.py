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

TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/xml")


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
) -> dict[str, Any]:
    """An HTTP API payload format 2.0 event."""
    lower = {k.lower(): v for k, v in (headers or {}).items()}
    raw = body.encode() if isinstance(body, str) else body
    content_type = lower.get("content-type", "application/json")
    is_text = raw is not None and any(content_type.startswith(t) for t in TEXT_TYPES)
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    now_ms = int(time.time() * 1000)
    request_id = uuid.uuid4().hex[:16]
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
    if params:
        event["queryStringParameters"] = params
    if path_parameters:
        event["pathParameters"] = path_parameters
    if raw is not None:
        event["body"] = raw.decode() if is_text else base64.b64encode(raw).decode()
        event["isBase64Encoded"] = not is_text
    return event


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One record of a Lambda SQS event, from a ReceiveMessage message (AttributeNames=All)."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": attributes.get("SenderId", "123456789012"),
            "ApproximateFirstReceiveTimestamp": attributes.get(
                "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
            ),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def http_result(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Turn a handler's return value into (status, headers, body) as API Gateway does (v2)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, json.dumps(result).encode()
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ",".join(str(v) for v in values)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return int(result["statusCode"]), headers, raw


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

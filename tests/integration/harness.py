"""In-process harness: the real handlers, invoked with API Gateway v2.0 and SQS events, on moto."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from crosspost.resources import API_FUNCTIONS, PUBLISHER, Env, route_table
from local.functions import load_handler
from local.lambda_events import LambdaContext, http_event, http_result, match_route, sqs_record
from local.sqs_source import failed_ids


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def text(self) -> str:
        return self.raw.decode()


class ApiClient:
    """Calls the API handler the way API Gateway would, routing by the CDK route table."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.routes = [r for fn in API_FUNCTIONS for r in fn.routes]
        self.handler = load_handler("api")

    def with_key(self, api_key: str | None) -> ApiClient:
        return ApiClient(api_key)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw_body: bytes | str | None = None,
        query: str = "",
    ) -> HttpResponse:
        all_headers = {"content-type": "application/json", **(headers or {})}
        if self.api_key and "authorization" not in {k.lower() for k in all_headers}:
            all_headers["authorization"] = f"Bearer {self.api_key}"
        matched = match_route(method, path, self.routes)
        if matched is None:
            return HttpResponse(404, {}, b'{"message":"Not Found"}')
        route, params = matched
        payload = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        event = http_event(
            method, path, route, headers=all_headers, body=payload, query=query, path_parameters=params or None
        )
        function = route_table()[(route.method, route.path)]
        result = self.handler(event, LambdaContext(function_name=function.name, timeout_seconds=29))
        return HttpResponse(*http_result(result))

    def get(self, path: str, **kw: Any) -> HttpResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> HttpResponse:
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> HttpResponse:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> HttpResponse:
        return self.request("DELETE", path, **kw)


class QueueDriver:
    """Plays Lambda's SQS event source for the publisher: receive, invoke, delete what succeeded."""

    def __init__(self, env: dict[str, str]) -> None:
        self.url = env[Env.PUBLISH_QUEUE_URL.value]
        self.arn = env[Env.PUBLISH_QUEUE_ARN.value]
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.handler = load_handler("publisher")

    def receive(self, wait_seconds: int = 0) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=wait_seconds
        )
        return list(response.get("Messages", []))

    def deliver(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        event = {"Records": [sqs_record(m, self.arn) for m in messages]}
        context = LambdaContext(function_name=PUBLISHER.name, timeout_seconds=PUBLISHER.timeout_seconds)
        result: dict[str, Any] = self.handler(event, context)
        failed = failed_ids(result, {m["MessageId"] for m in messages})
        assert failed is not None, f"malformed partial batch response: {result}"
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return result

    def drain(self) -> int:
        """Deliver whatever is visible now; returns how many records were delivered."""
        delivered = 0
        while messages := self.receive():
            self.deliver(messages)
            delivered += len(messages)
        return delivered

    def send(self, body: dict[str, Any]) -> None:
        self.sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps(body))

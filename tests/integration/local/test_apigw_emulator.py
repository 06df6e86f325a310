"""The API Gateway emulator, over real HTTP, with stub handlers standing in for the functions."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from crosspost.resources import API_FUNCTIONS, route_table
from local.apigw import ApiGateway
from local.functions import MAX_INVOKE_PAYLOAD_BYTES, FunctionHost

Handler = Callable[[dict[str, Any], Any], Any]


class Recorder:
    """A stub handler: records (event, context) and answers ``reply(event)``."""

    def __init__(self, reply: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.calls: list[tuple[dict[str, Any], Any]] = []
        self.reply = reply or (lambda event: {"statusCode": 200, "body": "{}"})

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.calls.append((event, context))
        return self.reply(event)

    @property
    def event(self) -> dict[str, Any]:
        return self.calls[-1][0]

    @property
    def context(self) -> Any:
        return self.calls[-1][1]


@contextlib.contextmanager
def running(handlers: dict[str, Handler]) -> Iterator[str]:
    """The gateway on a free port with these stand-in functions; its URL."""
    gateway = ApiGateway(FunctionHost(handlers)).start()
    try:
        yield gateway.url
    finally:
        gateway.stop()


@pytest.fixture
def stubs() -> Iterator[tuple[str, dict[str, Recorder]]]:
    """The gateway with one Recorder per API function (each its own "container")."""
    recorders = {fn.name: Recorder() for fn in API_FUNCTIONS}
    with running(dict(recorders)) as url:
        yield url, recorders


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as http:
        yield http


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: f"{m.group(1)}-value", path)


@pytest.mark.parametrize(("method", "path"), sorted(route_table()))
def test_every_route_reaches_its_function_with_its_route_key(
    stubs: tuple[str, dict[str, Recorder]], client: httpx.Client, method: str, path: str
) -> None:
    # Given the CDK's route table, when each route is called with concrete path parameters
    url, recorders = stubs
    response = client.request(method, url + _concrete(path))
    # Then exactly the function serving it is invoked, under its own name, with the route key
    expected = route_table()[(method, path)].name
    assert response.status_code == 200
    invoked = [name for name, r in recorders.items() if r.calls]
    assert invoked == [expected]
    event = recorders[expected].event
    assert event["routeKey"] == f"{method} {path}"
    assert event["requestContext"]["routeKey"] == f"{method} {path}"
    names = re.findall(r"\{(\w+)\}", path)
    assert (event.get("pathParameters") or {}) == {name: f"{name}-value" for name in names}
    assert recorders[expected].context.function_name == expected


def test_an_exact_path_wins_over_a_parameter(stubs: tuple[str, dict[str, Recorder]], client: httpx.Client) -> None:
    url, recorders = stubs
    client.post(f"{url}/v1/accounts/connect/bluesky/complete")
    client.post(f"{url}/v1/posts/validate")
    assert recorders["complete"].event["pathParameters"] == {"platform": "bluesky"}
    assert recorders["posts"].event["routeKey"] == "POST /v1/posts/validate"
    assert "pathParameters" not in recorders["posts"].event


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nothing"),
        ("PUT", "/v1/posts"),  # a known path, another method
        ("GET", "/v1/posts/"),  # trailing slash: another path to API Gateway
        ("GET", "/v1/posts/a/b"),
        ("HEAD", "/v1/posts"),
        ("OPTIONS", "/v1/posts"),  # no CORS configured: no preflight answer
    ],
)
def test_no_route_is_api_gateways_404_and_invokes_nothing(
    stubs: tuple[str, dict[str, Recorder]], client: httpx.Client, method: str, path: str
) -> None:
    url, recorders = stubs
    response = client.request(method, url + path)
    assert response.status_code == 404
    if method != "HEAD":
        assert response.json() == {"message": "Not Found"}
    assert response.headers["apigw-requestid"]
    assert not any(r.calls for r in recorders.values())


def test_the_event_has_the_http_api_v2_shape(stubs: tuple[str, dict[str, Recorder]], client: httpx.Client) -> None:
    url, recorders = stubs
    response = client.send(
        client.build_request(
            "POST",
            f"{url}/v1/posts?status=queued&status=published&limit=5",
            content=b'{"text": "Hello"}',
            headers=[
                ("Content-Type", "application/json"),
                ("Authorization", "Bearer cp_live_x"),
                ("X-Multi", "one"),
                ("X-Multi", "two"),
                ("Cookie", "a=1; b=2"),
                ("User-Agent", "tests/1.0"),
            ],
        )
    )
    assert response.status_code == 200
    event = recorders["posts"].event
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /v1/posts"
    assert event["rawPath"] == "/v1/posts"
    assert event["rawQueryString"] == "status=queued&status=published&limit=5"
    assert event["queryStringParameters"] == {"status": "queued,published", "limit": "5"}
    assert event["cookies"] == ["a=1", "b=2"]
    headers = event["headers"]
    assert all(name == name.lower() for name in headers)
    assert "cookie" not in headers
    assert headers["authorization"] == "Bearer cp_live_x"
    assert headers["x-multi"] == "one,two"
    assert headers["content-type"] == "application/json"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert event["body"] == '{"text": "Hello"}'
    assert event["isBase64Encoded"] is False
    assert event.get("stageVariables") is None
    context = event["requestContext"]
    assert {"accountId", "apiId", "domainName", "domainPrefix", "requestId", "time", "timeEpoch"} <= context.keys()
    assert context["stage"] == "$default"
    assert context["routeKey"] == "POST /v1/posts"
    assert context["http"] == {
        "method": "POST",
        "path": "/v1/posts",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tests/1.0",
    }
    assert response.headers["apigw-requestid"] == context["requestId"]


def test_the_context_counts_down_from_the_function_timeout(
    stubs: tuple[str, dict[str, Recorder]], client: httpx.Client
) -> None:
    url, recorders = stubs
    client.get(f"{url}/v1/posts/post_1")
    fn = route_table()[("GET", "/v1/posts/{id}")]
    context = recorders["posts"].context
    assert context.function_name == "posts"
    assert context.memory_limit_in_mb == fn.memory_mb
    assert context.invoked_function_arn.endswith(":function:posts")
    assert context.aws_request_id
    assert 0 < context.get_remaining_time_in_millis() <= fn.timeout_seconds * 1000


def test_a_binary_body_travels_base64_encoded_both_ways(client: httpx.Client) -> None:
    payload = bytes(range(256)) * 4

    def echo(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": event["body"],
            "isBase64Encoded": event["isBase64Encoded"],
        }

    recorder = Recorder(echo)
    with running({"posts": recorder}) as url:
        response = client.post(f"{url}/v1/posts", content=payload, headers={"Content-Type": "image/png"})
    assert recorder.event["isBase64Encoded"] is True
    assert base64.b64decode(recorder.event["body"]) == payload
    assert response.content == payload


def test_the_result_maps_back_headers_cookies_and_status(client: httpx.Client) -> None:
    def reply(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-Request-Id": "req_1"},
            "multiValueHeaders": {"X-List": ["a", "b"]},
            "cookies": ["s=1; HttpOnly", "t=2"],
            "body": '{"ok": true}',
        }

    with running({"posts": Recorder(reply)}) as url:
        response = client.post(f"{url}/v1/posts", json={})
    assert response.status_code == 201
    assert response.json() == {"ok": True}
    assert response.headers["x-request-id"] == "req_1"
    assert response.headers["x-list"] == "a,b"
    assert response.headers.get_list("set-cookie") == ["s=1; HttpOnly", "t=2"]


@pytest.mark.parametrize("result", [["a", 1], {"no": "statusCode"}, "text"])
def test_a_result_without_status_code_is_a_200_json_body(client: httpx.Client, result: Any) -> None:
    with running({"posts": Recorder(lambda event: result)}) as url:
        response = client.get(f"{url}/v1/posts")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == result


def _assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["rule"] == "body.too_large"
    assert error["message"]
    assert error["requestId"] == response.headers["x-request-id"]


def test_a_body_over_6_mb_is_refused_with_the_envelope(client: httpx.Client) -> None:
    recorder = Recorder()
    with running({"posts": recorder}) as url:
        body = b"x" * (MAX_INVOKE_PAYLOAD_BYTES + 1)
        response = client.post(f"{url}/v1/posts", content=body, headers={"Content-Type": "application/json"})
        _assert_too_large(response)
        # The same connection serves the next request.
        assert client.get(f"{url}/v1/posts").status_code == 200
    assert len(recorder.calls) == 1


def test_an_event_over_6_mb_after_base64_is_refused_too(client: httpx.Client) -> None:
    # 5 MB of binary is 6.7 MB once base64-encoded into the event: over Lambda's invoke limit.
    recorder = Recorder()
    with running({"posts": recorder}) as url:
        response = client.post(
            f"{url}/v1/posts", content=b"\0" * (5 * 1024 * 1024), headers={"Content-Type": "image/png"}
        )
    _assert_too_large(response)
    assert recorder.calls == []


def test_a_chunked_body_is_read_and_limited(client: httpx.Client) -> None:
    recorder = Recorder()

    def chunks(total: int) -> Iterator[bytes]:
        for _ in range(total // 65536):
            yield b"y" * 65536

    with running({"posts": recorder}) as url:
        small = client.post(f"{url}/v1/posts", content=chunks(65536 * 2), headers={"Content-Type": "text/plain"})
        large = client.post(
            f"{url}/v1/posts", content=chunks(MAX_INVOKE_PAYLOAD_BYTES + 65536), headers={"Content-Type": "text/plain"}
        )
    assert small.status_code == 200
    assert recorder.event["body"] == "y" * 65536 * 2
    _assert_too_large(large)


def test_a_handler_exception_is_api_gateways_500(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    def boom(event: dict[str, Any]) -> Any:
        raise RuntimeError("kaput")

    caplog.set_level(logging.ERROR, logger="local")
    with running({"posts": Recorder(boom)}) as url:
        response = client.get(f"{url}/v1/posts")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert any(r.exc_info and "kaput" in str(r.exc_info[1]) for r in caplog.records)


def test_a_malformed_result_is_a_500_too(client: httpx.Client) -> None:
    def bad(event: dict[str, Any]) -> Any:
        return {"statusCode": 200, "body": "!!!", "isBase64Encoded": True, "headers": {}, "extra": {1, 2}}

    with running({"posts": Recorder(bad)}) as url:
        response = client.get(f"{url}/v1/posts")
    assert response.status_code == 500  # a set is not JSON: Lambda cannot return it


def test_one_function_serves_one_request_at_a_time_others_run_alongside(client: httpx.Client) -> None:
    # Given a posts handler that waits for the accounts handler to run
    accounts_ran = threading.Event()
    active = 0
    peak = 0
    guard = threading.Lock()

    def posts(event: dict[str, Any], context: Any) -> Any:
        nonlocal active, peak
        with guard:
            active += 1
            peak = max(peak, active)
        waited = accounts_ran.wait(5)
        with guard:
            active -= 1
        return {"statusCode": 200 if waited else 504, "body": ""}

    def accounts(event: dict[str, Any], context: Any) -> Any:
        accounts_ran.set()
        return {"statusCode": 200, "body": ""}

    with running({"posts": posts, "accounts": accounts}) as url:
        results: list[int] = []

        def call() -> None:
            with httpx.Client(trust_env=False, timeout=10) as own:
                results.append(own.get(f"{url}/v1/posts").status_code)

        threads = [threading.Thread(target=call) for _ in range(3)]
        for thread in threads:
            thread.start()
        # When another function is called meanwhile, it runs (it is not behind posts' lock)
        assert client.get(f"{url}/v1/accounts").status_code == 200
        for thread in threads:
            thread.join(10)
    # Then posts never ran two requests at once, and every request was answered
    assert peak == 1
    assert results == [200, 200, 200]


def test_a_json_body_with_a_charset_stays_text(stubs: tuple[str, dict[str, Recorder]], client: httpx.Client) -> None:
    url, recorders = stubs
    client.post(f"{url}/v1/posts", content="{}", headers={"Content-Type": "application/json; charset=utf-8"})
    client.post(f"{url}/v1/posts", content="{}", headers={"Content-Type": "application/problem+json"})
    assert [call[0]["isBase64Encoded"] for call in recorders["posts"].calls] == [False, False]
    assert json.loads(recorders["posts"].event["body"]) == {}

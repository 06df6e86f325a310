"""The in-process rig of the warm benchmarks: moto as AWS (``mock_aws``), the resources from
``local/provision.py``, the Bluesky sandbox on 127.0.0.1, and the real handlers invoked with
API Gateway v2.0 and SQS events (the same shapes Lambda sends, from ``local/lambda_events``).

``AwsCalls`` counts and times every AWS API call with botocore's event hooks, on every client
made while the rig runs (crosspost's and any a library makes), so moto's own time can be
subtracted and every call can be listed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]

BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Crosspost",
    "POWERTOOLS_SERVICE_NAME": "crosspost",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    # Set by the Lambda runtime. powertools' batch processor keys on it to keep one event loop
    # for the life of the container (outside Lambda it runs asyncio.run per batch), and the
    # publisher's platform HTTP client, one per loop, then keeps its connections warm.
    "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "publisher"),
}


def quiet() -> None:
    """Benchmarks print figures, not powertools' 'no metrics' warnings or INFO log lines (also
    when crosspost's logger was made before, at INFO)."""
    import logging

    warnings.filterwarnings("ignore", "No application metrics to publish")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    logging.getLogger("crosspost").setLevel(logging.WARNING)


def aws_environment() -> None:
    """Dummy credentials (nothing can reach a real account) and the functions' Lambda settings."""
    os.environ.update(BASE_ENV)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)


def load_handler(code_dir: str) -> ModuleType:
    """functions/<code_dir>/handler.py under a unique module name (every Lambda's module is
    called ``handler``)."""
    name = f"crosspost_bench_fn_{code_dir}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / code_dir / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def reset_caches() -> None:
    from crosspost.api.services import reset_services
    from crosspost.aws.clients import reset_clients
    from crosspost.composition import reset_dependencies
    from crosspost.settings import reset_settings

    reset_settings()
    reset_dependencies()
    reset_services()
    reset_clients()


def in_seconds(seconds: float) -> str:
    from crosspost.clock import iso

    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


# ---- AWS call accounting ---------------------------------------------------------------------


Call = tuple[str, str, str]  # (service, operation, resource): the table or secret or queue kind


def _resource(service: str, params: dict[str, Any]) -> str:
    """What a call touches: the table's logical name (Posts, Accounts, ...) for DynamoDB."""
    table = params.get("TableName")
    if isinstance(table, str):
        return table.rsplit("-", 1)[-1]
    if service in ("secretsmanager", "secrets-manager"):
        return "account tokens"
    if service == "sqs":
        return "publish queue"
    if service == "scheduler":
        return "schedule group"
    return ""


@dataclass
class AwsCalls:
    """Every AWS API call made through crosspost's clients: counted by (service, operation,
    resource) and timed from botocore's first event of a call (``provide-client-params``) to
    its last (``after-call`` / ``after-call-error``), which includes moto's work."""

    counts: Counter[Call] = field(default_factory=Counter)
    log: list[Call] = field(default_factory=list)
    seconds: float = 0.0
    send_seconds: float = 0.0  # of which the request's trip to "AWS" (moto's work)
    _started: dict[int, tuple[float, str]] = field(default_factory=dict)
    _sent: dict[int, float] = field(default_factory=dict)
    _hooked: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, client: Any) -> None:
        if id(client) in self._hooked:
            return
        self._hooked.add(id(client))
        events = client.meta.events
        events.register_first("provide-client-params.*.*", self._start)
        events.register_last("after-call.*.*", self._end)
        events.register_last("after-call-error.*.*", self._end)
        # moto answers in a before-send handler (botocore's hook for stubbed responses) and
        # botocore emits before-parse right after: the two bracket AWS's side of the call.
        events.register_first("before-send.*.*", self._send)
        events.register_first("before-parse.*.*", self._received)

    def _start(self, event_name: str, params: dict[str, Any], **kwargs: Any) -> None:
        service = event_name.split(".")[1]
        self._started[threading.get_ident()] = (time.perf_counter(), _resource(service, params))

    def _send(self, **kwargs: Any) -> None:
        self._sent[threading.get_ident()] = time.perf_counter()

    def _received(self, **kwargs: Any) -> None:
        sent = self._sent.pop(threading.get_ident(), None)
        if sent is not None:
            with self._lock:
                self.send_seconds += time.perf_counter() - sent

    def _end(self, event_name: str, **kwargs: Any) -> None:
        started, resource = self._started.pop(threading.get_ident(), (None, ""))
        _, service, operation = event_name.split(".", 2)
        with self._lock:
            if started is not None:
                self.seconds += time.perf_counter() - started
            self.counts[(service, operation, resource)] += 1
            self.log.append((service, operation, resource))

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.log.clear()
            self.seconds = 0.0
            self.send_seconds = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@contextmanager
def counting() -> Iterator[AwsCalls]:
    """Hook every botocore client created meanwhile: crosspost's own (``crosspost.aws.clients``)
    and any a library makes for itself (powertools' idempotency layer, for one)."""
    import botocore.session

    calls = AwsCalls()
    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        calls.hook(client)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]


# ---- handlers -------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    body: Any


class Api:
    """Invokes the real API handler as API Gateway would (route table from crosspost.resources)."""

    def __init__(self, api_key: str) -> None:
        from crosspost.resources import API_FUNCTIONS

        self.api_key = api_key
        self.routes = [r for fn in API_FUNCTIONS for r in fn.routes]
        self.handler = load_handler("api").lambda_handler

    def event(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], Any]:
        from crosspost.resources import route_table
        from local.lambda_events import LambdaContext, http_event, match_route

        matched = match_route(method, path, self.routes)
        assert matched is not None, (method, path)
        route, params = matched
        headers = {"content-type": "application/json", "authorization": f"Bearer {self.api_key}", **(headers or {})}
        payload = json.dumps(body) if body is not None else None
        event = http_event(method, path, route, headers=headers, body=payload, path_parameters=params or None)
        function = route_table()[(route.method, route.path)]
        return event, LambdaContext(function_name=function.name, timeout_seconds=29)

    def invoke(self, event: dict[str, Any], context: Any) -> Response:
        from local.lambda_events import http_result

        status, _, raw = http_result(self.handler(event, context))
        return Response(status, json.loads(raw) if raw else None)

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Response:
        return self.invoke(*self.event(method, path, body, headers))


class Publisher:
    """Invokes the real publisher handler with an SQS event built from received messages."""

    def __init__(self, env: dict[str, str]) -> None:
        import boto3

        from crosspost.resources import Env

        self.url = env[Env.PUBLISH_QUEUE_URL.value]
        self.arn = env[Env.PUBLISH_QUEUE_ARN.value]
        self.sqs = boto3.client("sqs", region_name="us-east-1")  # the event source's, not counted
        self.handler = load_handler("publisher").lambda_handler

    def receive(self, max_messages: int = 10) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=max_messages, AttributeNames=["All"])
        return list(response.get("Messages", []))

    def event(self, messages: list[dict[str, Any]]) -> tuple[dict[str, Any], Any]:
        from crosspost.resources import PUBLISHER
        from local.lambda_events import LambdaContext, sqs_record

        event = {"Records": [sqs_record(m, self.arn) for m in messages]}
        return event, LambdaContext(function_name=PUBLISHER.name, timeout_seconds=PUBLISHER.timeout_seconds)

    def event_for(self, post_ids: list[str]) -> tuple[dict[str, Any], Any]:
        """An SQS event carrying a publish message per post, as if just received."""
        import uuid

        messages = [
            {
                "MessageId": str(uuid.uuid4()),
                "ReceiptHandle": uuid.uuid4().hex,
                "Body": json.dumps({"postId": post_id}),
            }
            for post_id in post_ids
        ]
        return self.event(messages)

    def invoke(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.handler(event, context)
        return result

    def purge(self) -> None:
        self.sqs.purge_queue(QueueUrl=self.url)


@dataclass
class Rig:
    env: dict[str, str]
    api: Api
    publisher: Publisher
    account_id: str
    sandbox_url: str
    calls: AwsCalls

    def post_body(self, text: str = "Hello from the benchmark", **extra: Any) -> dict[str, Any]:
        return {"account": {"platform": "bluesky", "id": self.account_id}, "text": text, **extra}

    def sandbox_posts(self) -> list[dict[str, Any]]:
        import httpx

        return list(httpx.get(f"{self.sandbox_url}/_sandbox/bluesky/posts").json()["posts"])

    def sandbox_latency(self, ms: int | None) -> None:
        import httpx

        faults = f"{self.sandbox_url}/_sandbox/bluesky/faults"
        if ms:
            httpx.post(faults, json={"latencyMs": ms}).raise_for_status()
        else:
            httpx.delete(faults).raise_for_status()


@contextmanager
def _moto_process() -> Iterator[str]:
    """moto's server in a child process (its own GIL, as AWS is in its own building)."""
    import socket
    import subprocess

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/moto-api/data.json", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def _aws(moto_server: bool) -> Iterator[str | None]:
    if moto_server:
        with _moto_process() as url:
            yield url
    else:
        from moto import mock_aws

        with mock_aws():
            yield None


@contextmanager
def rig(*, moto_server: bool = False) -> Iterator[Rig]:
    """moto + the sandbox + a workspace with its API key and the sandbox's Bluesky account.

    moto runs in-process (``mock_aws``) unless ``moto_server``: then as a server in a child
    process, which the functions reach through ``AWS_ENDPOINT_URL`` as the local stack does."""
    quiet()
    aws_environment()
    import httpx

    from local.provision import provision
    from local.sandbox import bluesky as sandbox_bluesky
    from local.sandbox.server import start_sandbox

    sandbox = start_sandbox()
    saved = dict(os.environ)
    try:
        with _aws(moto_server) as endpoint:
            if endpoint:
                os.environ["AWS_ENDPOINT_URL"] = endpoint
            env = provision(prefix="crosspost-bench", endpoint_url=endpoint)
            parts = urlsplit(sandbox.url)
            os.environ.update(env)
            os.environ["LOCAL_ALLOWED_ORIGINS"] = f"{parts.scheme}://{parts.netloc}"
            os.environ["BLUESKY_DEFAULT_SERVICE"] = f"{sandbox.url}/bluesky"
            os.environ["PLATFORM_TIMEOUT_SECONDS"] = "5"
            # the limiter still counts every request (its call is measured), but never refuses one
            os.environ["RATE_LIMIT_PER_MINUTE"] = "1000000"
            reset_caches()
            httpx.post(f"{sandbox.url}/_sandbox/reset").raise_for_status()
            from crosspost.admin import mint_workspace_key

            key = mint_workspace_key("bench")["apiKey"]
            reset_caches()  # the clients are made again, with the counter's hooks
            with counting() as calls:
                api = Api(key)
                credentials = {"handle": sandbox_bluesky.SEED_HANDLE, "appPassword": sandbox_bluesky.SEED_APP_PASSWORD}
                body = {"platform": "bluesky", "credentials": credentials}
                connected = api.call("POST", "/v1/accounts/connect", body)
                assert connected.status == 201, connected.body
                yield Rig(env, api, Publisher(env), connected.body["id"], sandbox.url, calls)
    finally:
        reset_caches()
        os.environ.clear()
        os.environ.update(saved)
        sandbox.stop()

"""LocalStack in-process, with stub functions: every part is wired to the others, the connection
file appears once it all answers, and stop leaves nothing behind."""

from __future__ import annotations

import json
import os
import queue
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from crosspost.resources import API_FUNCTIONS, Env
from local import connection
from local.aws import aws_client
from local.stack import LocalStack, StackConfig, StackError, require_loopback


def test_the_stack_wires_every_part_and_stops_cleanly(tmp_path: Path) -> None:
    # Given stub functions: the API ones echo their name, the publisher records its events
    published: queue.Queue[dict[str, Any]] = queue.Queue()

    def api(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "body": json.dumps({"function": context.function_name})}

    def publisher(event: dict[str, Any], context: Any) -> dict[str, Any]:
        published.put(event)
        return {"batchItemFailures": []}

    handlers: dict[str, Any] = {fn.name: api for fn in API_FUNCTIONS} | {"publisher": publisher}
    state = tmp_path / "state" / "local.json"
    environment_before = dict(os.environ)
    threads_before = set(threading.enumerate())

    # When the stack starts
    stack = LocalStack(StackConfig(state_file=state, handlers=handlers))
    info = stack.start()
    try:
        # Then the connection file holds the contract's fields (and the extras make key needs)
        assert json.loads(state.read_text()) == info
        assert info["apiKey"].startswith("cp_live_") and info["workspaceId"]
        assert info["sandboxAccounts"]["bluesky"].keys() == {"handle", "appPassword"}
        assert info["env"][Env.POSTS_TABLE.value] and info["awsEndpointUrl"].startswith("http://127.0.0.1:")
        assert oct(state.stat().st_mode & 0o777) == "0o600"
        # And the functions see the local configuration
        assert os.environ[Env.AWS_ENDPOINT_URL.value] == info["awsEndpointUrl"]
        assert os.environ[Env.LOCAL_ALLOWED_ORIGINS.value] == info["sandboxUrl"]
        assert os.environ[Env.BLUESKY_DEFAULT_SERVICE.value] == f"{info['sandboxUrl']}/bluesky"
        assert os.environ[Env.PUBLIC_BASE_URL.value] == info["baseUrl"]
        # And the API routes to the functions, the sandbox answers
        with httpx.Client(trust_env=False, timeout=5) as http:
            assert http.get(f"{info['baseUrl']}/v1/posts/post_1").json() == {"function": "posts"}
            assert http.get(f"{info['sandboxUrl']}/_sandbox/health").status_code == 200
        # And a due schedule reaches the publisher through the queue
        scheduler = aws_client("scheduler", info["awsEndpointUrl"])
        due = datetime.now(UTC) - timedelta(seconds=1)
        scheduler.create_schedule(
            Name="post_x",
            GroupName=info["env"][Env.SCHEDULE_GROUP.value],
            ScheduleExpression=f"at({due.strftime('%Y-%m-%dT%H:%M:%S')})",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target={
                "Arn": info["env"][Env.PUBLISH_QUEUE_ARN.value],
                "RoleArn": info["env"][Env.SCHEDULER_ROLE_ARN.value],
                "Input": '{"postId": "post_x"}',
            },
        )
        event = published.get(timeout=5)
        assert [r["body"] for r in event["Records"]] == ['{"postId": "post_x"}']
    finally:
        stack.stop()

    # Then nothing is left: no file, no listener, no emulator thread, the environment as it was
    assert not state.exists()
    assert dict(os.environ) == environment_before
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False, timeout=2) as http:
        http.get(f"{info['baseUrl']}/v1/openapi.json")
    # (only threads this stack started: another test's sandbox may share this worker process)
    leftovers = [t for t in threading.enumerate() if t not in threads_before]
    assert [t.name for t in leftovers if t.name.startswith(("local-", "crosspost-sandbox"))] == []


def test_a_stack_that_cannot_start_stops_what_it_started(tmp_path: Path) -> None:
    def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 500, "body": ""}

    handlers: dict[str, Any] = {fn.name: broken for fn in API_FUNCTIONS} | {"publisher": broken}
    stack = LocalStack(StackConfig(state_file=tmp_path / "local.json", handlers=handlers, ready_timeout=1.0))
    environment_before = dict(os.environ)
    with pytest.raises(StackError, match="API"):
        stack.start()
    assert not (tmp_path / "local.json").exists()
    assert dict(os.environ) == environment_before


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::1", "example.com"])
def test_only_loopback_addresses_are_accepted(host: str) -> None:
    with pytest.raises(StackError):
        require_loopback(host)
    assert require_loopback("127.0.0.1") == "127.0.0.1"


def test_a_connection_file_of_a_stopped_stack_is_stale(tmp_path: Path) -> None:
    path = tmp_path / "local.json"
    with pytest.raises(connection.StaleConnectionError):
        connection.read(path)
    connection.write(path, {"baseUrl": "http://127.0.0.1:1", "pid": 2**22 + 12345})
    with pytest.raises(connection.StaleConnectionError):
        connection.read(path)
    connection.write(path, {"baseUrl": "http://127.0.0.1:1", "pid": os.getpid()})
    assert connection.read(path)["baseUrl"] == "http://127.0.0.1:1"
    connection.remove(path)
    assert not path.exists()

"""20 concurrent identical ``POST /v1/posts`` with one Idempotency-Key (issue #6, item 6): one
post, one platform call, and every answer either the same 201 body or 409
``idempotency_key.in_progress`` for the ones that raced the first.

Two runs, because they prove different things:

- over HTTP, 20 client threads against the local stack, exactly as clients would send them. The
  local API emulator serves one request at a time (one process, one lock), so these arrive
  together but are answered in turn: this proves the client contract for concurrent senders
  (one post, one platform call, replays byte-identical), not the race itself;
- the race itself: 4 separate processes, each a "container" of the posts function with the real
  handler, pointed at the same stack's DynamoDB (moto) and sandbox, released at the same moment
  with 5 requests each (a container serves one invocation at a time, as Lambda does). Here the
  requests really overlap in DynamoDB, and only powertools' conditional INPROGRESS record keeps the
  others from publishing: they get 409 in_progress while the first is still publishing, then the
  stored answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from local.aws import aws_environment
from tests.e2e import stack_process
from tests.e2e.helpers import RunningStack, client, sandbox_records, unique_text

pytestmark = pytest.mark.e2e

REQUESTS = 20
CONTAINERS = 4


def _check(answers: list[tuple[int, Any]], api: httpx.Client, sandbox: httpx.Client, text: str) -> Counter[int]:
    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {201, 409}, answers
    created = [body for status, body in answers if status == 201]
    assert created, "no request published the post"
    assert all(body == created[0] for body in created), "replays differ from the first answer"
    for status, body in answers:
        if status == 409:
            assert (body["error"]["code"], body["error"]["rule"]) == (
                "idempotency_conflict",
                "idempotency_key.in_progress",
            )
    # one post, one platform record
    posts = api.get("/v1/posts", params={"limit": 200}).json()["posts"]
    assert [p["id"] for p in posts if p["text"] == text] == [created[0]["id"]]
    [record] = sandbox_records(sandbox, text)
    assert record["uri"] == created[0]["uri"]
    assert created[0]["attempts"] == 1
    return statuses


def test_given_20_concurrent_clients_over_http_then_one_post_and_identical_answers(
    api: httpx.Client,
    account_id: str,
    sandbox: httpx.Client,
    local_stack: RunningStack,
    workspace: dict[str, str],
    report: Callable[[str, str], None],
) -> None:
    text = unique_text("Concurrent HTTP")
    body = {"account": {"platform": "bluesky", "id": account_id}, "text": text}
    start = threading.Barrier(REQUESTS)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def send() -> None:
        with client(local_stack.base_url, workspace["apiKey"]) as http:
            start.wait()
            response = http.post("/v1/posts", json=body, headers={"Idempotency-Key": f"http-{text}"})
        with lock:
            answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=send) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == REQUESTS
    statuses = _check(answers, api, sandbox, text)
    report("idempotency: 20 concurrent clients over HTTP", f"answers {dict(statuses)}; 1 post, 1 platform record")


def test_given_20_requests_racing_in_4_containers_then_one_post_and_the_rest_in_progress_or_replayed(
    api: httpx.Client,
    account_id: str,
    sandbox: httpx.Client,
    local_stack: RunningStack,
    workspace: dict[str, str],
    report: Callable[[str, str], None],
) -> None:
    text = unique_text("Concurrent containers")
    info = local_stack.info
    env = {
        **aws_environment(info["awsEndpointUrl"]),
        **info["env"],
        "LOCAL_ALLOWED_ORIGINS": info["sandboxUrl"],
        "BLUESKY_DEFAULT_SERVICE": f"{info['sandboxUrl']}/bluesky",
        "RATE_LIMIT_PER_MINUTE": "100000",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    job = {
        "env": env,
        "apiKey": workspace["apiKey"],
        "body": {"account": {"platform": "bluesky", "id": account_id}, "text": text},
        "key": f"containers-{text}",
        "requests": REQUESTS // CONTAINERS,
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.idempotency_worker"],
            cwd=stack_process.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(CONTAINERS)
    ]
    try:
        for worker in workers:
            assert worker.stdin is not None and worker.stdout is not None
            worker.stdin.write(json.dumps(job) + "\n")
            worker.stdin.flush()
        for worker in workers:  # every container warm before any request
            assert worker.stdout is not None
            ready = worker.stdout.readline().strip()
            assert ready == "ready", (ready, worker.stderr.read() if worker.stderr else "")
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        answers: list[tuple[int, Any]] = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            answers += [(line["status"], line["body"]) for line in map(json.loads, out.splitlines())]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert len(answers) == REQUESTS
    statuses = _check(answers, api, sandbox, text)
    report(
        "idempotency: 20 requests racing in 4 function containers",
        f"answers {dict(statuses)} (409 = idempotency_key.in_progress); 1 post, 1 platform record",
    )

"""Cold start: a fresh Python process imports a function's handler and serves its first request,
against a fresh process that only runs ``import boto3``, in the same run.

Measured per function and route family:
- the API handler: ``GET /v1/accounts`` (accounts), ``POST /v1/posts`` scheduled an hour ahead
  (posts: account read, post write, one EventBridge schedule), ``GET /v1/profiles`` (profiles);
- the publisher: one SQS record of a due post, published to the Bluesky sandbox.

Beside them, the floor (``bench/floor/``): handlers that do the same work with the libraries crosspost
must use (boto3, powertools, pydantic, httpx) and no crosspost code. What crosspost adds is its
figure minus the floor's.

AWS is an in-memory fake in this process (``bench/fake_aws.py``), so a child pays for
crosspost's code and one loopback round trip per AWS call, not for an emulator. Bytecode is
cached as in Lambda (the layers ship compiled ``.pyc``): every child runs once unmeasured to fill
a private ``PYTHONPYCACHEPREFIX``, then the runs interleave the bare ``import boto3`` with each
handler so machine noise hits all alike. Each figure is the median time from spawning the process
to the moment it has served its request (or finished ``import boto3``), interpreter start-up
included; interpreter teardown is not (a Lambda container is frozen, not torn down, and teardown
of a process full of botocore and pydantic objects takes ~100 ms). The child also reports its
import / first-request split.

Target (issue #8): ≤ 1.8× the bare ``import boto3``. Run: make bench (or
python -m bench.cold_start).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.fake_aws import FakeAws, RemoteFake

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "layers" / "shared" / "python"
DEPS = ROOT / "layers" / "deps" / "python"
QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "7" if QUICK else "15"))
KEY = "cp_live_" + "b" * 43
TARGET = 1.8
PREFIX = "bench"

# The child: what the Lambda runtime does for a cold start, minus the runtime itself.
CHILD = """
import sys, time
start = time.perf_counter()
sys.path[:0] = sys.argv[1].split(":")
if sys.argv[2] == "bare":
    import boto3
    import json, os
    sys.stderr.write(json.dumps({"done": time.perf_counter(), "ok": True}) + "\\n")
    sys.stderr.flush()
    os._exit(0)
from handler import lambda_handler
imported = time.perf_counter()
import json, os
with open(sys.argv[2]) as f:
    spec = json.load(f)

class Context:
    function_name = spec["function"]
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + spec["function"]
    aws_request_id = "c0ffee00-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/" + spec["function"]
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 29000

result = lambda_handler(spec["event"], Context())
done = time.perf_counter()
if "batchItemFailures" in result:
    ok = not result["batchItemFailures"]
else:
    ok = result.get("statusCode") == spec["status"]
report = {"done": done, "import": imported - start, "request": done - imported, "ok": ok}
if not ok:
    report["result"] = result
sys.stderr.write(json.dumps(report) + "\\n")
sys.stderr.flush()
os._exit(0)  # a Lambda container is frozen, not torn down: interpreter teardown is not a cold start
"""


@dataclass
class Target:
    name: str
    code_dir: str
    function: str
    event: dict[str, Any]
    status: int = 200
    # a handler of bench/floor/ (the libraries alone), not a crosspost function
    floor: bool = False


@dataclass
class Figures:
    name: str
    code_dir: str  # "api" or "publisher": which floor a function is compared with
    floor: bool
    wall: float
    import_s: float
    request_s: float


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _table(logical: str) -> str:
    return f"{PREFIX}-{logical}"


def _env(endpoint: str, sandbox_url: str, pycache: str) -> dict[str, str]:
    from crosspost.resources import TABLES, Env

    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "POWERTOOLS_", "PYTHON")) and k not in ("LAMBDA_TASK_ROOT",)
    }
    return {
        **inherited,
        **{t.env.value: _table(t.logical_id) for t in TABLES},
        Env.PUBLISH_QUEUE_URL.value: f"{endpoint}/123456789012/{PREFIX}-PublishQueue",
        Env.PUBLISH_QUEUE_ARN.value: f"arn:aws:sqs:us-east-1:123456789012:{PREFIX}-PublishQueue",
        Env.SCHEDULE_GROUP.value: f"{PREFIX}-schedules",
        Env.SCHEDULER_ROLE_ARN.value: f"arn:aws:iam::123456789012:role/{PREFIX}-scheduler",
        Env.SECRETS_PREFIX.value: f"{PREFIX}/accounts/",
        "LOCAL_ALLOWED_ORIGINS": sandbox_url,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "LAMBDA_TASK_ROOT": str(ROOT / "functions"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Crosspost",
        "POWERTOOLS_SERVICE_NAME": "crosspost",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PYTHONPYCACHEPREFIX": pycache,
        "PYTHONWARNINGS": "ignore",
    }


def _bluesky_tokens(sandbox_url: str) -> str:
    """Log in to the sandbox's seed account the way a connect does; the secret's JSON."""
    import httpx

    from crosspost.aws.token_vault import _encode
    from crosspost.platforms.bluesky import BlueskyAuth
    from local.sandbox import bluesky as seed

    async def login() -> Any:
        async with httpx.AsyncClient() as http:
            credentials = {
                "handle": seed.SEED_HANDLE,
                "appPassword": seed.SEED_APP_PASSWORD,
                "service": f"{sandbox_url}/bluesky",
            }
            return await BlueskyAuth(http).login(credentials)

    return _encode(asyncio.run(login()).tokens)


class Scene:
    """The fake's rows: an API key, a workspace profile, a Bluesky account with its secret, and a
    post that is due (re-seeded as ``queued`` before every publisher run)."""

    def __init__(self, fake: FakeAws | RemoteFake, sandbox_url: str) -> None:
        from crosspost.resources import TABLES

        self.fake = fake
        self.workspace = str(uuid.uuid4())
        self.account_id = str(uuid.uuid4())
        self.post_id = "post_01JBENCHCOLDSTART000000000"
        created = _iso(datetime.now(UTC) - timedelta(minutes=1))
        key_hash = hashlib.sha256(KEY.encode()).hexdigest()
        fake.set_keys({_table(t.logical_id): tuple(k.name for k in (t.partition, t.sort) if k) for t in TABLES})
        fake.put(
            _table("ApiKeys"),
            {
                "keyHash": _s(key_hash),
                "id": _s("k1"),
                "workspaceId": _s(self.workspace),
                "name": _s("bench"),
                "prefix": _s(KEY[:12]),
                "createdAt": _s(created),
            },
        )
        fake.put(
            _table("Workspaces"),
            {
                "pk": _s(self.workspace),
                "sk": _s("PROFILE#p1"),
                "id": _s("p1"),
                "workspaceId": _s(self.workspace),
                "name": _s("default"),
                "createdAt": _s(created),
            },
        )
        secret = f"{PREFIX}/accounts/{self.workspace}/{self.account_id}"
        fake.set_secret(secret, _bluesky_tokens(sandbox_url))
        from local.sandbox import bluesky as seed

        fake.put(
            _table("Accounts"),
            {
                "id": _s(self.account_id),
                "workspaceId": _s(self.workspace),
                "profileId": _s("p1"),
                "platform": _s("bluesky"),
                "platformAccountId": _s(seed.SEED_DID),
                "username": _s(seed.SEED_HANDLE),
                "createdAt": _s(created),
                "updatedAt": _s(created),
                "secretName": _s(secret),
                "createdKey": _s(f"{created}#{self.account_id}"),
                "platformAccountKey": _s(f"{self.workspace}#bluesky#{seed.SEED_DID}"),
            },
        )
        self.created = created

    def post_item(self, post_id: str, text: str) -> dict[str, Any]:
        """A queued post that is due (created a minute ago), as the posts table holds it."""
        return {
            "id": _s(post_id),
            "workspaceId": _s(self.workspace),
            "profileId": _s("p1"),
            "accountId": _s(self.account_id),
            "platform": _s("bluesky"),
            "status": _s("queued"),
            "text": _s(text),
            "media": {"L": []},
            "options": {"M": {}},
            "createdAt": _s(self.created),
            "updatedAt": _s(self.created),
            "attempts": {"N": "0"},
            "warnings": {"L": []},
            "activeStatus": _s("queued"),
            "dueAt": _s(self.created),
        }

    def queued_post(self) -> None:
        self.fake.put(_table("Posts"), self.post_item(self.post_id, "Hello from a cold start"))

    def targets(self) -> list[Target]:
        from crosspost.resources import PUBLISHER, Route, route_table
        from local.lambda_events import http_event, sqs_record

        headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}

        def api(name: str, method: str, path: str, body: Any = None, status: int = 200) -> Target:
            route = Route(method, path)
            payload = json.dumps(body) if body is not None else None
            event = http_event(method, path, route, headers=headers, body=payload)
            return Target(name, "api", route_table()[(method, path)].name, event, status)

        scheduled_at = _iso(datetime.now(UTC) + timedelta(days=30))
        post = {"account": {"platform": "bluesky", "id": self.account_id}, "text": "Later", "scheduledAt": scheduled_at}
        message = {
            "MessageId": str(uuid.uuid4()),
            "ReceiptHandle": uuid.uuid4().hex,
            "Body": json.dumps({"postId": self.post_id}),
        }
        queue_arn = f"arn:aws:sqs:us-east-1:123456789012:{PREFIX}-PublishQueue"
        accounts = api("api: GET /v1/accounts", "GET", "/v1/accounts")
        records = {"Records": [sqs_record(message, queue_arn)]}
        return [
            accounts,
            api("api: POST /v1/posts (scheduled)", "POST", "/v1/posts", post, 202),
            api("api: GET /v1/profiles", "GET", "/v1/profiles"),
            Target("publisher: 1 SQS record", "publisher", PUBLISHER.name, records),
            Target("floor: API, GET /v1/accounts", "api", "floor-api", accounts.event, floor=True),
            Target("floor: publisher, 1 SQS record", "publisher", "floor-publisher", records, floor=True),
        ]

    def floor_env(self, sandbox_url: str) -> dict[str, str]:
        """What the floor handlers read: the rows and secret they read, the URL they fetch."""
        return {
            "FLOOR_TABLE": _table("ApiKeys"),
            "FLOOR_KEY_HASH": hashlib.sha256(KEY.encode()).hexdigest(),
            "FLOOR_SECRET": f"{PREFIX}/accounts/{self.workspace}/{self.account_id}",
            "FLOOR_URL": f"{sandbox_url}/_sandbox/files/square.jpg",
        }


def _interpreter() -> tuple[list[str], list[str]]:
    """The children see what a Lambda function sees: the function's directory, the shared layer
    and the dependencies layer (``make layer``: exactly the runtime dependencies, no dev tools),
    and no site-packages (``-S``). Without a built layer, the venv stands in for it (it also holds
    the dev tools, and some of them change what the dependencies import, e.g. httpx's CLI)."""
    import boto3

    version = (DEPS / "boto3" / "__init__.py").read_text() if (DEPS / "boto3" / "__init__.py").exists() else ""
    if f"__version__ = '{boto3.__version__}'" in version:
        return [sys.executable, "-S"], [str(DEPS)]
    return [sys.executable], []


def _run(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Spawn to "served": the child stamps the moment it is done with CLOCK_MONOTONIC, which is
    what ``time.perf_counter`` reads here too (one clock for the whole machine)."""
    start = time.perf_counter()
    done = subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = [line for line in done.stderr.splitlines() if line.startswith("{")]
    report: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return report.get("done", time.perf_counter()) - start, report


def measure(runs: int = RUNS) -> tuple[float, list[Figures]]:
    from local.sandbox.server import start_sandbox

    sandbox = start_sandbox()
    fake = FakeAws({}).start()
    try:
        scene = Scene(fake, sandbox.url)
        targets = scene.targets()
        with tempfile.TemporaryDirectory(prefix="crosspost-bench-") as tmp:
            env = {**_env(fake.url, sandbox.url, str(Path(tmp) / "pycache")), **scene.floor_env(sandbox.url)}
            child = Path(tmp) / "child.py"
            child.write_text(CHILD)
            python, deps = _interpreter()
            commands: list[tuple[Target, list[str]]] = []
            for target in targets:
                spec = Path(tmp) / f"{len(commands)}.json"
                spec.write_text(
                    json.dumps({"event": target.event, "function": target.function, "status": target.status})
                )
                code = ROOT / "bench" / "floor" if target.floor else ROOT / "functions"
                path = ":".join([str(code / target.code_dir), str(SHARED), *deps])
                commands.append((target, [*python, str(child), path, str(spec)]))
            bare = [*python, str(child), ":".join(deps), "bare"]
            # unmeasured: fills the bytecode cache, and checks every child serves its request
            _run(bare, env)
            for target, command in commands:
                if target.code_dir == "publisher":
                    scene.queued_post()
                _, report = _run(command, env)
                assert report.get("ok"), f"{target.name}: {report}"
            bare_times: list[float] = []
            times: dict[str, list[tuple[float, float, float]]] = {t.name: [] for t, _ in commands}
            for _ in range(runs):
                bare_times.append(_run(bare, env)[0])
                for target, command in commands:
                    if target.code_dir == "publisher":
                        scene.queued_post()
                    wall, report = _run(command, env)
                    assert report.get("ok"), f"{target.name}: {report}"
                    times[target.name].append((wall, report["import"], report["request"]))
    finally:
        fake.stop()
        sandbox.stop()
    figures = [
        Figures(
            target.name,
            target.code_dir,
            target.floor,
            statistics.median(w for w, _, _ in times[target.name]),
            statistics.median(i for _, i, _ in times[target.name]),
            statistics.median(r for _, _, r in times[target.name]),
        )
        for target, _ in commands
    ]
    return statistics.median(bare_times), figures


def main() -> list[str]:
    bare, figures = measure()
    print(f"cold start, median of {RUNS} fresh processes (spawn to served; import / first request inside it):")
    _, deps = _interpreter()
    where = "the dependencies layer (layers/deps/python)" if deps else "the venv (no layers/deps/python: `make layer`)"
    print(f"  dependencies from {where}")
    print(f"  bare `import boto3`                     {bare * 1000:7.1f} ms")
    for f in figures:
        print(
            f"  {f.name:<38}  {f.wall * 1000:7.1f} ms  = {f.wall / bare:4.2f}x   "
            f"(import {f.import_s * 1000:5.1f} ms, first request {f.request_s * 1000:5.1f} ms)"
        )
    floors = {f.code_dir: f for f in figures if f.floor}
    measured = [f for f in figures if not f.floor]
    print("  above the floor (what crosspost's own code adds):")
    for f in measured:
        print(f"    {f.name:<36}  {(f.wall - floors[f.code_dir].wall) * 1000:+7.1f} ms")
    worst = max(f.wall / bare for f in measured)
    verdict = "OK" if worst <= TARGET else "MISSED"
    each = ", ".join(
        f"{f.name.split(':')[0] if 'publisher' in f.name else f.name[5:]} {f.wall / bare:.2f}x" for f in measured
    )
    floor_each = ", ".join(f"{name} {f.wall / bare:.2f}x" for name, f in floors.items())
    line = (
        f"SUMMARY cold_start: worst {worst:.2f}x bare boto3 ({each}; the libraries alone: {floor_each}) "
        f"(target <= {TARGET}x) {verdict}"
    )
    print(line)
    return [line]


if __name__ == "__main__":
    main()

"""Cold start: a fresh process imports the API handler and serves one authenticated request
(GET /v1/accounts, AWS replaced by an in-memory fake), against a bare `import boto3`.

Target (DESIGN.md): ≤ 1.8× the bare boto3 import. Run: make bench (or python -m bench.cold_start).
"""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.fake_aws import FakeDynamoDB

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
KEY = "cp_live_" + "b" * 43
TARGET = 1.8

CHILD = f"""
import sys
sys.path[:0] = [{str(ROOT / "functions" / "api")!r}, {str(ROOT / "layers" / "shared" / "python")!r}, {str(ROOT)!r}]
from handler import lambda_handler
from local.lambda_events import LambdaContext, http_event
from crosspost.resources import Route
event = http_event("GET", "/v1/accounts", Route("GET", "/v1/accounts"), headers={{"authorization": "Bearer {KEY}"}})
result = lambda_handler(event, LambdaContext(function_name="accounts"))
assert result["statusCode"] == 200, result
"""


def _env(endpoint: str) -> dict[str, str]:
    names = (
        "ACCOUNTS_TABLE",
        "POSTS_TABLE",
        "WORKSPACES_TABLE",
        "API_KEYS_TABLE",
        "OAUTH_STATES_TABLE",
        "IDEMPOTENCY_TABLE",
    )
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **{name: f"bench-{name.lower()}" for name in names},
        "PUBLISH_QUEUE_URL": f"{endpoint}/123456789012/bench",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Crosspost",
        "POWERTOOLS_SERVICE_NAME": "crosspost",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }


def _time(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(runs: int = RUNS) -> tuple[float, float]:
    fake = FakeDynamoDB().start()
    fake.items[hashlib.sha256(KEY.encode()).hexdigest()] = {
        "keyHash": {"S": hashlib.sha256(KEY.encode()).hexdigest()},
        "id": {"S": "k1"},
        "workspaceId": {"S": "w1"},
        "name": {"S": "bench"},
        "prefix": {"S": KEY[:12]},
        "createdAt": {"S": "2026-01-01T00:00:00.000Z"},
    }
    env = _env(fake.url)
    try:
        boto3_times, handler_times = [], []
        for _ in range(runs):  # interleaved, so machine noise hits both alike
            boto3_times.append(_time([sys.executable, "-c", "import boto3"], env))
            handler_times.append(_time([sys.executable, "-c", CHILD], env))
    finally:
        fake.stop()
    return statistics.median(boto3_times), statistics.median(handler_times)


def main() -> None:
    bare, handler = measure()
    ratio = handler / bare
    print(f"cold start, median of {RUNS} fresh processes:")
    print(f"  bare `import boto3`:                       {bare * 1000:7.1f} ms")
    print(f"  API handler import + first request:        {handler * 1000:7.1f} ms")
    verdict = "OK" if ratio <= TARGET else "MISSED"
    print(f"SUMMARY cold_start: {ratio:.2f}x bare boto3 (target <= {TARGET}x) {verdict}")


if __name__ == "__main__":
    main()

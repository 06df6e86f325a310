"""Throughput on the local stack: 1,000 scheduled posts created over HTTP, then all published.

Starts the embedded local stack (``python -m local.run --port 0 --state-file F --quiet``: the API
Gateway emulator, moto as AWS, the Scheduler and SQS event-source emulators, the Bluesky sandbox),
connects the sandbox's Bluesky account, and creates the posts over HTTP from a few client threads,
each scheduled two seconds after its own creation (so it rides SQS ``DelaySeconds``, and the
publisher, invoked by the SQS emulator in batches of 10, holds any record that arrives early).
Prints the creation rate, the end-to-end time (first request to last post on the sandbox), the
publish lag (the sandbox's receipt time − ``scheduledAt``), and checks that the sandbox holds
exactly one post per created post: no loss, no duplicate.

No target (issue #8): figures only. The local stack runs everything in one Python process on
this machine (the API functions one request at a time, moto included), so these are the local
stack's figures, not Lambda's. ``BENCH_QUICK=1``: 200 posts. Run: make bench (or
python -m bench.throughput).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

QUICK = os.environ.get("BENCH_QUICK") == "1"
POSTS = int(os.environ.get("BENCH_THROUGHPUT_POSTS", "200" if QUICK else "1000"))
CLIENTS = 4
AHEAD_SECONDS = 2.0
PUBLISH_TIMEOUT_SECONDS = 600

ROOT = Path(__file__).resolve().parents[1]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class LocalStack:
    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="crosspost-bench-")
        self.state = Path(self._tmp.name) / "local.json"
        # the stack as `make run` starts it: nothing of the benchmarks' own settings
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "POWERTOOLS_")) and k not in ("LAMBDA_TASK_ROOT", "RATE_LIMIT_PER_MINUTE")
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.run", "--port", "0", "--state-file", str(self.state), "--quiet"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while not self.state.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the local stack did not start: {self.process.stderr.read() if self.process.stderr else ''}"
                )
            time.sleep(0.2)
        self.info: dict[str, Any] = json.loads(self.state.read_text())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._tmp.cleanup()


def measure(posts: int = POSTS) -> dict[str, Any]:
    import httpx

    stack = LocalStack()
    try:
        base, key, sandbox = stack.info["baseUrl"], stack.info["apiKey"], stack.info["sandboxUrl"]
        headers = {"authorization": f"Bearer {key}"}
        bluesky = stack.info["sandboxAccounts"]["bluesky"]
        credentials = {"handle": bluesky["handle"], "appPassword": bluesky["appPassword"]}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            connected = http.post("/v1/accounts/connect", json={"platform": "bluesky", "credentials": credentials})
            assert connected.status_code == 201, connected.text
            account = {"platform": "bluesky", "id": connected.json()["id"]}
        scheduled: dict[str, datetime] = {}
        lock = threading.Lock()
        local = threading.local()

        def create(i: int) -> None:
            if not hasattr(local, "http"):
                local.http = httpx.Client(base_url=base, headers=headers, timeout=60)
            at = datetime.now(UTC) + timedelta(seconds=AHEAD_SECONDS)
            text = f"throughput {i}"
            response = local.http.post("/v1/posts", json={"account": account, "text": text, "scheduledAt": _iso(at)})
            assert response.status_code == 202, response.text
            with lock:
                scheduled[text] = _parse(response.json()["scheduledAt"])

        start = time.perf_counter()
        started_at = datetime.now(UTC)
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(create, range(posts)))
        created = time.perf_counter() - start

        def sandbox_posts() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = httpx.get(f"{sandbox}/_sandbox/bluesky/posts", timeout=30).json()["posts"]
            return [p for p in found if p["record"]["text"].startswith("throughput ")]

        deadline = time.monotonic() + PUBLISH_TIMEOUT_SECONDS
        while len(found := sandbox_posts()) < posts and time.monotonic() < deadline:
            time.sleep(0.5)
        end_to_end = time.perf_counter() - start
        time.sleep(3)  # anything published twice would show up now
        found = sandbox_posts()
        texts = [p["record"]["text"] for p in found]
        lags = [(_parse(p["createdAt"]) - scheduled[p["record"]["text"]]).total_seconds() for p in found]
        return {
            "posts": posts,
            "created_seconds": created,
            "end_to_end_seconds": end_to_end,
            "on_sandbox": len(found),
            "distinct": len(set(texts)),
            "unknown": len(set(texts) - set(scheduled)),
            "lags": lags,
            "started_at": started_at,
        }
    finally:
        stack.stop()


def main() -> list[str]:
    r = measure()
    lags = sorted(r["lags"]) or [0.0]
    p99 = lags[min(len(lags) - 1, round(0.99 * (len(lags) - 1)))]
    exact = r["on_sandbox"] == r["posts"] == r["distinct"] and not r["unknown"]
    print(f"throughput on the local stack ({r['posts']} scheduled posts, {CLIENTS} HTTP clients):")
    print(f"  created over HTTP:     {r['created_seconds']:6.1f} s  = {r['posts'] / r['created_seconds']:6.1f} posts/s")
    print(f"  all published:         {r['end_to_end_seconds']:6.1f} s after the first request")
    print(f"  publish lag:           p50 {statistics.median(lags):.2f} s, p99 {p99:.2f} s, max {lags[-1]:.2f} s")
    print(
        f"  sandbox holds:         {r['on_sandbox']} posts, {r['distinct']} distinct "
        f"(expected exactly {r['posts']}): {'OK' if exact else 'WRONG'}"
    )
    line = (
        f"SUMMARY throughput: {r['posts']} posts created at {r['posts'] / r['created_seconds']:.0f}/s, all published "
        f"in {r['end_to_end_seconds']:.0f} s, lag p99 {p99:.1f} s, sandbox holds {r['on_sandbox']} "
        f"(target: exactly {r['posts']}) {'OK' if exact else 'MISSED'}"
    )
    print(line)
    return [line]


if __name__ == "__main__":
    main()

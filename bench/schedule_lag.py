"""Schedule lag: 200 posts scheduled through EventBridge Scheduler (emulated, with AWS-like
jitter), published by the publisher; the distribution of ``publishedAt − scheduledAt``.

The real Scheduler invokes its target anywhere in the 60 s after a schedule's time. crosspost
schedules a lead time (60 s) early, so a record arrives up to a minute before its post is due,
and the publisher holds it: it sets the record's visibility to the remaining seconds, rounded up
(never early), and publishes when it comes back (DESIGN.md "Precision"). What is left is that
rounding (under a second), the event source's poll and the publish itself.

The embedded local stack runs as ``make run ARGS=--jitter`` starts it (``python -m local.run
--jitter``, its own process: moto, the Scheduler and SQS emulators, the real handlers, the
sandbox); this process only creates posts over HTTP and reads them back. Posts
are scheduled 125-185 s ahead (past the lead time plus the minute below which crosspost uses SQS
DelaySeconds instead of a schedule), spread over a minute as real schedules are, so the run
takes about 3.5 minutes. ``BENCH_QUICK=1``: 50 posts over 10 s (about 2.5 minutes).

Target (DESIGN.md, issue #6): p99 ≤ 1.5 s, and never early. Run: ``python -m bench schedule_lag``
or ``python -m bench.schedule_lag``.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]

QUICK = os.environ.get("BENCH_QUICK") == "1"
POSTS = int(os.environ.get("BENCH_SCHEDULE_LAG_POSTS", "50" if QUICK else "200"))
SPREAD_SECONDS = 10.0 if QUICK else 60.0
AHEAD_SECONDS = 125.0  # > lead (60 s) + 60 s: every post gets a Scheduler schedule
TARGET_P99_SECONDS = 1.5


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@contextmanager
def local_stack() -> Iterator[dict[str, Any]]:
    """``python -m local.run --jitter``; its connection info while it runs."""
    with tempfile.TemporaryDirectory(prefix="crosspost-bench-") as folder:
        state = Path(folder) / "local.json"
        # the stack as `make run` starts it: nothing of the benchmarks' own settings
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        process = subprocess.Popen(
            [sys.executable, "-m", "local.run", "--port", "0", "--state-file", str(state), "--quiet", "--jitter"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while not state.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the local stack did not start")
                time.sleep(0.2)
            yield json.loads(state.read_text())
        finally:
            process.terminate()
            process.wait(30)


def measure(posts: int = POSTS, spread: float = SPREAD_SECONDS) -> dict[str, Any]:
    rng = random.Random(6)
    with local_stack() as info:
        headers = {"Authorization": f"Bearer {info['apiKey']}"}
        with httpx.Client(base_url=info["baseUrl"], headers=headers, timeout=30, trust_env=False) as api:
            credentials = info["sandboxAccounts"]["bluesky"]
            account = api.post("/v1/accounts/connect", json={"platform": "bluesky", "credentials": credentials})
            account.raise_for_status()
            target = {"platform": "bluesky", "id": account.json()["id"]}
            ids: list[str] = []
            for n in range(posts):
                when = datetime.now(UTC) + timedelta(seconds=AHEAD_SECONDS + rng.uniform(0, spread))
                body = {"account": target, "text": f"lag {n}", "scheduledAt": _iso(when)}
                created = api.post("/v1/posts", json=body)
                assert created.status_code == 202, created.text
                ids.append(created.json()["id"])
            scheduled = stack_schedules(info)
            last = max(_parse(api.get(f"/v1/posts/{pid}").json()["scheduledAt"]) for pid in ids)
            print(f"  {posts} posts scheduled ({scheduled} Scheduler schedules), the last at {_iso(last)}", flush=True)
            deadline = last + timedelta(seconds=60)
            done: dict[str, dict[str, Any]] = {}
            while datetime.now(UTC) < deadline and len(done) < posts:
                time.sleep(2)
                done = _published(api)
            lags = [
                (_parse(p["publishedAt"]) - _parse(p["scheduledAt"])).total_seconds()
                for p in done.values()
                if p["id"] in set(ids)
            ]
    return {"posts": posts, "published": len(lags), "lags": lags}


def stack_schedules(info: dict[str, Any]) -> int:
    from local.aws import aws_client

    scheduler = aws_client("scheduler", info["awsEndpointUrl"])
    group = info["env"]["SCHEDULE_GROUP"]
    count, token = 0, None
    while True:
        page = scheduler.list_schedules(GroupName=group, **({"NextToken": token} if token else {}))
        count += len(page.get("Schedules", []))
        token = page.get("NextToken")
        if not token:
            return count


def _published(api: httpx.Client) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"status": "published", "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/posts", params=params).json()
        found.update({p["id"]: p for p in page["posts"]})
        cursor = page.get("nextCursor")
        if not cursor:
            return found


def main() -> list[str]:
    print(
        f"Schedule lag: {POSTS} posts scheduled {AHEAD_SECONDS:.0f}-{AHEAD_SECONDS + SPREAD_SECONDS:.0f} s ahead, "
        "Scheduler emulator with AWS-like jitter (fires 0-60 s after a schedule's time):",
        flush=True,
    )
    started = time.perf_counter()
    result = measure()
    lags = result["lags"]
    if not lags:
        return ["SUMMARY schedule_lag: nothing was published MISSED"]
    p50, p95, p99 = (percentile(lags, q) for q in (50, 95, 99))
    early = sum(1 for lag in lags if lag < 0)
    print(f"  published {result['published']}/{result['posts']} in {time.perf_counter() - started:.0f} s")
    print(
        f"  publishedAt - scheduledAt: p50 {p50:.3f} s, p95 {p95:.3f} s, p99 {p99:.3f} s, "
        f"min {min(lags):.3f} s, max {max(lags):.3f} s, mean {statistics.fmean(lags):.3f} s; early: {early}"
    )
    ok = result["published"] == result["posts"] and p99 <= TARGET_P99_SECONDS and early == 0
    return [
        f"SUMMARY schedule_lag: p50 {p50:.2f} s, p95 {p95:.2f} s, p99 {p99:.2f} s over {len(lags)} posts, "
        f"{early} early (target p99 <= {TARGET_P99_SECONDS} s, none early) {'OK' if ok else 'MISSED'}"
    ]


if __name__ == "__main__":
    for line in main():
        print(line)

"""Publisher concurrency: one SQS batch of 10 due posts against a platform that takes 100 ms per
call, against a batch of one, both through the real publisher handler (in-process, warm).

The platform is the Bluesky sandbox with ``latencyMs: 100`` on every call. AWS is the in-memory
fake of ``bench/fake_aws.py``; both run as processes of their own, so neither competes with the
publisher for this process's GIL, and the fake answers calls in parallel, as DynamoDB and Secrets
Manager do. (moto would not do here: it handles one call at a time, ~3-5 ms each under load, so
a batch's 40 AWS calls would queue for ~150 ms behind one another and the figure would measure
moto.) ``BENCH_AWS_LATENCY_MS`` (default 0) delays every AWS answer, e.g. 5 for in-region
DynamoDB; 0 is the harder case for the ratio (the platform's latency is then the only wait the
records can overlap).

The records of a batch should overlap: the batch should take about one platform latency, not ten.
What remains is the CPU each record needs in this process (botocore, httpx, pydantic, logging),
which one Python process cannot overlap.

Target (issue #8): batch of 10 ≤ 1.5× a single publish. Run: make bench (or
python -m bench.publisher_concurrency).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench._inprocess import ROOT, load_handler, quiet, reset_caches

QUICK = os.environ.get("BENCH_QUICK") == "1"
TRIALS = int(os.environ.get("BENCH_CONCURRENCY_TRIALS", "5" if QUICK else "9"))
AWS_LATENCY_MS = float(os.environ.get("BENCH_AWS_LATENCY_MS", "0"))
BATCH = 10
LATENCY_MS = 100
TARGET = 1.5

# The sandbox as its own process, with two TCP settings a real platform's server has: a listen
# backlog (the sandbox's default of 5 drops the SYNs of a batch's 10 new connections: 1 s
# retransmits), and no Nagle delay (the sandbox writes headers and body separately, so without
# it a keep-alive connection waits ~40 ms for the client's delayed ACK before the body leaves).
_SANDBOX = """
import sys
import local.sandbox.server as server
server._Server.request_queue_size = 128
server._Handler.disable_nagle_algorithm = True
from local.sandbox.__main__ import main
sys.argv = ["local.sandbox", "--port", "0"]
main()
"""


@contextmanager
def _process(args: list[str]) -> Iterator[dict[str, Any]]:
    """A child that prints one JSON line when it is ready; stopped on exit."""
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{args} did not start")
        yield json.loads(line)
    finally:
        process.terminate()
        process.wait(10)


class Rig:
    def __init__(self, fake_url: str, sandbox_url: str) -> None:
        from bench.cold_start import PREFIX, Scene, _env, _table
        from bench.fake_aws import RemoteFake

        self.fake = RemoteFake(fake_url)
        self.scene = Scene(self.fake, sandbox_url)
        self.posts_table = _table("Posts")
        self.sandbox_url = sandbox_url
        env = _env(fake_url, sandbox_url, "")
        for name in ("PYTHONPYCACHEPREFIX", "PYTHONWARNINGS", "LAMBDA_TASK_ROOT"):
            env.pop(name, None)
        os.environ.update(env)
        # Set by the Lambda runtime. powertools' batch processor keeps one event loop for the
        # container's life when it is set (outside Lambda it runs asyncio.run per batch), and
        # the platform HTTP client, one per loop, then keeps its connections warm.
        os.environ["LAMBDA_TASK_ROOT"] = str(ROOT / "functions" / "publisher")
        reset_caches()
        self.handler = load_handler("publisher").lambda_handler
        self.queue_arn = f"arn:aws:sqs:us-east-1:123456789012:{PREFIX}-PublishQueue"
        self.count = 0

    def due_posts(self, n: int) -> list[str]:
        items = []
        for _ in range(n):
            self.count += 1
            post_id = f"post_01JBENCHCONCURRENCY{self.count:08d}"
            items.append(self.scene.post_item(post_id, f"concurrency {time.time_ns()} {self.count}"))
        self.fake.put_many(self.posts_table, items)
        return [i["id"]["S"] for i in items]

    def publish(self, ids: list[str]) -> float:
        from crosspost.resources import PUBLISHER
        from local.lambda_events import LambdaContext, sqs_record

        records = [
            sqs_record(
                {"MessageId": f"m-{i}", "ReceiptHandle": f"r-{i}", "Body": json.dumps({"postId": i})}, self.queue_arn
            )
            for i in ids
        ]
        context = LambdaContext(function_name=PUBLISHER.name, timeout_seconds=PUBLISHER.timeout_seconds)
        with contextlib.redirect_stdout(io.StringIO()):  # the EMF metric lines
            start = time.perf_counter()
            result = self.handler({"Records": records}, context)
            elapsed = time.perf_counter() - start
        assert not result.get("batchItemFailures"), result
        for post_id in ids:
            row = self.fake.get(self.posts_table, {"id": {"S": post_id}})
            assert row and row["status"]["S"] == "published", row
        return elapsed

    def latency(self, ms: int | None) -> None:
        import httpx

        faults = f"{self.sandbox_url}/_sandbox/bluesky/faults"
        if ms:
            httpx.post(faults, json={"latencyMs": ms}).raise_for_status()
        else:
            httpx.delete(faults).raise_for_status()

    def sandbox_posts(self) -> int:
        import httpx

        return len(httpx.get(f"{self.sandbox_url}/_sandbox/bluesky/posts").json()["posts"])


def measure(trials: int = TRIALS) -> tuple[list[float], list[float], int, int]:
    quiet()
    saved = dict(os.environ)
    fake_args = [sys.executable, "-m", "bench.fake_aws", "--latency-ms", str(AWS_LATENCY_MS)]
    try:
        with _process([sys.executable, "-c", _SANDBOX]) as sandbox, _process(fake_args) as fake:
            r = Rig(fake["url"], sandbox["sandboxUrl"])
            # warm, as a container that has published before: clients, the token cache, and a
            # batch's worth of keep-alive connections to the platform
            warm = r.due_posts(BATCH)
            r.latency(LATENCY_MS)
            r.publish(warm)
            before = r.sandbox_posts()
            singles, batches = [], []
            for _ in range(trials):
                singles.append(r.publish(r.due_posts(1)))
                batches.append(r.publish(r.due_posts(BATCH)))
            r.latency(None)
            published = r.sandbox_posts() - before
            r.fake.close()
    finally:
        reset_caches()
        os.environ.clear()
        os.environ.update(saved)
    return singles, batches, published, trials * (BATCH + 1)


def main() -> list[str]:
    singles, batches, published, expected = measure()
    single, batch = statistics.median(singles), statistics.median(batches)
    ratio = batch / single
    print(
        f"publisher concurrency: platform latency {LATENCY_MS} ms per call, AWS latency {AWS_LATENCY_MS:g} ms, "
        f"median of {len(singles)} trials:"
    )
    print(
        f"  1 record:              {single * 1000:7.1f} ms  (trials: {', '.join(f'{s * 1000:.0f}' for s in singles)})"
    )
    trials = ", ".join(f"{b * 1000:.0f}" for b in batches)
    print(f"  batch of {BATCH} records:   {batch * 1000:7.1f} ms  (trials: {trials})")
    print(f"  posts the sandbox received: {published} (expected {expected})")
    verdict = "OK" if ratio <= TARGET and published == expected else "MISSED"
    line = (
        f"SUMMARY publisher_concurrency: batch of {BATCH} = {ratio:.2f}x one publish "
        f"({batch * 1000:.0f} vs {single * 1000:.0f} ms, {LATENCY_MS} ms platform latency) "
        f"(target <= {TARGET}x) {verdict}"
    )
    print(line)
    return [line]


if __name__ == "__main__":
    main()

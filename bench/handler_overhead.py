"""Handler overhead: the API handler's own time per warm request, outside AWS.

In-process invocations of the real API handler (API Gateway v2.0 events, as Lambda passes them)
for ``POST /v1/posts`` (scheduled an hour ahead: account read, post write, one schedule) and
``GET /v1/accounts``, with moto as AWS. The handler's own time of one invocation is its wall
time minus the time spent inside botocore API calls, measured with botocore event hooks from
each call's first event (``provide-client-params``) to its last (``after-call``); that window
holds moto's work and botocore's own serialization, signing and parsing, so what remains is
crosspost's code plus powertools (routing, validation, logging, metrics) and pydantic. The
figure with botocore's client-side work counted as the handler's (only moto's side, bracketed
by the ``before-send`` and ``before-parse`` hooks, subtracted) is printed beside it.

Target (issue #8): p50 ≤ 2 ms. Run: make bench (or python -m bench.handler_overhead).
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import time
from typing import Any

from bench._inprocess import Rig, in_seconds, rig

QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = int(os.environ.get("BENCH_OVERHEAD_ROUNDS", "100" if QUICK else "400"))
WARMUP = 30
TARGET_MS = 2.0


class _Null(io.TextIOBase):
    def write(self, s: str) -> int:  # the EMF metric lines powertools prints
        return len(s)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _run(r: Rig, make_event: Any, expected: int, rounds: int) -> tuple[list[float], list[float], list[float]]:
    """Per invocation: own time (outside botocore calls), own + botocore's client-side work
    (outside moto), and wall time."""
    own, with_botocore, total = [], [], []
    sink = _Null()
    for i in range(WARMUP + rounds):
        event, context = make_event()
        r.calls.reset()
        with contextlib.redirect_stdout(sink):
            start = time.perf_counter()
            response = r.api.invoke(event, context)
            elapsed = time.perf_counter() - start
        assert response.status == expected, response.body
        if i >= WARMUP:
            total.append(elapsed * 1000)
            own.append((elapsed - r.calls.seconds) * 1000)
            with_botocore.append((elapsed - r.calls.send_seconds) * 1000)
    return own, with_botocore, total


def measure(rounds: int = ROUNDS) -> dict[str, tuple[list[float], list[float], list[float]]]:
    results = {}
    with rig() as r:

        def scheduled() -> Any:
            return r.api.event("POST", "/v1/posts", r.post_body("scheduled", scheduledAt=in_seconds(3600)))

        def accounts() -> Any:
            return r.api.event("GET", "/v1/accounts")

        results["POST /v1/posts (scheduled)"] = _run(r, scheduled, 202, rounds)
        results["GET /v1/accounts"] = _run(r, accounts, 200, rounds)
    return results


def main() -> list[str]:
    results = measure()
    print(f"handler overhead: {ROUNDS} warm in-process invocations per route (moto's time subtracted):")
    parts, ok = [], True
    for name, (own, with_botocore, total) in results.items():
        p50, p99 = statistics.median(own), _percentile(own, 0.99)
        print(f"  {name}")
        print(f"    own time (outside AWS calls)          p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
        print(
            f"    own + botocore client-side work       p50 {statistics.median(with_botocore):6.2f} ms   "
            f"p99 {_percentile(with_botocore, 0.99):6.2f} ms"
        )
        print(f"    wall time, moto included              p50 {statistics.median(total):6.2f} ms")
        parts.append(f"{name.split(' (')[0]} p50 {p50:.2f} ms / p99 {p99:.2f} ms")
        ok = ok and p50 <= TARGET_MS
    line = f"SUMMARY handler_overhead: {', '.join(parts)} (target p50 <= {TARGET_MS} ms) {'OK' if ok else 'MISSED'}"
    print(line)
    return [line]


if __name__ == "__main__":
    main()

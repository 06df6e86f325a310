"""``make bench`` (``python -m bench``): every benchmark in turn, then their summary lines.

    python -m bench                     # all of them (a few minutes on 2 cores)
    python -m bench cold_start aws_calls  # some of them
    BENCH_QUICK=1 python -m bench       # fewer runs and posts (a quick look, noisier figures)

Each benchmark prints its figures and one ``SUMMARY`` line with its target; none is a test. A
benchmark that fails prints its traceback and an ``ERROR`` summary, and the others still run.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable

from bench import (
    aws_calls,
    cold_start,
    cost_model,
    handler_overhead,
    publisher_concurrency,
    schedule_lag,
    throughput,
)
from bench._inprocess import quiet


def _aws_calls_and_cost() -> list[str]:
    print("AWS calls per post (warm; botocore event hooks on every client the functions make):")
    flows, extra = aws_calls.measure()
    lines = aws_calls.report(flows, extra)
    for line in lines:
        print(line)
    print()
    return lines + cost_model.main(flows, extra)  # priced from the same counted calls


BENCHMARKS: dict[str, Callable[[], list[str]]] = {
    "cold_start": cold_start.main,
    "handler_overhead": handler_overhead.main,
    "aws_calls": _aws_calls_and_cost,  # and cost_model
    "publisher_concurrency": publisher_concurrency.main,
    "throughput": throughput.main,
    "schedule_lag": schedule_lag.main,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    if "cost_model" in chosen and "aws_calls" not in chosen:
        chosen = ["aws_calls" if name == "cost_model" else name for name in chosen]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {[*BENCHMARKS, 'cost_model']}", file=sys.stderr)
        return 2
    quiet()
    summaries: list[str] = []
    started = time.perf_counter()
    for name in chosen:
        print(f"== {name} " + "=" * (70 - len(name)), flush=True)
        t0 = time.perf_counter()
        try:
            summaries += BENCHMARKS[name]()
        except Exception:
            traceback.print_exc()
            summaries.append(f"SUMMARY {name}: ERROR (see the traceback above)")
        print(f"({time.perf_counter() - t0:.0f} s)\n", flush=True)
    print(f"== summary ({time.perf_counter() - started:.0f} s) " + "=" * 50)
    for line in summaries:
        print(line)
    return 1 if any(": ERROR" in line for line in summaries) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

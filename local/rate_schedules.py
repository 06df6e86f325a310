"""Rate schedules of the local stack: invokes every function that has ``schedule_rate_minutes``
(the reconcile sweep) on a timer, as EventBridge Scheduler's ``rate()`` schedule does in AWS.

AWS invokes such a function with the schedule's input (none is set: ``{}``) about once per rate;
here the rate can be shortened (``interval``) so tests and scripts need not wait minutes. A run
that fails is logged and the timer goes on, as a failed scheduled invocation does not stop the
schedule. Invocations go through the ``FunctionHost``, so they take the function's lock and
timeout like any other.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from crosspost.resources import FunctionDef
from local.functions import FunctionHost

log = logging.getLogger(__name__)


class RateScheduleEmulator:
    """One daemon thread for all rate-scheduled functions (``start``/``stop``), or one round per
    ``tick()`` call."""

    def __init__(self, functions: FunctionHost, defs: Sequence[FunctionDef], *, interval: float | None = None) -> None:
        self._functions = functions
        self._defs = [fn for fn in defs if fn.schedule_rate_minutes]
        # None: each function's own rate, in seconds
        self._every = {fn.name: interval or 60.0 * (fn.schedule_rate_minutes or 1) for fn in self._defs}
        self._next = {fn.name: time.monotonic() + self._every[fn.name] for fn in self._defs}
        self.runs: dict[str, int] = {fn.name: 0 for fn in self._defs}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-rate-schedules", daemon=True)

    def start(self) -> RateScheduleEmulator:
        if self._defs:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(min(0.2, *self._every.values())):
            self.tick()

    def tick(self, *, force: bool = False) -> dict[str, object]:
        """Invoke the functions whose time has come (all of them with ``force``); their results."""
        results: dict[str, object] = {}
        for fn in self._defs:
            if not force and time.monotonic() < self._next[fn.name]:
                continue
            self._next[fn.name] = time.monotonic() + self._every[fn.name]
            try:
                results[fn.name] = self._functions.invoke(fn, {})
                self.runs[fn.name] += 1
            except Exception as exc:  # the schedule goes on
                log.warning("rate schedule: %s failed: %s", fn.name, exc)
        return results

"""Test-only fault injection for the publisher (``CROSSPOST_FAULT_INJECTION``).

Production never sets the variable: the CDK stack refuses it as an operator setting and the infra
tests check that no function's environment carries it. The local stack passes it through for the
chaos test, which needs crashes at the one place a crash is most dangerous:

- ``crash_after_platform_call[:probability]``: after the platform accepted a post and before
  crosspost recorded it, the publisher "dies" (``InjectedCrash``): the post stays ``publishing``
  under its lease and the SQS record returns to the queue. Recovery is the lease take-over
  (DESIGN.md "Failures", "Reconcile sweep"), which must not post twice.

The value is a comma-separated list; a name without a probability means 1.0. An unknown name is
an error, so a typo cannot silently test nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

from crosspost.observability import logger, metrics

CRASH_AFTER_PLATFORM_CALL = "crash_after_platform_call"
KNOWN = frozenset({CRASH_AFTER_PLATFORM_CALL})


class InjectedCrash(Exception):
    """The publisher dies here (test-only). Nothing catches it on the publishing path."""


@dataclass(frozen=True)
class FaultInjector:
    crash_after_platform_call: float = 0.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def after_platform_call(self, post_id: str, uri: str) -> None:
        """Between the platform's answer and the record write: maybe die."""
        if self.crash_after_platform_call and self.rng.random() < self.crash_after_platform_call:
            # WARNING: the chaos test reads these lines (post id) from the stack's log.
            logger.warning(
                "fault injection: crash after the platform call",
                extra={"post_id": post_id, "uri": uri, "fault": CRASH_AFTER_PLATFORM_CALL},
            )
            metrics.add_metric(name="InjectedCrashes", unit="Count", value=1)
            raise InjectedCrash(f"{CRASH_AFTER_PLATFORM_CALL}: {post_id}")


def parse(entries: tuple[str, ...]) -> FaultInjector | None:
    """The injector for ``Settings.fault_injection``; None when nothing is injected (production)."""
    return _parse(tuple(entries))


@lru_cache(maxsize=8)
def _parse(entries: tuple[str, ...]) -> FaultInjector | None:
    if not entries:
        return None
    probabilities: dict[str, float] = {}
    for entry in entries:
        name, _, value = entry.partition(":")
        name = name.strip()
        if name not in KNOWN:
            raise ValueError(f"unknown fault {name!r} in CROSSPOST_FAULT_INJECTION; known: {sorted(KNOWN)}")
        probability = float(value) if value.strip() else 1.0
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"fault {name}: probability {probability} is not within 0..1")
        probabilities[name] = probability
    return FaultInjector(crash_after_platform_call=probabilities.get(CRASH_AFTER_PLATFORM_CALL, 0.0))

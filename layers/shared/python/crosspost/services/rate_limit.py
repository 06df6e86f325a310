"""The per-API-key rate limit (API.md: 429 ``rate_limited`` with ``Retry-After``).

Fixed one-minute windows counted in DynamoDB (``crosspost.aws.rate_limits``): correct across any
number of concurrent Lambda instances, one conditional write per request. A fixed window lets a
client send up to twice the limit across a window boundary (the end of one minute and the start
of the next); that is the price of one write instead of a read and a write per request.

``RATE_LIMIT_PER_MINUTE`` (default 600 per key; the local stack sets it high; 0 turns it off and
saves the write).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol

from crosspost.errors import ApiRateLimitedError

WINDOW_SECONDS = 60


class CounterStore(Protocol):
    def hit(self, counter: str, *, limit: int, window_end: int) -> bool: ...


class RateLimiter:
    def __init__(
        self,
        store: CounterStore | None,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.per_minute = per_minute
        self.clock = clock

    @property
    def enabled(self) -> bool:
        return self.store is not None and self.per_minute > 0

    def check(self, key_id: str) -> None:
        """Count one request of ``key_id``; ``ApiRateLimitedError`` when over the limit."""
        if not self.enabled:
            return
        assert self.store is not None
        at = self.clock()
        window = int(at // WINDOW_SECONDS)
        window_end = (window + 1) * WINDOW_SECONDS
        if self.store.hit(f"{key_id}#{window}", limit=self.per_minute, window_end=window_end):
            return
        retry_after = max(1, math.ceil(window_end - at))
        raise ApiRateLimitedError(
            f"This API key made more than {self.per_minute} requests this minute; retry in {retry_after} s.",
            rule="api_key.rate_limited",
            retry_after=retry_after,
            remediation="Wait Retry-After seconds before the next request.",
        )

"""The per-key rate limit's window arithmetic (the DynamoDB counter is tested on moto in
tests/integration/test_security_limits.py)."""

from __future__ import annotations

import pytest

from crosspost.errors import ApiRateLimitedError
from crosspost.services.rate_limit import RateLimiter


class Counters:
    """The store's contract: count unless ``limit`` were counted in that counter already."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.calls: list[tuple[str, int, int]] = []

    def hit(self, counter: str, *, limit: int, window_end: int) -> bool:
        self.calls.append((counter, limit, window_end))
        if self.hits.get(counter, 0) >= limit:
            return False
        self.hits[counter] = self.hits.get(counter, 0) + 1
        return True


def test_given_the_limit_then_the_next_request_in_the_window_gets_retry_after_until_the_window_ends() -> None:
    clock = [999_999_980.4]  # 20.4 s into a minute
    limiter = RateLimiter(Counters(), 3, clock=lambda: clock[0])
    for _ in range(3):
        limiter.check("key-1")
    with pytest.raises(ApiRateLimitedError) as caught:
        limiter.check("key-1")
    assert caught.value.retry_after == 40  # ceil(60 - 20.4)
    assert (caught.value.code, caught.value.http_status, caught.value.rule) == (
        "rate_limited",
        429,
        "api_key.rate_limited",
    )
    limiter.check("key-2")  # per key
    clock[0] += 40  # the next minute
    limiter.check("key-1")


def test_retry_after_is_at_least_one_second() -> None:
    clock = [999_999_959.9999]
    limiter = RateLimiter(Counters(), 1, clock=lambda: clock[0])
    limiter.check("k")
    with pytest.raises(ApiRateLimitedError) as caught:
        limiter.check("k")
    assert caught.value.retry_after >= 1


def test_one_store_call_per_request_keyed_by_key_and_minute() -> None:
    store = Counters()
    RateLimiter(store, 10, clock=lambda: 120.5).check("abc")
    assert store.calls == [("abc#2", 10, 180)]


@pytest.mark.parametrize(("store", "limit"), [(None, 10), (Counters(), 0)])
def test_given_no_table_or_a_zero_limit_then_nothing_is_counted(store: Counters | None, limit: int) -> None:
    limiter = RateLimiter(store, limit)
    for _ in range(100):
        limiter.check("k")
    assert not limiter.enabled
    assert store is None or store.calls == []

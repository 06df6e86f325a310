"""The publisher's test-only crash injection: off unless named, refused when misspelled."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from crosspost.observability import metrics
from crosspost.services import faults
from crosspost.settings import Settings

ENV = {
    "ACCOUNTS_TABLE": "a",
    "POSTS_TABLE": "p",
    "WORKSPACES_TABLE": "w",
    "API_KEYS_TABLE": "k",
    "OAUTH_STATES_TABLE": "o",
    "IDEMPOTENCY_TABLE": "i",
    "PUBLISH_QUEUE_URL": "https://sqs.example/q",
}


@pytest.fixture(autouse=True)
def _no_metrics_left_behind() -> Iterator[None]:
    yield
    metrics.clear_metrics()


def test_given_no_setting_then_nothing_is_injected() -> None:
    assert Settings.from_env(ENV).fault_injection == ()
    assert faults.parse(()) is None


def test_given_a_name_without_probability_then_it_always_fires() -> None:
    injector = faults.parse(
        Settings.from_env({**ENV, "CROSSPOST_FAULT_INJECTION": "crash_after_platform_call"}).fault_injection
    )
    assert injector is not None and injector.crash_after_platform_call == 1.0
    with pytest.raises(faults.InjectedCrash):
        injector.after_platform_call("post_1", "at://x")


def test_given_a_probability_then_it_fires_about_that_often() -> None:
    injector = faults.FaultInjector(crash_after_platform_call=0.25, rng=random.Random(7))
    crashes = 0
    for n in range(2000):
        try:
            injector.after_platform_call(f"post_{n}", "at://x")
        except faults.InjectedCrash:
            crashes += 1
    assert 400 < crashes < 600


@pytest.mark.parametrize("value", [("crash_after_platfrom_call",), ("crash_after_platform_call:1.5",)])
def test_given_a_misspelled_or_impossible_fault_then_it_is_refused(value: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        faults.parse(value)

"""The Scheduler emulator against moto: at() schedules fire into SQS once, on time, and only if
they still exist; jitter stays within the real service's window. A fake clock drives ``tick``."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.scheduler import AWS_INVOKE_WINDOW_SECONDS, SchedulerEmulator, fire_delay, parse_at
from tests.integration.local.queues import Queue

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _at(when: datetime) -> str:
    return f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})"


def _definition(name: str, group: str, queue: Queue, when: datetime, body: str, **extra: Any) -> dict[str, Any]:
    # As the app sends it (crosspost.aws.scheduling): every field, create and update alike.
    return {
        "Name": name,
        "GroupName": group,
        "ScheduleExpression": _at(when),
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "Target": {"Arn": queue.arn, "RoleArn": "arn:aws:iam::123456789012:role/scheduler", "Input": body},
        **extra,
    }


def _bodies(sqs: Any, queue: Queue) -> list[str]:
    messages = sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10).get("Messages", [])
    return [m["Body"] for m in messages]


def _names(scheduler_client: Any, group: str) -> list[str]:
    return [s["Name"] for s in scheduler_client.list_schedules(GroupName=group)["Schedules"]]


@pytest.fixture
def queue(make_queue: Callable[..., Queue]) -> Queue:
    return make_queue()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 - timedelta(minutes=5))


@pytest.fixture
def emulator(scheduler_client: Any, sqs: Any, schedule_group: str, clock: Clock) -> SchedulerEmulator:
    return SchedulerEmulator(scheduler_client, sqs, [schedule_group], clock=clock)


def test_a_due_schedule_sends_its_input_to_the_queue_and_deletes_itself(
    emulator: SchedulerEmulator, clock: Clock, scheduler_client: Any, sqs: Any, schedule_group: str, queue: Queue
) -> None:
    # Given a one-time schedule at T0 targeting the queue
    body = json.dumps({"postId": "post_1", "dueAt": "2030-01-01T12:01:00.000Z"})
    scheduler_client.create_schedule(**_definition("post_1", schedule_group, queue, T0, body))
    # When the emulator polls before T0, nothing happens
    assert emulator.tick() == []
    clock.now = T0 - timedelta(seconds=1)
    assert emulator.tick() == []
    assert _bodies(sqs, queue) == []
    # When it polls at T0, the Input lands on the queue and the schedule is gone
    clock.now = T0
    assert emulator.tick() == ["post_1"]
    assert _bodies(sqs, queue) == [body]
    assert _names(scheduler_client, schedule_group) == []
    # And it never fires again
    clock.now = T0 + timedelta(minutes=1)
    assert emulator.tick() == []


def test_a_schedule_deleted_before_its_time_never_fires(
    emulator: SchedulerEmulator, clock: Clock, scheduler_client: Any, sqs: Any, schedule_group: str, queue: Queue
) -> None:
    scheduler_client.create_schedule(**_definition("post_2", schedule_group, queue, T0, "{}"))
    assert emulator.tick() == []  # seen, not yet due
    scheduler_client.delete_schedule(Name="post_2", GroupName=schedule_group)
    clock.now = T0 + timedelta(seconds=5)
    assert emulator.tick() == []
    assert _bodies(sqs, queue) == []


def test_an_updated_schedule_fires_at_its_new_time_only(
    emulator: SchedulerEmulator, clock: Clock, scheduler_client: Any, sqs: Any, schedule_group: str, queue: Queue
) -> None:
    # Given a schedule at T0, seen by the emulator, then moved ten minutes later with a new Input
    scheduler_client.create_schedule(**_definition("post_3", schedule_group, queue, T0, '{"v": 1}'))
    assert emulator.tick() == []
    later = T0 + timedelta(minutes=10)
    scheduler_client.update_schedule(**_definition("post_3", schedule_group, queue, later, '{"v": 2}'))
    # When the old time passes, nothing fires
    clock.now = T0 + timedelta(seconds=30)
    assert emulator.tick() == []
    assert _bodies(sqs, queue) == []
    # When the new time comes, the new Input is sent once
    clock.now = later
    assert emulator.tick() == ["post_3"]
    assert _bodies(sqs, queue) == ['{"v": 2}']


def test_an_update_after_firing_fires_again_at_the_new_time(
    emulator: SchedulerEmulator, clock: Clock, scheduler_client: Any, sqs: Any, schedule_group: str, queue: Queue
) -> None:
    # ActionAfterCompletion NONE keeps a fired schedule; updating it makes a new one-time run.
    scheduler_client.create_schedule(
        **_definition("keep", schedule_group, queue, T0, '{"v": 1}', ActionAfterCompletion="NONE")
    )
    clock.now = T0
    assert emulator.tick() == ["keep"]
    clock.now = T0 + timedelta(minutes=1)
    assert emulator.tick() == []  # kept, but never fired twice
    assert _names(scheduler_client, schedule_group) == ["keep"]
    scheduler_client.update_schedule(
        **_definition(
            "keep", schedule_group, queue, T0 + timedelta(minutes=2), '{"v": 2}', ActionAfterCompletion="NONE"
        )
    )
    clock.now = T0 + timedelta(minutes=2)
    assert emulator.tick() == ["keep"]
    assert sorted(_bodies(sqs, queue)) == ['{"v": 1}', '{"v": 2}']


def test_a_disabled_schedule_does_not_fire(
    emulator: SchedulerEmulator, clock: Clock, scheduler_client: Any, sqs: Any, schedule_group: str, queue: Queue
) -> None:
    scheduler_client.create_schedule(**_definition("off", schedule_group, queue, T0, "{}", State="DISABLED"))
    clock.now = T0 + timedelta(minutes=1)
    assert emulator.tick() == []


def test_the_schedule_timezone_is_honoured(
    emulator: SchedulerEmulator, clock: Clock, scheduler_client: Any, schedule_group: str, queue: Queue
) -> None:
    # 13:00 in Paris in January is 12:00 UTC
    definition = _definition("paris", schedule_group, queue, T0 + timedelta(hours=1), "{}")
    scheduler_client.create_schedule(**{**definition, "ScheduleExpressionTimezone": "Europe/Paris"})
    clock.now = T0 - timedelta(seconds=1)
    assert emulator.tick() == []
    clock.now = T0
    assert emulator.tick() == ["paris"]


def test_with_jitter_a_schedule_fires_at_its_time_plus_the_drawn_delay(
    scheduler_client: Any, sqs: Any, schedule_group: str, queue: Queue, clock: Clock
) -> None:
    # Given the emulator with AWS-like jitter and a known random sequence
    emulator = SchedulerEmulator(
        scheduler_client, sqs, [schedule_group], jitter=True, rng=random.Random(7), clock=clock
    )
    expected_delay = fire_delay({"Mode": "OFF"}, jitter=True, rng=random.Random(7))
    assert 0 <= expected_delay <= AWS_INVOKE_WINDOW_SECONDS
    scheduler_client.create_schedule(**_definition("late", schedule_group, queue, T0, "{}"))
    # Then it fires neither at its time nor just before the delay ends, but once the delay has passed
    clock.now = T0
    assert emulator.tick() == []
    clock.now = T0 + timedelta(seconds=expected_delay - 0.01)
    assert emulator.tick() == []
    clock.now = T0 + timedelta(seconds=expected_delay)
    assert emulator.tick() == ["late"]


def test_jitter_stays_within_the_services_window() -> None:
    rng = random.Random(1)
    delays = [fire_delay({"Mode": "OFF"}, jitter=True, rng=rng) for _ in range(2000)]
    assert all(0 <= d <= 60 for d in delays)
    assert min(delays) < 5 and max(delays) > 55  # spread over the whole window, not bunched
    flexible = [
        fire_delay({"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5}, jitter=True, rng=rng) for _ in range(2000)
    ]
    assert all(0 <= d <= 360 for d in flexible) and max(flexible) > 300
    assert fire_delay({"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5}, jitter=False, rng=rng) == 0


def test_parse_at_reads_only_one_time_expressions() -> None:
    assert parse_at("at(2030-01-01T12:00:00)") == T0
    assert parse_at("at(2030-07-01T14:00:00)", "Europe/Paris") == datetime(2030, 7, 1, 12, tzinfo=UTC)
    assert parse_at("rate(5 minutes)") is None
    assert parse_at("cron(0 12 * * ? *)") is None


def test_the_background_thread_fires_due_schedules(
    scheduler_client: Any, sqs: Any, schedule_group: str, queue: Queue
) -> None:
    emulator = SchedulerEmulator(scheduler_client, sqs, [schedule_group], interval=0.05).start()
    try:
        due = datetime.now(UTC) - timedelta(seconds=1)
        scheduler_client.create_schedule(**_definition("now", schedule_group, queue, due, '{"now": true}'))
        deadline = time.monotonic() + 5
        bodies: list[str] = []
        while not bodies and time.monotonic() < deadline:
            bodies = _bodies(sqs, queue)
        assert bodies == ['{"now": true}']
    finally:
        emulator.stop()
    assert not emulator._thread.is_alive()

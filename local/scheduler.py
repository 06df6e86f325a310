"""EventBridge Scheduler emulator: fires moto's one-time ``at()`` schedules into their SQS targets.

moto stores schedules but never runs them. This polls the schedule groups, and when an enabled
``at(yyyy-mm-ddThh:mm:ss)`` schedule (in its ``ScheduleExpressionTimezone``, UTC by default) is
due, sends its ``Target.Input`` to the SQS queue named by ``Target.Arn``, then deletes it when
``ActionAfterCompletion`` is ``DELETE``. Each version of a schedule fires at most once: a schedule
is tracked by ARN and ``LastModificationDate``, so an UpdateSchedule with a new time fires at the
new time, and a schedule deleted before its time never fires.

Timing: with ``jitter`` on, a schedule fires at a uniformly random moment in the 60 s after its
time (plus its flexible window, if any), as the real service may; off, it fires on the poll after
its time. ``rate()`` and ``cron()`` schedules and non-SQS targets are not emulated.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)

AT_EXPRESSION: Final = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
# The real service invokes a target anywhere within this window after the scheduled time.
AWS_INVOKE_WINDOW_SECONDS: Final = 60.0


def parse_at(expression: str, timezone: str | None = None) -> datetime | None:
    """The UTC instant of an ``at()`` expression, None for any other kind of expression."""
    found = AT_EXPRESSION.match(expression.strip())
    if not found:
        return None
    local = datetime.strptime(found.group(1), "%Y-%m-%dT%H:%M:%S")
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown ScheduleExpressionTimezone %r; reading %s as UTC", timezone, expression)
        zone = ZoneInfo("UTC")
    return local.replace(tzinfo=zone).astimezone(UTC)


def fire_delay(flexible_time_window: Mapping[str, Any] | None, *, jitter: bool, rng: random.Random) -> float:
    """Seconds after the scheduled time at which the emulator fires a schedule."""
    if not jitter:
        return 0.0
    window = AWS_INVOKE_WINDOW_SECONDS
    if flexible_time_window and flexible_time_window.get("Mode") == "FLEXIBLE":
        window += 60.0 * float(flexible_time_window.get("MaximumWindowInMinutes") or 0)
    return rng.uniform(0.0, window)


@dataclass
class _Plan:
    """One version of one schedule and when (whether) it fires."""

    name: str
    group: str
    version: datetime  # LastModificationDate: changes with every UpdateSchedule
    fire_at: datetime | None  # None: never (not at(), disabled, or a target we cannot reach)
    target: dict[str, Any]
    action_after_completion: str | None
    fired: bool = False


class SchedulerEmulator:
    """Polls ``groups`` every ``interval`` seconds in a daemon thread (``start``/``stop``), or
    once per ``tick()`` call (tests drive it with a fake ``clock``)."""

    def __init__(
        self,
        scheduler: Any,
        sqs: Any,
        groups: Sequence[str],
        *,
        jitter: bool = False,
        interval: float = 0.2,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._sqs = sqs
        self._groups = tuple(groups)
        self.jitter = jitter
        self._interval = interval
        self._rng = rng or random.Random()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._plans: dict[str, _Plan] = {}
        self._queue_urls: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)

    def start(self) -> SchedulerEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.tick()
            except Exception:  # keep polling: one bad round must not stop every schedule
                log.exception("scheduler emulator: poll failed")

    def tick(self) -> list[str]:
        """One poll: refresh what is known of every schedule, fire the due ones; their names."""
        now = self._clock()
        listed: set[str] = set()
        for summary in self._summaries():
            arn = summary["Arn"]
            listed.add(arn)
            known = self._plans.get(arn)
            if known is None or known.version != summary["LastModificationDate"]:
                plan = self._load(summary)
                if plan is not None:
                    self._plans[arn] = plan
        for arn in self._plans.keys() - listed:  # deleted: forget it (it never fires)
            del self._plans[arn]
        fired = []
        for plan in self._plans.values():
            if not plan.fired and plan.fire_at is not None and plan.fire_at <= now and self._fire(plan, now):
                fired.append(plan.name)
        return fired

    def _summaries(self) -> Iterator[dict[str, Any]]:
        for group in self._groups:
            token: str | None = None
            while True:
                page = self._scheduler.list_schedules(GroupName=group, **({"NextToken": token} if token else {}))
                yield from page.get("Schedules", [])
                token = page.get("NextToken")
                if not token:
                    break

    def _load(self, summary: dict[str, Any]) -> _Plan | None:
        """The schedule's full definition (ListSchedules has no expression or Input); None if it
        was deleted in between."""
        try:
            schedule = self._scheduler.get_schedule(Name=summary["Name"], GroupName=summary["GroupName"])
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise
        due = parse_at(schedule["ScheduleExpression"], schedule.get("ScheduleExpressionTimezone"))
        # moto drops State when UpdateSchedule omits it; AWS then means ENABLED.
        enabled = schedule.get("State", "ENABLED") != "DISABLED"
        fire_at = None
        if due is not None and enabled:
            delay = fire_delay(schedule.get("FlexibleTimeWindow"), jitter=self.jitter, rng=self._rng)
            fire_at = due + timedelta(seconds=delay)
        return _Plan(
            name=schedule["Name"],
            group=schedule["GroupName"],
            version=schedule["LastModificationDate"],
            fire_at=fire_at,
            target=schedule.get("Target") or {},
            action_after_completion=schedule.get("ActionAfterCompletion"),
        )

    def _fire(self, plan: _Plan, now: datetime) -> bool:
        """Send the target its Input; False to try again on the next poll (AWS retries too)."""
        target_arn = str(plan.target.get("Arn", ""))
        if target_arn.split(":")[2:3] != ["sqs"]:
            log.warning("schedule %s: target %s is not an SQS queue; not emulated", plan.name, target_arn)
            plan.fired = True
            return False
        message: dict[str, Any] = {"MessageBody": plan.target.get("Input") or "{}"}
        group_id = (plan.target.get("SqsParameters") or {}).get("MessageGroupId")
        if group_id:
            message["MessageGroupId"] = group_id
        try:
            self._sqs.send_message(QueueUrl=self._queue_url(target_arn), **message)
        except (ClientError, BotoCoreError) as exc:
            log.warning("schedule %s: sending to %s failed (%s); retrying", plan.name, target_arn, exc)
            return False
        plan.fired = True
        late = (now - plan.fire_at).total_seconds() if plan.fire_at else 0.0
        log.info("schedule %s fired (%.2f s after its firing time)", plan.name, late)
        if plan.action_after_completion == "DELETE":
            self._delete_unless_updated(plan)
        return True

    def _delete_unless_updated(self, plan: _Plan) -> None:
        # A schedule updated since it was read is a new version with its own time: keep it.
        try:
            current = self._scheduler.get_schedule(Name=plan.name, GroupName=plan.group)
            if current["LastModificationDate"] == plan.version:
                self._scheduler.delete_schedule(Name=plan.name, GroupName=plan.group)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise

    def _queue_url(self, queue_arn: str) -> str:
        url = self._queue_urls.get(queue_arn)
        if url is None:
            *_, account, name = queue_arn.split(":")
            url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            self._queue_urls[queue_arn] = url
        return url


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))

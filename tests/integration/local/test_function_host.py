"""The in-process Lambda runtime: the limits and failures Lambda imposes on an invocation."""

from __future__ import annotations

import time
from typing import Any

import pytest

from crosspost.resources import FunctionDef
from local.functions import MAX_INVOKE_PAYLOAD_BYTES, FunctionError, FunctionHost, RequestTooLargeError

FN = FunctionDef(name="fn", code_dir="none", timeout_seconds=5)


def test_the_event_is_a_fresh_json_copy_and_the_result_comes_back_as_json() -> None:
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        seen.append(event)
        event["mutated"] = True
        return {"tuple": (1, 2)}

    original = {"a": 1}
    assert FunctionHost({"fn": handler}).invoke(FN, original) == {"tuple": [1, 2]}
    assert original == {"a": 1} and seen[0] is not original


def test_a_handler_past_its_timeout_counts_as_failed() -> None:
    def slow(event: dict[str, Any], context: Any) -> Any:
        time.sleep(0.05)
        return {}

    with pytest.raises(FunctionError) as failed:
        FunctionHost({"quick": slow}).invoke(FunctionDef(name="quick", code_dir="none", timeout_seconds=0), {})
    assert failed.value.error_type == "Sandbox.Timedout"


def test_a_result_that_is_not_json_is_a_marshal_error() -> None:
    with pytest.raises(FunctionError) as failed:
        FunctionHost({"fn": lambda event, context: {1, 2}}).invoke(FN, {})
    assert failed.value.error_type == "Runtime.MarshalError"


def test_payloads_over_6_mb_are_refused_both_ways() -> None:
    calls: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        calls.append(1)
        return "x" * MAX_INVOKE_PAYLOAD_BYTES

    host = FunctionHost({"fn": handler})
    with pytest.raises(RequestTooLargeError):
        host.invoke(FN, {"body": "x" * MAX_INVOKE_PAYLOAD_BYTES})
    assert calls == []
    with pytest.raises(FunctionError) as failed:
        host.invoke(FN, {})
    assert failed.value.error_type == "Function.ResponseSizeTooLarge"


def test_a_handler_exception_is_a_function_error_naming_its_type() -> None:
    def boom(event: dict[str, Any], context: Any) -> Any:
        raise KeyError("x")

    with pytest.raises(FunctionError) as failed:
        FunctionHost({"fn": boom}).invoke(FN, {})
    assert failed.value.error_type == "KeyError"

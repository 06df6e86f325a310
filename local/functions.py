"""The Lambda runtime of the local stack: runs each function's handler in-process, as Lambda would.

What it keeps from Lambda:
- one request at a time per container: an invocation holds its handler's lock (the powertools
  resolver and batch processor keep per-request state on module-level objects);
- a fresh ``context`` per invocation whose remaining time counts down from the function's timeout;
- JSON in and out: the event is a JSON round trip, a result that is not JSON, or an event or
  result over the 6 MB invoke limit, is an error as it is in Lambda;
- a handler that runs past its timeout counts as failed (Lambda would have killed it; a thread
  cannot be killed, so the overrun is reported when it returns).

The API functions (connect, complete, accounts, posts, profiles) share one handler module and,
through it, one resolver object in ``crosspost.api.app``. In AWS each is its own container; here
they share a lock, so API requests run one at a time while the publisher runs alongside them.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from crosspost.resources import FunctionDef
from local.lambda_events import LambdaContext

Handler = Callable[[dict[str, Any], Any], Any]

ROOT = Path(__file__).resolve().parents[1]
# Lambda's synchronous invoke payload limit, for the request and for the response.
MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024

log = logging.getLogger(__name__)


class FunctionError(Exception):
    """The invocation failed the way Lambda reports a function error (``errorType``)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type


class RequestTooLargeError(Exception):
    """The event is over Lambda's invoke payload limit: Lambda refuses it before running anything."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the invoke payload is {size} bytes, over {MAX_INVOKE_PAYLOAD_BYTES}")
        self.size = size


_load_lock = threading.Lock()


def load_handler(code_dir: str) -> Handler:
    """``lambda_handler`` of functions/<code_dir>/handler.py. Every Lambda's entry module is a
    top-level ``handler``; each is imported under its own name so they cannot shadow each other."""
    name = f"crosspost_fn_{code_dir}"
    with _load_lock:
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / code_dir / "handler.py")
            if spec is None or spec.loader is None:
                raise ImportError(f"no handler module in functions/{code_dir}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]  # a half-imported module must not be reused
                raise
    handler: Handler = module.lambda_handler
    return handler


class FunctionHost:
    """Invokes functions by their ``FunctionDef``. ``handlers`` replaces the code of the named
    functions (tests use stub handlers); the others load from ``functions/<code_dir>``."""

    def __init__(self, handlers: Mapping[str, Handler] | None = None) -> None:
        self._overrides = dict(handlers or {})
        self._locks: dict[Handler, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def handler(self, fn: FunctionDef) -> Handler:
        return self._overrides.get(fn.name) or load_handler(fn.code_dir)

    def preload(self, functions: tuple[FunctionDef, ...]) -> None:
        """Import every handler now, so an import error stops the stack at start (not at the
        first request) and the first request does not pay the import."""
        for fn in functions:
            self.handler(fn)

    def _lock(self, handler: Handler) -> threading.Lock:
        # One lock per handler object: functions sharing a module share its module-level state.
        with self._locks_guard:
            return self._locks.setdefault(handler, threading.Lock())

    def invoke(self, fn: FunctionDef, event: dict[str, Any]) -> Any:
        """Run ``fn`` on ``event`` and return its (JSON round-tripped) result.

        Raises RequestTooLargeError before running anything, FunctionError when the handler
        raised, overran its timeout or returned something Lambda could not send back.
        """
        encoded_event = json.dumps(event)
        if len(encoded_event) > MAX_INVOKE_PAYLOAD_BYTES:
            raise RequestTooLargeError(len(encoded_event))
        handler = self.handler(fn)
        with self._lock(handler):
            context = LambdaContext(
                function_name=fn.name, timeout_seconds=fn.timeout_seconds, memory_limit_in_mb=fn.memory_mb
            )
            started = time.monotonic()
            try:
                result = handler(json.loads(encoded_event), context)
            except Exception as exc:
                log.exception("%s: unhandled exception (request %s)", fn.name, context.aws_request_id)
                raise FunctionError(type(exc).__name__, str(exc)) from exc
            elapsed = time.monotonic() - started
        if elapsed > fn.timeout_seconds:
            log.error("%s: task timed out after %.2f seconds (Lambda would have stopped it)", fn.name, elapsed)
            raise FunctionError("Sandbox.Timedout", f"Task timed out after {elapsed:.2f} seconds")
        try:
            encoded_result = json.dumps(result)
        except (TypeError, ValueError) as exc:
            log.error("%s: the result is not JSON: %s", fn.name, exc)
            raise FunctionError("Runtime.MarshalError", str(exc)) from exc
        if len(encoded_result) > MAX_INVOKE_PAYLOAD_BYTES:
            log.error("%s: the response is %d bytes, over Lambda's limit", fn.name, len(encoded_result))
            raise FunctionError("Function.ResponseSizeTooLarge", f"{len(encoded_result)} bytes")
        return json.loads(encoded_result)

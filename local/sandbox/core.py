"""The platform-neutral part of the sandbox: request/response types, the per-platform base class
with its read-back store, the fault queue of API.md ("The local stack ... and its sandbox"), and
the dispatcher that routes ``/{platform}/...`` and ``/_sandbox/...``.

A platform module (``local/sandbox/bluesky.py``, later one per platform) subclasses
``SandboxPlatform`` and answers with the statuses and bodies of the real platform; everything
about faults, latency, read-back and reset lives here, once.

Fault contract (binding, API.md): ``POST /_sandbox/{platform}/faults``
``{"status": 400|401|429|500|503, "count": N, "retryAfter": S, "mode": "error"|"timeout"|"after_commit",
"latencyMs": M}`` applies to the next N *publishing* calls of that platform (post creation and
media upload; the platform says which calls those are):

- ``error`` (default): answer the status at once, with the body the real platform sends for it,
  doing nothing;
- ``timeout``: hold the connection for ``holdSeconds`` (default 30, a sandbox extension), doing
  nothing, then drop it without an answer; ``status`` is optional here;
- ``after_commit``: do the call (store the post), then answer the status anyway;
- ``latencyMs`` with a status (or with mode ``timeout``) delays those N calls; ``latencyMs``
  alone delays every call of the platform until the faults are cleared.

``after: N`` (a sandbox extension) lets the next N publishing calls through before the fault
applies, so a test can fault the post creation that follows a media upload.
``DELETE`` clears the faults and the latency. Faults queue up: several POSTs run one after the other.
``GET /_sandbox/{platform}/fault-log`` lists the faults that were applied, in order, each with the
call it hit (a sandbox extension: chaos tests match outcomes to the faults that really happened).
"""

from __future__ import annotations

import email
import email.message
import html
import json
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final
from urllib.parse import parse_qs, unquote

FAULT_STATUSES: Final = (400, 401, 429, 500, 503)
FAULT_MODES: Final = ("error", "timeout", "after_commit")
DEFAULT_HOLD_SECONDS: Final = 30.0
DEFAULT_RETRY_AFTER: Final = 30
CONTROL_PREFIX: Final = "/_sandbox"


# ---- request / response ------------------------------------------------------------------------


@dataclass(frozen=True)
class SandboxRequest:
    method: str
    path: str  # inside the platform, e.g. "/xrpc/com.atproto.server.createSession"
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # this platform's root as the client sees it, e.g. "http://127.0.0.1:8123/bluesky"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The parsed JSON body; ``ValueError`` when it is not JSON."""
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def json_object(self) -> dict[str, Any] | None:
        """The body as a JSON object; None when it is anything else (or no JSON at all)."""
        try:
            parsed = self.json()
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def multipart(self) -> dict[str, bytes] | None:
        """The fields of a ``multipart/form-data`` body (by name, raw bytes), or None when it is not
        one. Parsed by hand: a part's own Content-Type must not change how its bytes are read."""
        content_type = self.header("content-type") or ""
        if not content_type.lower().startswith("multipart/form-data"):
            return None
        message = email.message.Message()
        message["content-type"] = content_type
        boundary = message.get_param("boundary")
        if not isinstance(boundary, str) or not boundary:
            return None
        chunks = self.body.split(b"--" + boundary.encode("latin-1"))
        if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
            return None
        fields: dict[str, bytes] = {}
        for chunk in chunks[1:-1]:
            head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
            if not sep:
                return None
            part = email.message_from_bytes(head + b"\r\n\r\n")
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str):
                fields[name] = data.removesuffix(b"\r\n")
        return fields


@dataclass
class SandboxResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without an answer

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> SandboxResponse:
        return cls(
            status,
            json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    def payload(self) -> Any:
        return json.loads(self.body) if self.body else None


def control_error(status: int, error: str, message: str) -> SandboxResponse:
    return SandboxResponse.json(status, {"error": error, "message": message})


def html_page(status: int, title: str, message: str) -> SandboxResponse:
    """The page a platform's consent screen shows a browser for a bad authorize request."""
    body = f"<!doctype html><title>{title}</title><p>{html.escape(message, quote=False)}</p>".encode()
    return SandboxResponse(status, body, {"Content-Type": "text/html; charset=utf-8"})


# ---- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One field of ``POST /_sandbox/{platform}/settings``: a number ≥ 0 (``integer``: a whole
    one) stored in the attribute ``attr``."""

    attr: str
    integer: bool = False


def apply_settings(target: object, spec: dict[str, Any], settings: Mapping[str, Setting]) -> SandboxResponse | None:
    """Set ``target``'s attributes from the ``settings`` fields ``spec`` has, in order; the 400 for
    the first value that is not a number ≥ 0 (those before it stay set), else None."""
    for name, setting in settings.items():
        value = spec.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int if setting.integer else int | float) or value < 0:
            return control_error(
                400, "InvalidSettings", f"{name} must be {'an integer' if setting.integer else 'a number'} ≥ 0"
            )
        setattr(target, setting.attr, int(value) if setting.integer else float(value))
    return None


def current_settings(target: object, settings: Mapping[str, Setting]) -> dict[str, Any]:
    return {name: getattr(target, setting.attr) for name, setting in settings.items()}


# ---- faults ------------------------------------------------------------------------------------


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    status: int | None
    remaining: int
    mode: str = "error"
    retry_after: int | None = None
    latency_ms: int = 0
    hold_seconds: float = DEFAULT_HOLD_SECONDS
    after: int = 0  # publishing calls to let through first (a sandbox extension)

    def describe(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "count": self.remaining,
            "mode": self.mode,
            "retryAfter": self.retry_after,
            "latencyMs": self.latency_ms,
            "holdSeconds": self.hold_seconds,
            "after": self.after,
        }


def _number(spec: dict[str, Any], name: str, *, minimum: float, default: Any, integer: bool = True) -> Any:
    value = spec.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not float(value).is_integer()):
        raise FaultSpecError(f"{name} must be {'an integer' if integer else 'a number'}")
    if value < minimum:
        raise FaultSpecError(f"{name} must be at least {minimum:g}")
    return int(value) if integer else float(value)


class FaultQueue:
    """The faults of one platform, consumed in order by its publishing calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.latency_ms = 0  # every call, until cleared

    def add(self, spec: Any) -> None:
        if not isinstance(spec, dict):
            raise FaultSpecError("the body must be a JSON object")
        unknown = set(spec) - {"status", "count", "retryAfter", "mode", "latencyMs", "holdSeconds", "after"}
        if unknown:
            raise FaultSpecError(f"unknown field(s): {', '.join(sorted(unknown))}")
        status = spec.get("status")
        mode = spec.get("mode") or "error"
        if mode not in FAULT_MODES:
            raise FaultSpecError(f"mode must be one of {', '.join(FAULT_MODES)}")
        latency = _number(spec, "latencyMs", minimum=0, default=0)
        if status is None and mode != "timeout":
            if "latencyMs" not in spec:
                raise FaultSpecError(f"status must be one of {', '.join(map(str, FAULT_STATUSES))}")
            with self._lock:
                self.latency_ms = latency
            return
        if status is not None and status not in FAULT_STATUSES:
            raise FaultSpecError(f"status must be one of {', '.join(map(str, FAULT_STATUSES))}")
        fault = Fault(
            status=status,
            remaining=_number(spec, "count", minimum=1, default=1),
            mode=mode,
            retry_after=_number(spec, "retryAfter", minimum=0, default=None),
            latency_ms=latency,
            hold_seconds=_number(spec, "holdSeconds", minimum=0, default=DEFAULT_HOLD_SECONDS, integer=False),
            after=_number(spec, "after", minimum=0, default=0),
        )
        with self._lock:
            self._faults.append(fault)

    def take(self) -> Fault | None:
        """The fault for one publishing call (a copy), or None."""
        with self._lock:
            if not self._faults:
                return None
            head = self._faults[0]
            if head.after > 0:  # e.g. let a media upload through and fault the post creation
                head.after -= 1
                return None
            head.remaining -= 1
            if head.remaining <= 0:
                self._faults.pop(0)
            return Fault(head.status, 1, head.mode, head.retry_after, head.latency_ms, head.hold_seconds)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.latency_ms = 0

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"faults": [f.describe() for f in self._faults], "latencyMs": self.latency_ms or None}


# ---- read-back store ---------------------------------------------------------------------------


class RecordStore:
    """What a platform keeps, in insertion order, for read-back (``GET /_sandbox/{platform}/posts``).
    Each entry has a ``kind`` ("post", "profile", ...) and the read-back dict itself. Callers hold
    the platform's lock."""

    def __init__(self) -> None:
        self._items: dict[Hashable, tuple[str, dict[str, Any]]] = {}

    def put(self, key: Hashable, kind: str, item: dict[str, Any]) -> None:
        self._items[key] = (kind, item)  # an update keeps its place

    def get(self, key: Hashable) -> dict[str, Any] | None:
        found = self._items.get(key)
        return found[1] if found else None

    def delete(self, key: Hashable) -> bool:
        return self._items.pop(key, None) is not None

    def items(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [item for k, item in self._items.values() if kind is None or k == kind]

    def keys(self) -> list[Hashable]:
        return list(self._items)

    def clear(self) -> None:
        self._items.clear()


# ---- platforms ---------------------------------------------------------------------------------


class SandboxPlatform(ABC):
    """One simulated platform under ``/{name}/...``."""

    name: ClassVar[str]

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults = FaultQueue()
        self.records = RecordStore()
        self.fault_log: list[dict[str, Any]] = []  # faults applied, in order (until reset)

    @abstractmethod
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer a platform API call as the real platform would."""

    @abstractmethod
    def is_publishing_call(self, request: SandboxRequest) -> bool:
        """Post creation and media upload: the calls faults apply to."""

    @abstractmethod
    def fault_response(self, fault: Fault, request: SandboxRequest) -> SandboxResponse:
        """The real platform's answer for ``fault.status`` on this call."""

    @abstractmethod
    def reset(self) -> None:
        """Back to the seeded fixtures (the core clears the faults)."""

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(item) for item in self.records.items("post")]

    def describe_call(self, request: SandboxRequest) -> dict[str, Any]:
        """What the fault log says about a faulted call beyond its path (default: nothing)."""
        return {}

    def control(self, action: str, request: SandboxRequest) -> SandboxResponse | None:
        """Platform-specific ``/_sandbox/{platform}/{action}`` endpoints; None = unknown."""
        return None

    def internal_error(self) -> SandboxResponse:
        """What the platform answers when its handler crashed."""
        return control_error(500, "InternalServerError", "Internal Server Error")


# ---- dispatcher --------------------------------------------------------------------------------


class Sandbox:
    """Routes requests to platforms and control endpoints; applies faults and latency."""

    def __init__(self, platforms: Iterable[SandboxPlatform]) -> None:
        self.platforms = {p.name: p for p in platforms}
        self.release = threading.Event()  # set on stop: held connections let go at once

    def platform(self, name: str) -> SandboxPlatform:
        return self.platforms[name]

    def reset(self) -> None:
        for platform in self.platforms.values():
            platform.faults.clear()
            with platform.lock:
                platform.reset()
                platform.fault_log.clear()

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.release.wait(seconds)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> SandboxResponse:
        path, _, query_string = target.partition("?")
        path = unquote(path)
        query = parse_qs(query_string, keep_blank_values=True)
        host = headers.get("host") or "127.0.0.1"
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._control(method, path[len(CONTROL_PREFIX) :], query, headers, body, host)
        name, _, rest = path.lstrip("/").partition("/")
        platform = self.platforms.get(name)
        if platform is None:
            return control_error(404, "NotFound", f"No simulated platform at /{name}")
        request = SandboxRequest(method, "/" + rest, query, headers, body, f"http://{host}/{name}")
        return self._platform_call(platform, request)

    def _platform_call(self, platform: SandboxPlatform, request: SandboxRequest) -> SandboxResponse:
        fault = platform.faults.take() if platform.is_publishing_call(request) else None
        self._sleep((platform.faults.latency_ms + (fault.latency_ms if fault else 0)) / 1000)
        if fault is None:
            return self._run(platform, platform.handle, request)
        entry = {"at": time.time(), "mode": fault.mode, "status": fault.status, "path": request.path}
        if fault.latency_ms:
            entry["latencyMs"] = fault.latency_ms
        try:
            entry.update(platform.describe_call(request))
        except Exception:  # the log must never break the call it describes
            traceback.print_exc(file=sys.stderr)
        with platform.lock:
            platform.fault_log.append(entry)
        if fault.mode == "timeout":
            self._sleep(fault.hold_seconds)
            return SandboxResponse(drop=True)
        if fault.mode == "after_commit":
            self._run(platform, platform.handle, request)
        return platform.fault_response(fault, request)

    @staticmethod
    def _run(
        platform: SandboxPlatform, handler: Callable[[SandboxRequest], SandboxResponse], request: SandboxRequest
    ) -> SandboxResponse:
        try:
            return handler(request)
        except Exception:  # a sandbox bug: answer like the platform would, and say so on stderr
            traceback.print_exc(file=sys.stderr)
            return platform.internal_error()

    def _control(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes, host: str
    ) -> SandboxResponse:
        parts = [p for p in path.split("/") if p]
        if parts == ["health"] and method == "GET":
            return SandboxResponse.json(200, {"status": "ok", "platforms": sorted(self.platforms)})
        if parts == ["reset"] and method == "POST":
            self.reset()
            return SandboxResponse.json(200, {"status": "reset"})
        if len(parts) == 2 and parts[0] == "files" and method in ("GET", "HEAD"):
            from local.sandbox.files import files

            found = files().get(parts[1])
            if found is None:
                return control_error(404, "NotFound", "No such sandbox file")
            return SandboxResponse(200, found[1], {"Content-Type": found[0]})
        if len(parts) != 2:
            return control_error(404, "NotFound", "Unknown sandbox control endpoint")
        name, action = parts
        platform = self.platforms.get(name)
        if platform is None:
            return control_error(404, "NotFound", f"No simulated platform named {name}")
        request = SandboxRequest(method, "/" + action, query, headers, body, f"http://{host}/{name}")
        if action == "posts" and method == "GET":
            return SandboxResponse.json(200, {"posts": platform.posts()})
        if action == "faults":
            return self._faults(platform, request)
        if action == "fault-log" and method == "GET":
            with platform.lock:
                return SandboxResponse.json(200, {"applied": [dict(e) for e in platform.fault_log]})
        with platform.lock:
            answer = self._run(platform, lambda r: platform.control(action, r) or _unknown(), request)
        return answer

    @staticmethod
    def _faults(platform: SandboxPlatform, request: SandboxRequest) -> SandboxResponse:
        if request.method == "GET":
            return SandboxResponse.json(200, platform.faults.describe())
        if request.method == "DELETE":
            platform.faults.clear()
            return SandboxResponse.json(200, platform.faults.describe())
        if request.method != "POST":
            return control_error(405, "MethodNotAllowed", "Use GET, POST or DELETE")
        try:
            platform.faults.add(request.json())
        except FaultSpecError as exc:
            return control_error(400, "InvalidFault", str(exc))
        except ValueError:
            return control_error(400, "InvalidFault", "the body must be JSON")
        return SandboxResponse.json(200, platform.faults.describe())


def _unknown() -> SandboxResponse:
    return control_error(404, "NotFound", "Unknown sandbox control endpoint")

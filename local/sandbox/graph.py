"""What the simulated Meta platforms (Facebook, Instagram, Threads) share: the Graph error
object, the bodies Meta sends for each fault status, and how Graph reads its parameters.

Graph errors look like ``{"error": {"message", "type", "code", "error_subcode"?, "is_transient"?,
"error_user_title"?, "error_user_msg"?, "fbtrace_id"}}`` (PLATFORMS.md §2.4, §3.4).

Fault bodies (``graph_fault_response``); the HTTP status is the fault's own status (the sandbox
contract), the body is Meta's:

- 400: code 100 "Invalid parameter" (OAuthException);
- 401: code 190, subcode 460 "the session has been invalidated" (a password change: refreshing
  cannot help), with ``WWW-Authenticate``;
- 429: code 4 "Application request limit reached", ``X-App-Usage`` at 100 % and
  ``X-Business-Use-Case-Usage`` with ``estimated_time_to_regain_access`` = ceil(retryAfter / 60)
  minutes (Meta sends no ``Retry-After``);
- 500: code 1 "An unknown error has occurred.";
- 503: code 2 "Service temporarily unavailable", ``is_transient: true``.

Real Meta answers token and rate-limit errors mostly with HTTP 400 (some 401/403); adapters
classify by ``code``/``error_subcode``, so both statuses classify the same.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import string
from typing import Any, Final
from urllib.parse import parse_qs

from local.sandbox.core import DEFAULT_RETRY_AFTER, Fault, SandboxRequest, SandboxResponse

_TRACE_ALPHABET: Final = string.ascii_letters + string.digits + "_-"


def fbtrace_id() -> str:
    return "A" + "".join(secrets.choice(_TRACE_ALPHABET) for _ in range(22))


def graph_error(
    status: int,
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    type_: str = "OAuthException",
    headers: dict[str, str] | None = None,
    is_transient: bool | None = None,
    user_title: str | None = None,
    user_msg: str | None = None,
) -> SandboxResponse:
    """A Graph error response."""
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    if user_title is not None:
        error["error_user_title"] = user_title
    if user_msg is not None:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = fbtrace_id()
    extra = dict(headers or {})
    if type_ == "OAuthException" and code == 190:
        extra.setdefault("WWW-Authenticate", f'OAuth "Facebook Platform" "invalid_token" "{message}"')
    return SandboxResponse.json(status, {"error": error}, extra)


# ---- the errors every Meta sandbox needs -------------------------------------------------------


def invalid_token(reason: str = "invalid_token") -> SandboxResponse:
    """Meta's answers for a token that does not work (``reason`` as in ``oauth.OAuthError``)."""
    if reason == "expired_token":
        return graph_error(400, 190, "Error validating access token: Session has expired.", subcode=463)
    if reason == "revoked_token":
        return graph_error(
            400,
            190,
            "Error validating access token: The session has been invalidated because the user changed their "
            "password or Facebook has changed the session for security reasons.",
            subcode=460,
        )
    return graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token")


def token_required() -> SandboxResponse:
    return graph_error(400, 104, "An access token is required to request this resource.")


def object_not_found(object_id: str) -> SandboxResponse:
    return graph_error(
        400,
        100,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation.",
        subcode=33,
        type_="GraphMethodException",
    )


def unknown_path(path: str) -> SandboxResponse:
    return graph_error(400, 2500, f"Unknown path components: {path}")


def missing_param(name: str) -> SandboxResponse:
    return graph_error(400, 100, f"(#100) The parameter {name} is required")


def invalid_param(message: str, *, subcode: int | None = None) -> SandboxResponse:
    return graph_error(400, 100, f"(#100) {message}", subcode=subcode)


def permission_missing(permission: str) -> SandboxResponse:
    return graph_error(
        403 if permission.startswith("pages_") else 400,
        200,
        f"(#200) Requires {permission} permission to manage the object",
    )


# ---- faults ------------------------------------------------------------------------------------


def usage_headers(wait_seconds: float, *, business_id: str = "0", kind: str = "pages") -> dict[str, str]:
    """``X-App-Usage`` at 100 % and ``X-Business-Use-Case-Usage`` with the wait in minutes."""
    minutes = max(1, math.ceil(wait_seconds / 60))
    usage = {"call_count": 100, "total_cputime": 28, "total_time": 41}
    buc = {business_id: [{"type": kind, **usage, "estimated_time_to_regain_access": minutes}]}
    return {"X-App-Usage": json.dumps(usage), "X-Business-Use-Case-Usage": json.dumps(buc)}


def graph_fault_response(fault: Fault, request: SandboxRequest) -> SandboxResponse:
    """Meta's answer for a fault status (table in the module docstring)."""
    status = fault.status or 500
    if status == 400:
        return graph_error(400, 100, "(#100) Invalid parameter", user_title="Invalid parameter")
    if status == 401:
        return graph_error(
            401,
            190,
            "Error validating access token: The session has been invalidated because the user changed their "
            "password or Facebook has changed the session for security reasons.",
            subcode=460,
        )
    if status == 429:
        wait = DEFAULT_RETRY_AFTER if fault.retry_after is None else fault.retry_after
        return graph_error(429, 4, "(#4) Application request limit reached", headers=usage_headers(wait))
    if status == 503:
        return graph_error(503, 2, "Service temporarily unavailable", is_transient=True)
    return graph_error(500, 1, "An unknown error has occurred.", is_transient=False)


# ---- reading a Graph call ----------------------------------------------------------------------

_VERSION: Final = re.compile(r"^/v\d+\.\d+(?=/|$)")


def strip_version(path: str) -> str:
    """``path`` without a leading ``/v{N}.0`` (Graph accepts every path with or without one)."""
    return _VERSION.sub("", path) or "/"


def graph_params(request: SandboxRequest) -> dict[str, str]:
    """Graph parameters: the query string, overlaid by a form or JSON body (Graph takes either)."""
    values = {k: v[0] for k, v in request.query.items() if v}
    if not request.body:
        return values
    content_type = (request.header("content-type") or "").lower()
    if "json" in content_type:
        try:
            parsed = request.json()
        except (ValueError, UnicodeDecodeError):
            parsed = None
        if isinstance(parsed, dict):
            for key, value in parsed.items():
                values[key] = value if isinstance(value, str) else json.dumps(value)
        return values
    try:
        form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        form = {}
    values.update({k: v[0] for k, v in form.items() if v})
    return values


def graph_token(request: SandboxRequest, params: dict[str, str]) -> str | None:
    """The access token: ``access_token`` parameter, or ``Authorization: Bearer|OAuth <token>``."""
    if params.get("access_token"):
        return params["access_token"]
    header = request.header("authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return None


def fields_of(params: dict[str, str]) -> list[str]:
    """``fields=a,b,c{d}`` → top-level names (nested selections are kept whole)."""
    raw = params.get("fields") or ""
    names, depth, current = [], 0, ""
    for char in raw:
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        if char == "," and depth == 0:
            names.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        names.append(current.strip())
    return [n for n in names if n]

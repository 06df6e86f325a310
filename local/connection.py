"""The connection file (``.crosspost/local.json``, API.md "The local stack"): how scripts, tests and
``make key`` find a running local stack.

    {"baseUrl", "apiKey", "workspaceId", "sandboxUrl", "sandboxAccounts": {"bluesky": {"handle", "appPassword"}},
     "awsEndpointUrl", "env", "pid"}

``awsEndpointUrl`` and ``env`` (the functions' resource environment) let ``make key`` write to the
running stack's moto; ``pid`` tells a live stack's file from a stale one.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[1]
DEFAULT_PATH: Final = ROOT / ".crosspost" / "local.json"


class StaleConnectionError(RuntimeError):
    """No running local stack behind the connection file."""


def write(path: Path, info: dict[str, Any]) -> None:
    """Write atomically (a reader never sees half a file), readable by the owner only: it holds an
    API key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(info, out, indent=2)
        out.write("\n")
    os.replace(partial, path)


def read(path: Path) -> dict[str, Any]:
    """The file of a running stack; StaleConnectionError if there is none or it is not running."""
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise StaleConnectionError(f"{path} does not exist: start the local stack with `make run`") from None
    pid = info.get("pid")
    if isinstance(pid, int) and not _alive(pid):
        raise StaleConnectionError(f"{path} names process {pid}, which is not running: start `make run` again")
    return info


def remove(path: Path) -> None:
    """Remove the file if it is still this process's (another stack may have replaced it)."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

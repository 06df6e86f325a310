"""The local stack as the README runs it: a separate process (``python -m local.run``), found
through its connection file, stopped with a signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0


def start(
    state_file: Path, log_file: Path, *, args: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a stack on free ports; its output goes to ``log_file`` (a pipe nobody reads would
    fill up and block it). ``args`` are more ``local.run`` options; ``env`` adds settings."""
    with log_file.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "local.run", "--port", "0", "--state-file", str(state_file), "--quiet", *args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env} if env else None,
        )


def wait_until_ready(process: subprocess.Popen[bytes], state_file: Path, log_file: Path) -> dict[str, Any]:
    """The connection info, once the stack wrote it (it does so only when every part answers)."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the local stack exited with {process.returncode}:\n{log_tail(log_file)}")
        try:
            info: dict[str, Any] = json.loads(state_file.read_text())
        except (FileNotFoundError, ValueError):
            time.sleep(0.1)
            continue
        if info.get("pid") == process.pid:
            return info
        time.sleep(0.1)
    stop(process, signal.SIGKILL)
    raise AssertionError(f"no connection file after {START_TIMEOUT_SECONDS:.0f} s:\n{log_tail(log_file)}")


def stop(process: subprocess.Popen[bytes], signum: int = signal.SIGTERM) -> int:
    """Signal the stack and wait for it; its exit code (it is killed if it does not stop in time)."""
    if process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"the local stack did not stop within {STOP_TIMEOUT_SECONDS:.0f} s") from None
    return process.returncode


def log_tail(log_file: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no output)"


def mint_key(state_file: Path) -> dict[str, str]:
    """``make key`` against the stack behind ``state_file``: one line of JSON."""
    done = subprocess.run(
        [sys.executable, "-m", "local.key", "--state-file", str(state_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    key: dict[str, str] = json.loads(lines[0])
    assert key.keys() == {"apiKey", "workspaceId"}
    return key

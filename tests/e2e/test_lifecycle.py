"""Starting and stopping the local stack as a user does: both SIGINT (Ctrl-C) and SIGTERM stop
every part it started, exit 0 and remove the connection file; ``make key`` then says so."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e import stack_process

pytestmark = pytest.mark.e2e


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((parts.hostname or "127.0.0.1", parts.port or 80)) == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_every_part_and_removes_the_connection_file(tmp_path: Path, signum: int) -> None:
    # Given a running stack
    state_file, log_file = tmp_path / "local.json", tmp_path / "stack.log"
    process = stack_process.start(state_file, log_file)
    info = stack_process.wait_until_ready(process, state_file, log_file)
    urls = [info["baseUrl"], info["sandboxUrl"], info["awsEndpointUrl"]]
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in urls)
    assert all(_listening(u) for u in urls)
    with httpx.Client(trust_env=False, timeout=10) as http:
        assert http.get(f"{info['baseUrl']}/v1/openapi.json").status_code == 200
    # When it gets the signal
    code = stack_process.stop(process, signum)
    # Then it exits 0, nothing listens any more, and the connection file is gone
    assert code == 0, stack_process.log_tail(log_file)
    assert not any(_listening(u) for u in urls)
    assert not state_file.exists()
    # And make key explains that no stack is running
    refused = subprocess.run(
        [sys.executable, "-m", "local.key", "--state-file", str(state_file)],
        cwd=stack_process.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert "make run" in refused.stderr and refused.stdout == ""

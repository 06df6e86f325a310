"""The official Bluesky PDS as a test peer (issue #5 item 7): ``@atproto/pds`` with an in-memory
``@did-plc/server``, run by ``pds_server.mjs`` on 127.0.0.1 (PLATFORMS.md §1.7).

The npm packages are installed once into ``.cache/pds/`` (git-ignored): ``npm install`` from
``tests/realpds/package.json`` (exact versions), then ``npm rebuild better-sqlite3``, because npm 11
does not run install scripts and the native module must be compiled for this Node. About 1 to 2
minutes on a clean machine; later runs reuse it. ``CROSSPOST_REAL_PDS=0`` skips these tests
(a machine without Node or the npm registry).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
HERE: Final = Path(__file__).resolve().parent
INSTALL_DIR: Final = ROOT / ".cache" / "pds"
SERVER_SCRIPT: Final = HERE / "pds_server.mjs"
START_TIMEOUT_SECONDS: Final = 60.0
INSTALL_TIMEOUT_SECONDS: Final = 900
# The account the tests connect (a handle under the PDS's .test domain; not secrets).
HANDLE: Final = "alice.test"
ACCOUNT_PASSWORD: Final = "realpds-account-password"


def _installed() -> bool:
    wanted = (HERE / "package.json").read_text()
    manifest = INSTALL_DIR / "package.json"
    native = INSTALL_DIR / "node_modules" / "better-sqlite3" / "build" / "Release" / "better_sqlite3.node"
    return manifest.exists() and manifest.read_text() == wanted and native.exists()


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"the real-PDS tests need {name} (Node.js), or set CROSSPOST_REAL_PDS=0", pytrace=False)
    return path


def _npm(*args: str) -> None:
    done = subprocess.run(
        [_tool("npm"), *args, "--no-audit", "--no-fund"],
        cwd=INSTALL_DIR,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"npm {' '.join(args)} failed in {INSTALL_DIR}:\n{done.stderr[-3000:]}", pytrace=False)


def ensure_installed() -> Path:
    """``.cache/pds`` with the packages of ``package.json`` and a compiled better-sqlite3.
    A file lock keeps two pytest-xdist workers from installing into it at once."""
    if os.environ.get("CROSSPOST_REAL_PDS") == "0":
        pytest.skip("CROSSPOST_REAL_PDS=0: the real-PDS tests are switched off")
    for tool in ("node", "npm"):
        _tool(tool)
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    with (INSTALL_DIR.parent / "pds.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            _install()
    return INSTALL_DIR


def _install() -> None:
    shutil.copy(HERE / "package.json", INSTALL_DIR / "package.json")
    started = time.monotonic()
    _npm("install")
    _npm("rebuild", "better-sqlite3")  # the compiled module is what _installed() looks for last
    if not _installed():
        pytest.fail("npm finished but better-sqlite3 was not built", pytrace=False)
    print(f"installed the real PDS into {INSTALL_DIR} in {time.monotonic() - started:.0f} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass(frozen=True)
class RealPds:
    url: str  # the PDS, e.g. http://127.0.0.1:PORT: the Bluesky "service"
    plc_url: str

    def xrpc(self, method: str, nsid: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.request(method, f"{self.url}/xrpc/{nsid}", headers=headers, timeout=15, **kwargs)


@dataclass(frozen=True)
class RealAccount:
    did: str
    handle: str
    app_password: str
    access_token: str  # of the account password session (for raw XRPC in the tests)


def _read_ready_line(process: subprocess.Popen[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("{"):
                found.update(json.loads(line))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_SECONDS)
    if not found.get("ready"):
        process.kill()
        _, err = process.communicate(timeout=10)
        pytest.fail(f"the PDS did not start within {START_TIMEOUT_SECONDS:.0f} s:\n{(err or '')[-3000:]}")
    return found


@pytest.fixture(scope="session")
def real_pds() -> Iterator[RealPds]:
    install = ensure_installed()
    started = time.monotonic()
    process = subprocess.Popen(
        [_tool("node"), str(SERVER_SCRIPT), str(install), str(free_port()), str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = _read_ready_line(process)
        print(f"real PDS up in {time.monotonic() - started:.1f} s at {ready['pds']}")
        yield RealPds(url=ready["pds"], plc_url=ready["plc"])
    finally:
        process.terminate()  # the script stops both servers and deletes its data directory
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def real_account(real_pds: RealPds) -> RealAccount:
    """An account on the real PDS and an app password for it, made the way a user would."""
    created = real_pds.xrpc(
        "POST",
        "com.atproto.server.createAccount",
        json={"handle": HANDLE, "email": "alice@realpds.test", "password": ACCOUNT_PASSWORD},
    )
    assert created.status_code == 200, created.text
    token = created.json()["accessJwt"]
    app = real_pds.xrpc("POST", "com.atproto.server.createAppPassword", token, json={"name": "crosspost"})
    assert app.status_code == 200, app.text
    return RealAccount(
        did=created.json()["did"], handle=HANDLE, app_password=app.json()["password"], access_token=token
    )
